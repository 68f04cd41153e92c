import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  CameraIndex,
  cameraStream,
  cameraStreams,
  camerasAt,
  camerasFor,
} from '../../processors/registry/camera.js';
import { devicesToCsv, parseDeviceCsv } from '../../processors/registry/csv.js';
import {
  DEVICE_LOG_REDACT,
  type DeviceInput,
  type DeviceRecord,
  REDACTED,
  redactDevice,
  validateDevice,
  withoutSecrets,
} from '../../processors/registry/device-schema.js';
import { assignmentsToPatch } from '../../processors/registry/patch.js';
import { keepUnexported } from '../../processors/registry/records.js';
import { validateRows } from '../../processors/registry/validate.js';
import { parseDeviceYaml } from '../../processors/registry/yaml.js';
import { dustMonitor, gauge, knownModels } from './fixtures.js';

const PW = 'Cam-s3cret!';
const LOC = { district: '鼓楼区', street: '相国寺街道', community: '书店街社区', grid: '第3网格' };

function camera(id: string, extra: Partial<DeviceInput> = {}): DeviceInput {
  return {
    id,
    model: 'rtsp-camera',
    location: LOC,
    state: 'active',
    rtsp: { url: 'rtsp://192.0.2.10:554/Streaming/Channels/101', username: 'admin', password: PW },
    ...extra,
  };
}

function valid(input: unknown): DeviceRecord {
  const r = validateDevice(input, knownModels);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.device;
}

function issues(input: unknown): string[] {
  const r = validateDevice(input, knownModels);
  if (r.ok) throw new Error('expected validation to fail');
  return r.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('a camera in the registry', () => {
  it('validates: family from the model, transport tcp by default, covers kept', () => {
    const d = valid(camera('cam-1', { covers: ['wl-001', 'dust-007'] }));
    expect(d.family).toBe('camera');
    expect(d.rtsp).toEqual({
      url: 'rtsp://192.0.2.10:554/Streaming/Channels/101',
      username: 'admin',
      password: PW,
      transport: 'tcp',
    });
    expect(d.covers).toEqual(['wl-001', 'dust-007']);
    expect(
      valid(camera('cam-2', { rtsp: { url: 'rtsps://cam.example/live', transport: 'udp' } })).rtsp,
    ).toEqual({
      url: 'rtsps://cam.example/live',
      transport: 'udp',
    });
  });

  it('moves credentials out of the URLs, percent-decoded', () => {
    const d = valid(
      camera('cam-1', {
        rtsp: {
          url: 'rtsp://admin:p%40ss%3Aword@192.0.2.10:554/Streaming/Channels/101',
          subUrl: 'rtsp://admin@192.0.2.10:554/Streaming/Channels/102?transportmode=unicast',
        },
      }),
    );
    expect(d.rtsp).toEqual({
      url: 'rtsp://192.0.2.10:554/Streaming/Channels/101',
      subUrl: 'rtsp://192.0.2.10:554/Streaming/Channels/102?transportmode=unicast',
      username: 'admin',
      password: 'p@ss:word',
      transport: 'tcp',
    });
    // The same login written twice is fine.
    expect(
      valid(
        camera('cam-1', {
          rtsp: { url: `rtsp://admin:${PW}@192.0.2.10/a`, username: 'admin', password: PW },
        }),
      ).rtsp?.url,
    ).toBe('rtsp://192.0.2.10/a');
  });

  it('refuses a URL login that differs from username/password, without echoing either', () => {
    const msgs = issues(
      camera('cam-1', {
        rtsp: { url: 'rtsp://admin:other-pass@192.0.2.10/a', username: 'admin', password: PW },
      }),
    );
    expect(msgs).toEqual([expect.stringMatching(/^rtsp\.url: the password inside this URL differs/)]);
    expect(msgs.join()).not.toContain('other-pass');
    expect(msgs.join()).not.toContain(PW);
    expect(issues(camera('cam-1', { rtsp: { url: 'rtsp://a:x@h/1', subUrl: 'rtsp://b:x@h/2' } }))).toEqual([
      expect.stringMatching(/^rtsp\.subUrl: the user name inside this URL differs/),
    ]);
  });

  it('reports every camera problem at once, each on its field', () => {
    const msgs = issues({
      id: 'cam-1',
      model: 'rtsp-camera',
      location: { ...LOC, grid: '' },
      rtsp: { url: 'http://192.0.2.10/stream', subUrl: 'rtsp://', transport: 'quic', password: REDACTED },
      covers: ['ok-1', 'bad id', 'cam-1'],
    });
    expect(msgs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^location\.grid: /),
        expect.stringMatching(/^rtsp\.transport: tcp \(default\) or udp/),
        expect.stringMatching(/^rtsp\.password: this is the redaction marker/),
        expect.stringMatching(/^covers\.1: covered devices are device ids/),
        expect.stringMatching(/^covers\.2: .*list only other devices/),
      ]),
    );
    // URL checks run after the block's own fields pass, and each URL is judged on its own.
    expect(issues(camera('cam-1', { rtsp: { url: 'http://192.0.2.10/stream', subUrl: 'rtsp://' } }))).toEqual(
      [
        'rtsp.url: must be an rtsp:// or rtsps:// URL (rtsp://host[:port]/path)',
        expect.stringMatching(/^rtsp\.subUrl: /),
      ],
    );
    expect(issues(camera('cam-1', { rtsp: { url: 'rtsp://h/a b' } }))).toEqual([
      'rtsp.url: must not contain spaces or control characters',
    ]);
    expect(issues(camera('cam-1', { rtsp: { url: `rtsp://admin:${REDACTED}@h/a` } }))).toEqual([
      expect.stringMatching(/^rtsp\.url: the URL carries the redaction marker/),
    ]);
  });

  it('needs rtsp.url for a camera; refuses rtsp and covers on other families', () => {
    const { rtsp: _none, ...bare } = camera('cam-1') as DeviceInput & { rtsp?: unknown };
    expect(issues(bare)).toEqual([expect.stringMatching(/^rtsp\.url: a camera needs rtsp\.url/)]);
    expect(issues(camera('cam-1', { rtsp: { username: 'admin' } as never }))).toEqual([
      expect.stringMatching(/^rtsp\.url: required/),
    ]);
    expect(issues(gauge('wl-1', { rtsp: { url: 'rtsp://h/a' }, covers: ['x'] }))).toEqual([
      "rtsp: only cameras (family camera) have rtsp; model 'hydrotek-wl300' is family 'flood'",
      expect.stringMatching(
        /^covers: only cameras .*bind a camera to this device with cameras: \[camera-id\]/,
      ),
    ]);
    // A device that lists cameras is fine, whatever its family.
    expect(valid(gauge('wl-1', { cameras: ['cam-1'] })).cameras).toEqual(['cam-1']);
  });
});

describe('camera secrets', () => {
  const cam = valid(camera('cam-1'));
  const station = valid(dustMonitor('dm-1'));

  it('redacts every secret for the API and audit, and leaves them out of exports', () => {
    for (const d of [cam, station]) {
      const shown = JSON.stringify(redactDevice(d));
      expect(shown).not.toContain(PW);
      expect(shown).not.toContain('pw-123456');
      expect(shown).toContain(REDACTED);
      const exported = JSON.stringify(withoutSecrets(d));
      expect(exported).not.toContain(PW);
      expect(exported).not.toContain('pw-123456');
      expect(exported).not.toContain(REDACTED);
    }
    expect(redactDevice(cam).rtsp).toMatchObject({ username: 'admin', password: REDACTED });
    expect(withoutSecrets(cam).rtsp).toEqual({ url: cam.rtsp!.url, username: 'admin', transport: 'tcp' });
    // Nothing to hide: the same object back.
    const plain = valid(gauge('wl-1'));
    expect(redactDevice(plain)).toBe(plain);
    expect(cam.rtsp?.password).toBe(PW);
  });

  it('DEVICE_LOG_REDACT keeps the passwords out of a pino line', () => {
    const lines: string[] = [];
    const out = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = pino({ redact: { paths: [...DEVICE_LOG_REDACT], censor: REDACTED } }, out);
    log.info({ device: cam }, 'camera added');
    log.info({ before: station, after: cam }, 'device changed');
    log.info(cam, 'bare device');
    expect(lines).toHaveLength(3);
    for (const l of lines) {
      expect(l).not.toContain(PW);
      expect(l).not.toContain('pw-123456');
      expect(l).toContain(REDACTED);
    }
  });

  it('an import row without the password keeps it for the same camera login, not for another', () => {
    const row = withoutSecrets(cam);
    const next = valid(row);
    expect(keepUnexported(next, row, cam).rtsp?.password).toBe(PW);
    const moved = valid({ ...row, rtsp: { ...row.rtsp, url: 'rtsp://192.0.2.99/Streaming/Channels/101' } });
    expect(keepUnexported(moved, row, cam).rtsp?.password).toBeUndefined();
    const otherUser = valid({ ...row, rtsp: { ...row.rtsp, username: 'viewer' } });
    expect(keepUnexported(otherUser, row, cam).rtsp?.password).toBeUndefined();
    const stationRow = withoutSecrets(station);
    expect(keepUnexported(valid(stationRow), stationRow, station).hj212?.password).toBe('pw-123456');
  });
});

describe('importing cameras', () => {
  it('reads CSV columns rtsp.* and covers; exports them back without the password', () => {
    const csv =
      'id,model,district,street,community,grid,state,rtsp.url,rtsp.subUrl,rtsp.username,rtsp.password,rtsp.transport,covers\n' +
      `cam-1,rtsp-camera,鼓楼区,s,c,g,active,rtsp://admin:${PW}@192.0.2.10/101,rtsp://192.0.2.10/102,,,udp,wl-1;dm-1\n` +
      `cam-2,rtsp-camera,鼓楼区,s,c,g,active,rtsp://192.0.2.11/101,,admin,${PW},,\n`;
    const { rows, errors } = parseDeviceCsv(csv);
    expect(errors).toEqual([]);
    const { devices, problems } = validateRows(rows, knownModels);
    expect(problems).toEqual([]);
    expect(devices.map((d) => [d.id, d.rtsp, d.covers])).toEqual([
      [
        'cam-1',
        {
          url: 'rtsp://192.0.2.10/101',
          subUrl: 'rtsp://192.0.2.10/102',
          username: 'admin',
          password: PW,
          transport: 'udp',
        },
        ['wl-1', 'dm-1'],
      ],
      [
        'cam-2',
        { url: 'rtsp://192.0.2.11/101', username: 'admin', password: PW, transport: 'tcp' },
        undefined,
      ],
    ]);
    const out = devicesToCsv([...devices, valid(gauge('wl-1'))]);
    expect(out).not.toContain(PW);
    expect(out.split('\n')[0]).not.toContain('password');
    const back = validateRows(parseDeviceCsv(out).rows, knownModels);
    expect(back.problems).toEqual([]);
    expect(back.devices.map((d) => [d.id, d.rtsp, d.covers])).toEqual(
      devices.map((d) => [d.id, withoutSecrets(d).rtsp, d.covers]).concat([['wl-1', undefined, undefined]]),
    );
  });

  it('reports a bad camera CSV row on its line, and never echoes a cell in a syntax error', () => {
    const bad = parseDeviceCsv(
      'id,model,district,street,community,grid,rtsp.url\ncam-1,rtsp-camera,d,s,c,g,http://h/x\n',
    );
    const v = validateRows(bad.rows, knownModels);
    expect(v.problems[0]?.problems).toEqual([
      { line: 2, message: expect.stringMatching(/^rtsp\.url: must be an rtsp:\/\//) },
    ]);
    const broken = parseDeviceCsv(`id,model,rtsp.password\ncam-1,rtsp-camera,ab"${PW}\n`);
    expect(broken.errors).toHaveLength(1);
    expect(broken.errors[0]?.line).toBe(2);
    expect(JSON.stringify(broken.errors)).not.toContain('ab');
    const unclosed = parseDeviceCsv(`id,model,rtsp.password\ncam-1,rtsp-camera,"x${PW}"y\n`);
    expect(JSON.stringify(unclosed.errors)).not.toContain(PW.slice(0, 3));
  });

  it('reads a YAML camera, pointing a bad field at its own line', () => {
    const text = [
      'devices:', // 1
      '  - id: cam-1', // 2
      '    model: rtsp-camera', // 3
      '    location: { district: d, street: s, community: c, grid: g }', // 4
      '    rtsp:', // 5
      `      url: rtsp://admin:${PW}@192.0.2.10/101`, // 6
      '    covers: [wl-1]', // 7
      '  - id: cam-2', // 8
      '    model: rtsp-camera', // 9
      '    location: { district: d, street: s, community: c, grid: g }', // 10
      '    rtsp:', // 11
      '      url: file:///etc/passwd', // 12
      '      transport: tcp', // 13
    ].join('\n');
    const { rows, errors } = parseDeviceYaml(text);
    expect(errors).toEqual([]);
    const { devices, problems } = validateRows(rows, knownModels);
    expect(problems).toEqual([
      {
        line: 8,
        id: 'cam-2',
        problems: [{ line: 12, message: expect.stringMatching(/^rtsp\.url: must be an rtsp/) }],
      },
    ]);
    expect(devices.map((d) => d.id)).toEqual(['cam-1']);
    const ok = validateRows(parseDeviceYaml(text.split('\n').slice(0, 7).join('\n')).rows, knownModels);
    expect(ok.devices[0]?.rtsp).toEqual({
      url: 'rtsp://192.0.2.10/101',
      username: 'admin',
      password: PW,
      transport: 'tcp',
    });
  });

  it('`devices set` patches: rtsp.* stay text, covers is a list', () => {
    expect(assignmentsToPatch(['rtsp.password=007', 'rtsp.transport=udp', 'covers=wl-1, dm-1'])).toEqual({
      rtsp: { password: '007', transport: 'udp' },
      covers: ['wl-1', 'dm-1'],
    });
  });
});

describe('camera helpers', () => {
  const devices = [
    valid(camera('cam-1', { covers: ['wl-1'] })),
    valid(camera('cam-2', { covers: ['wl-1', 'dm-1'], location: { ...LOC, grid: '第4网格' } })),
    valid(camera('cam-old', { state: 'retired', covers: ['wl-1'] })),
    valid(gauge('wl-1', { cameras: ['cam-9', 'cam-2', 'cam-old', 'dm-1'] })),
    valid(dustMonitor('dm-1')),
  ];
  const [cam1, cam2, old, wl, dm] = devices as [
    DeviceRecord,
    DeviceRecord,
    DeviceRecord,
    DeviceRecord,
    DeviceRecord,
  ];

  it('cameraStream: what the supervisor needs, only for live cameras', () => {
    expect(cameraStream(cam1)).toEqual({
      id: 'cam-1',
      url: 'rtsp://192.0.2.10:554/Streaming/Channels/101',
      username: 'admin',
      password: PW,
      transport: 'tcp',
    });
    expect(cameraStream(old)).toBeUndefined();
    expect(cameraStream(wl)).toBeUndefined();
    expect(cameraStreams(devices).map((s) => s.id)).toEqual(['cam-1', 'cam-2']);
  });

  it('camerasFor: the camera itself, the binding, then the covering cameras; no repeats', () => {
    // cam-9 is not registered: kept, so the evidence says so. cam-old is retired, dm-1 no camera.
    expect(camerasFor(wl, devices)).toEqual(['cam-9', 'cam-2', 'cam-1']);
    expect(camerasFor(dm, devices)).toEqual(['cam-2']);
    expect(camerasFor(cam2, devices)).toEqual(['cam-2']);
    expect(camerasFor(old, devices)).toEqual([]);
    const index = new CameraIndex(devices);
    for (const d of devices) expect(index.camerasFor(d), d.id).toEqual(camerasFor(d, devices));
    expect(index.coveringDevice('wl-1')).toEqual(['cam-1', 'cam-2']);
    expect(index.device('wl-1')).toBe(wl);
  });

  it('camerasAt: the cameras of a grid, or of a wider area when deeper levels are blank', () => {
    expect(camerasAt(LOC, devices)).toEqual(['cam-1']);
    expect(camerasAt({ ...LOC, grid: '' }, devices)).toEqual(['cam-1', 'cam-2']);
    expect(camerasAt({ ...LOC, community: '别处' }, devices)).toEqual([]);
    expect(new CameraIndex(devices).coveringLocation({ ...LOC, grid: '第4网格' })).toEqual(['cam-2']);
  });
});
