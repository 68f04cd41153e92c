import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureSink } from '../../gateway/capture.js';
import { ensurePrivateDir, writePrivateFile } from '../../gateway/private-files.js';
import { CaptureFormatter, CaptureParser } from '../../processors/rules/capture-format.js';
import type { Device, Reading } from '../../processors/types.js';

const mode = (p: string) => statSync(p).mode & 0o777;
const dir = () => mkdtempSync(join(tmpdir(), 'gg-capture-'));

const station = {
  id: 'dm-cap-1',
  model: 'sinodust-yc200-hj212',
  family: 'dust',
  location: { district: 'd', street: 's', community: 'c', grid: 'g' },
  state: 'active',
  attrs: {},
  labels: {},
  cameras: [],
  hj212: { mn: 'MN0451', password: 'St4tion-PW' },
} as unknown as Device;
const camera = {
  ...station,
  id: 'cam-cap-1',
  model: 'generic-rtsp',
  family: 'camera',
  hj212: undefined,
  rtsp: { url: 'rtsp://10.0.0.5/main', username: 'viewer', password: 'Cam-Pa55', transport: 'tcp' },
} as unknown as Device;
const reading = (device: string, time: number): Reading => ({
  device,
  measurement: 'dust',
  time,
  fields: { pm10_ugm3: 88 },
  tags: { device },
});

async function capture(path: string, devices: Device[]) {
  const format = new CaptureFormatter();
  // as the gateway wires it (gateway/app.ts)
  const sink = new CaptureSink(path, (r, d) => format.line(r, d).trimEnd());
  for (let t = 0; t < 3; t++) for (const d of devices) sink.write(reading(d.id, t), d);
  await sink.stop();
  return readFileSync(path, 'utf8');
}

describe('the capture file', () => {
  it('is created 0600 whatever the umask, and an existing 0644 capture is made 0600', async () => {
    const d = dir();
    const fresh = join(d, 'new.ndjson');
    await capture(fresh, [station]);
    expect(mode(fresh)).toBe(0o600);
    const old = join(d, 'old.ndjson');
    writeFileSync(old, '');
    chmodSync(old, 0o644);
    await capture(old, [station]);
    expect(mode(old)).toBe(0o600);
  });

  it('holds no HJ 212 password or RTSP login, and still replays (device record once per device)', async () => {
    const text = await capture(join(dir(), 'c.ndjson'), [station, camera]);
    expect(text).not.toContain('St4tion-PW');
    expect(text).not.toContain('Cam-Pa55');
    expect(text).not.toContain('viewer');
    expect(text).not.toMatch(/password/i);
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(6);
    // the formatter still sees one object per device, so the record rides only on the first line
    expect(lines.filter((l) => l.includes('"device":{'))).toHaveLength(2);
    const parser = new CaptureParser();
    const parsed = lines.map((l) => parser.parse(l));
    expect(parsed.every((p) => p !== undefined)).toBe(true);
    expect((parsed[0]?.device as unknown as { hj212?: unknown } | undefined)?.hj212).toEqual({
      mn: 'MN0451',
    });
    expect(parsed[1]?.device.rtsp).toEqual({ url: 'rtsp://10.0.0.5/main', transport: 'tcp' });
    // the registry's own object is untouched
    expect((station as unknown as { hj212: { password: string } }).hj212.password).toBe('St4tion-PW');
  });
});

describe('files and folders for operational data', () => {
  it('writePrivateFile writes 0600, also over an existing world-readable file', () => {
    const d = dir();
    const p = join(d, 'secrets.txt');
    writeFileSync(p, 'old');
    chmodSync(p, 0o644);
    writePrivateFile(p, 'dev-1 s3cret\n');
    expect(mode(p)).toBe(0o600);
    expect(readFileSync(p, 'utf8')).toBe('dev-1 s3cret\n');
  });

  it('ensurePrivateDir makes the folder (and parents) and leaves it 0700, also when it existed 0755', () => {
    const d = dir();
    const snapshots = join(d, 'data', 'snapshots');
    ensurePrivateDir(snapshots);
    expect(mode(snapshots)).toBe(0o700);
    const existing = join(d, 'existing');
    mkdirSync(existing, { mode: 0o755 });
    chmodSync(existing, 0o755);
    ensurePrivateDir(existing);
    expect(mode(existing)).toBe(0o700);
  });
});
