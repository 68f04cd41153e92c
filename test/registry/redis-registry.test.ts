import { describe, expect, it } from 'vitest';
import type { RedisRegistry } from '../../adapters/registry/redis-registry.js';
import { GridgateError } from '../../processors/errors.js';
import { parseDeviceCsv } from '../../processors/registry/csv.js';
import { REDACTED } from '../../processors/registry/device-schema.js';
import { RowsRejected } from '../../processors/registry/validate.js';
import { readContract } from './contract.js';
import { dustMonitor, gauge } from './fixtures.js';
import { redisRegistries } from './redis-support.js';

const registries = redisRegistries();
const { newPrefix } = registries;
const open = (prefix: string) => registries.open(prefix);

/** Resolves once `reg` has applied a change for which `pred` holds. */
function until(reg: RedisRegistry, pred: () => boolean): Promise<void> {
  if (pred()) return Promise.resolve();
  return new Promise((resolve) => {
    const off = reg.onChange(() => {
      if (pred()) {
        off();
        resolve();
      }
    });
  });
}

readContract('RedisRegistry', async (devices) => {
  const prefix = newPrefix();
  const writer = await open(prefix);
  await writer.importRows(
    devices.map((input, i) => ({ line: i + 1, input })),
    'test',
  );
  // The contract runs against a second instance that only loaded from Redis.
  const reader = await open(prefix);
  return { reader, close: async () => {} };
});

describe('RedisRegistry writes', () => {
  it('adds, updates and retires, stamping who and when', async () => {
    const reg = await open(newPrefix());
    const added = await reg.add(gauge('fg-9'), 'alice');
    expect(added.createdBy).toBe('alice');
    expect(reg.get('fg-9')?.state).toBe('commissioning');

    const updated = await reg.update(
      'fg-9',
      { state: 'active', attrs: { warning_level_m: 0.4, danger_level_m: null } },
      'bob',
    );
    expect(updated.attrs).toEqual({ warning_level_m: 0.4 });
    expect(updated.createdBy).toBe('alice');
    expect(updated.updatedBy).toBe('bob');
    expect(reg.get('fg-9')?.state).toBe('active');

    const retired = await reg.retire('fg-9', 'carol');
    expect(retired.state).toBe('retired');
    expect(reg.list({ state: 'retired' }).map((d) => d.id)).toEqual(['fg-9']);
  });

  it('refuses a duplicate id, an unknown device, an invalid patch and a taken MN', async () => {
    const reg = await open(newPrefix());
    await reg.add(dustMonitor('dm-1'), 'alice');
    await expect(reg.add(gauge('dm-1'), 'alice')).rejects.toThrow(/already exists/);
    await expect(reg.update('nope', { state: 'active' }, 'a')).rejects.toMatchObject({
      code: 'GG_ERR_NOT_FOUND',
    });
    await expect(reg.update('dm-1', { lat: 200, lon: 1 }, 'a')).rejects.toMatchObject({
      code: 'GG_ERR_DEVICES_INVALID',
    });
    await expect(reg.add(dustMonitor('dm-2', { hj212: { mn: 'MNdm1' } }), 'a')).rejects.toThrow(
      /MN 'MNdm1' already belongs to device 'dm-1'/,
    );
    expect(reg.get('dm-2')).toBeUndefined();
  });

  it('derives the family again when the model changes', async () => {
    const reg = await open(newPrefix());
    await reg.add(gauge('x-1', { attrs: {} }), 'a');
    const d = await reg.update('x-1', { model: 'airbox-aq5' }, 'a');
    expect(d.family).toBe('air');
  });

  it('keeps two instances sharing one Redis in sync', async () => {
    const prefix = newPrefix();
    const a = await open(prefix);
    const b = await open(prefix);
    await a.add(gauge('shared-1'), 'alice');
    await until(b, () => b.get('shared-1') !== undefined);
    expect(b.get('shared-1')?.createdBy).toBe('alice');

    await b.update('shared-1', { attrs: { warning_level_m: 1.1 } }, 'bob');
    await until(a, () => a.get('shared-1')?.attrs.warning_level_m === 1.1);
    expect(a.version).toBe(b.version);

    // A third instance started later loads everything.
    const c = await open(prefix);
    expect(c.get('shared-1')?.updatedBy).toBe('bob');
  });

  it('loses no change when two instances update one device at the same time', async () => {
    const prefix = newPrefix();
    const a = await open(prefix);
    const b = await open(prefix);
    await a.add(gauge('race-1', { attrs: {} }), 'alice');
    await until(b, () => b.get('race-1') !== undefined);
    const writes = [];
    for (let i = 0; i < 3; i++) {
      writes.push(a.update('race-1', { attrs: { [`a${i}`]: i } }, 'alice'));
      writes.push(b.update('race-1', { attrs: { [`b${i}`]: i } }, 'bob'));
    }
    await Promise.all(writes);
    const stored = JSON.parse((await registries.redis().hget(`${prefix}devices`, 'race-1'))!) as {
      attrs: object;
    };
    expect(Object.keys(stored.attrs).sort()).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2']);
    await until(a, () => Object.keys(a.get('race-1')!.attrs).length === 6);
    expect((await a.audit({ id: 'race-1' })).filter((e) => e.action === 'update')).toHaveLength(6);
  });

  it('reloads everything when it sees a version gap (a lost pub/sub message)', async () => {
    const prefix = newPrefix();
    const a = await open(prefix);
    await a.add(gauge('g-1'), 'alice');
    // A change whose message never arrived: written behind the registry's back, version skipped.
    const lost = { ...a.get('g-1')!, id: 'g-lost' };
    await registries.redis().hset(`${prefix}devices`, 'g-lost', JSON.stringify(lost));
    const v = await registries.redis().incrby(`${prefix}devices:version`, 2);
    await registries.redis().publish(`${prefix}devices:changes`, `${v} []`);
    await until(a, () => a.get('g-lost') !== undefined);
    expect(a.version).toBe(v);
    expect(a.size).toBe(2);
  });

  it('writes every change to the audit log with before/after and secrets redacted', async () => {
    const reg = await open(newPrefix());
    await reg.add(dustMonitor('dm-7'), 'alice');
    await reg.update('dm-7', { state: 'maintenance' }, 'bob');
    const log = await reg.audit({ id: 'dm-7' });
    expect(log.map((e) => [e.action, e.by])).toEqual([
      ['update', 'bob'],
      ['add', 'alice'],
    ]);
    expect(log[1]?.before).toBeNull();
    expect(log[0]?.before?.state).toBe('active');
    expect(log[0]?.after?.state).toBe('maintenance');
    expect(log[0]?.after?.hj212?.password).toBe(REDACTED);
    const raw = JSON.stringify(
      await registries.redis().xrange(`${registries.lastPrefix()}devices:audit`, '-', '+'),
    );
    expect(raw).not.toContain('pw-123456');
    // The registry itself keeps the password: HJ 212 frames must be compared against it.
    expect(reg.get('dm-7')?.hj212?.password).toBe('pw-123456');
  });
});

describe('RedisRegistry bulk import', () => {
  const N = 10_000;
  const header = 'id,model,district,street,community,grid,lat,lon,state,attrs.warning_level_m,labels.batch';
  function csv(bad: Set<number>): string {
    const lines = [header];
    for (let i = 0; i < N; i++) {
      const id = `kf-fg-${String(i).padStart(5, '0')}`;
      const model = bad.has(i) && i % 2 === 0 ? 'acme-unknown' : 'hydrotek-wl300';
      const lat = bad.has(i) && i % 2 === 1 ? 'north' : '34.79';
      lines.push(`${id},${model},鼓楼区,相国寺街道,书店街社区,第${i % 40}网格,${lat},114.35,active,2.5,007`);
    }
    return lines.join('\n');
  }

  it('reports each bad row of 10,000 with its line and imports nothing; imports all once fixed', async () => {
    const prefix = newPrefix();
    const reg = await open(prefix);
    const bad = new Set([17, 4242, 9999]);
    const parsed = parseDeviceCsv(csv(bad));
    expect(parsed.errors).toEqual([]);
    expect(parsed.rows).toHaveLength(N);

    const err = await reg.importRows(parsed.rows, 'installer', 'devices.csv').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RowsRejected);
    const rejected = err as RowsRejected;
    // Row i is on line i + 2 (line 1 is the header).
    expect(rejected.problems.map((p) => [p.line, p.id])).toEqual([
      [19, 'kf-fg-00017'],
      [4244, 'kf-fg-04242'],
      [10001, 'kf-fg-09999'],
    ]);
    expect(rejected.details[0]).toMatch(/^devices\.csv:19 device 'kf-fg-00017': lat: /);
    expect(rejected.details[1]).toMatch(
      /devices\.csv:4244 device 'kf-fg-04242': model: unknown model 'acme-unknown'/,
    );
    expect(reg.size).toBe(0);
    expect(await registries.redis().hlen(`${prefix}devices`)).toBe(0);

    const fixed = parseDeviceCsv(csv(new Set()));
    const res = await reg.importRows(fixed.rows, 'installer', 'devices.csv');
    expect(res).toEqual({ created: N, updated: 0, unchanged: 0 });
    expect(reg.size).toBe(N);
    expect(await registries.redis().hlen(`${prefix}devices`)).toBe(N);
    expect(reg.get('kf-fg-00017')?.labels.batch).toBe('007');
    expect(reg.get('kf-fg-00017')?.attrs.warning_level_m).toBe(2.5);

    // Importing the same file again changes nothing.
    expect(await reg.importRows(fixed.rows, 'installer')).toEqual({ created: 0, updated: 0, unchanged: N });
    // Another instance loads all of them (paged HSCAN), equal to what was imported.
    const other = await open(prefix);
    expect(other.size).toBe(N);
    expect(other.get('kf-fg-09999')).toEqual(reg.get('kf-fg-09999'));
  });

  it('refuses, before writing anything, rows whose HJ 212 MN belongs to another device', async () => {
    const reg = await open(newPrefix());
    await reg.add(dustMonitor('dm-owner', { hj212: { mn: 'MNSHARED' } }), 'a');
    const rows = [
      { line: 1, input: dustMonitor('dm-new-1') },
      { line: 2, input: dustMonitor('dm-new-2', { hj212: { mn: 'MNSHARED' } }) },
    ];
    const err = await reg.importRows(rows, 'installer', 'batch.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RowsRejected);
    expect((err as RowsRejected).details[0]).toMatch(
      /batch\.json:2 device 'dm-new-2': hj212\.mn: MN 'MNSHARED' already belongs to device 'dm-owner'/,
    );
    expect(reg.get('dm-new-1')).toBeUndefined();
    expect(reg.get('dm-owner')?.hj212?.mn).toBe('MNSHARED');
  });

  it('keeps what a CSV row cannot carry (calibration, HJ 212 password) on re-import', async () => {
    const reg = await open(newPrefix());
    await reg.add(
      dustMonitor('dm-5', {
        calibration: { pm10_ugm3: [{ scale: 1.1, offset: 0, from: '2026-01-01T00:00:00Z' }] },
      }),
      'a',
    );
    const { rows } = parseDeviceCsv(
      'id,model,district,street,community,grid,hj212.mn,state\ndm-5,sinodust-yc200,祥符区,城关镇,城关社区,第2网格,MNdm5,active\n',
    );
    expect(await reg.importRows(rows, 'b')).toEqual({ created: 0, updated: 1, unchanged: 0 });
    const d = reg.get('dm-5')!;
    expect(d.location.grid).toBe('第2网格');
    expect(d.calibration.pm10_ugm3?.[0]?.scale).toBe(1.1);
    expect(d.hj212?.password).toBe('pw-123456');
  });

  it('is a GridgateError the HTTP layer can map', async () => {
    const reg = await open(newPrefix());
    const err = await reg.importRows([{ line: 3, input: { id: 'x' } }], 'a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GridgateError);
  });
});
