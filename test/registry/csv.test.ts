import { describe, expect, it } from 'vitest';
import { devicesToCsv, parseDeviceCsv } from '../../processors/registry/csv.js';
import { validateDevice } from '../../processors/registry/device-schema.js';
import { assignmentsToPatch, mergePatch } from '../../processors/registry/patch.js';
import { validateRows } from '../../processors/registry/validate.js';
import { dustMonitor, gauge, knownModels } from './fixtures.js';

describe('device CSV', () => {
  it('maps columns to a device: location, typed attrs, text labels, cameras, hj212', () => {
    const { rows, errors } = parseDeviceCsv(
      '\uFEFFid,model,district,street,community,grid,lat,lon,cameras,hj212.mn,attrs.warning_level_m,attrs.pumped,labels.batch\n' +
        'a-1,hydrotek-wl300,鼓楼区,相国寺街道,书店街社区,第3网格,34.79,114.35,cam-1;cam-2,MN01,2.5,true,007\n',
    );
    expect(errors).toEqual([]);
    expect(rows[0]?.line).toBe(2);
    expect(rows[0]?.input).toEqual({
      id: 'a-1',
      model: 'hydrotek-wl300',
      location: { district: '鼓楼区', street: '相国寺街道', community: '书店街社区', grid: '第3网格' },
      lat: 34.79,
      lon: 114.35,
      cameras: ['cam-1', 'cam-2'],
      hj212: { mn: 'MN01' },
      attrs: { warning_level_m: 2.5, pumped: true },
      labels: { batch: '007' },
    });
  });

  it('refuses unknown columns and ragged rows, naming the line', () => {
    expect(parseDeviceCsv('id,model,colour\na,b,c\n').errors[0]).toMatchObject({
      line: 1,
      message: /'colour'/,
    });
    expect(parseDeviceCsv('id,model\na,b\nc\n').errors[0]?.line).toBe(3);
  });

  it('round-trips export -> import, never exporting the HJ 212 password', () => {
    const devices = [gauge('g-1', { labels: { owner: '城管' } }), dustMonitor('d-1')].map((d) => {
      const r = validateDevice(d, knownModels);
      if (!r.ok) throw new Error(JSON.stringify(r.issues));
      return r.device;
    });
    const csv = devicesToCsv(devices);
    expect(csv).not.toContain('pw-123456');
    const back = validateRows(parseDeviceCsv(csv).rows, knownModels);
    expect(back.problems).toEqual([]);
    expect(back.devices.map((d) => [d.id, d.family, d.attrs, d.labels, d.hj212?.mn])).toEqual(
      devices.map((d) => [d.id, d.family, d.attrs, d.labels, d.hj212?.mn]),
    );
  });
});

describe('set key=value patches', () => {
  it('nests dotted keys, types attrs, keeps labels text and deletes on empty', () => {
    const patch = assignmentsToPatch([
      'attrs.warning_level_m=2.5',
      'attrs.note=low bank',
      'labels.batch=007',
      'location.district=龙亭区',
      'state=active',
      'cameras=c1,c2',
      'address=',
    ]);
    expect(patch).toEqual({
      attrs: { warning_level_m: 2.5, note: 'low bank' },
      labels: { batch: '007' },
      location: { district: '龙亭区' },
      state: 'active',
      cameras: ['c1', 'c2'],
      address: null,
    });
    expect(mergePatch({ address: 'x', attrs: { a: 1, warning_level_m: 1 } }, patch)).toMatchObject({
      attrs: { a: 1, warning_level_m: 2.5 },
    });
    expect(() => assignmentsToPatch(['novalue'])).toThrow(/key=value/);
  });
});
