import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../gateway/app.js';
import { LOCATION, mosquittoPub, randomSuffix, startGateway } from '../support/gateway.js';
import { waitForSeries } from '../support/vm.js';

const exec = promisify(execFile);
const vmUrl = inject('vmUrl');
const run = randomSuffix();
const tokens = { installer: `gg_${randomUUID()}`, reader: `gg_${randomUUID()}` };
const sha = (t: string) => createHash('sha256').update(t).digest('hex');

/** Issue 4 end to end: a token-protected API registers a device, which then logs in over MQTT with its own secret. */
describe('secured gateway: API tokens with roles, per-device MQTT credentials', () => {
  let gw: Gateway;
  let api: string;
  let secret = '';
  const id = `sec-wl-${run}`;

  beforeAll(async () => {
    ({ gw, httpUrl: api } = await startGateway([], {
      GRIDGATE_TSDB__URL: vmUrl,
      GRIDGATE_AUTH__REQUIRED: 'true',
      GRIDGATE_MQTT__AUTH__REQUIRED: 'true',
      GRIDGATE_AUTH__TOKENS: JSON.stringify([
        { name: 'site-installer', role: 'installer', sha256: sha(tokens.installer) },
        { name: 'dashboard', role: 'reader', sha256: sha(tokens.reader) },
      ]),
    }));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const call = (path: string, token?: string, body?: unknown) =>
    fetch(`${api}/api/v1${path}`, {
      method: body ? 'POST' : 'GET',
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });

  it('registers a device with the installer token only; the secret is shown once', async () => {
    const device = {
      id,
      model: 'hydrotek-wl300',
      location: LOCATION,
      state: 'active',
      attrs: { warning_level_m: 2.5 },
    };
    expect((await call('/devices', undefined, device)).status).toBe(401);
    expect((await call('/devices', 'not-a-token', device)).status).toBe(401);
    expect((await call('/devices', tokens.reader, device)).status).toBe(403);
    const res = await call('/devices', tokens.installer, device);
    expect(res.status).toBe(201);
    secret = ((await res.json()) as { secret: string }).secret;
    expect(secret.length).toBeGreaterThanOrEqual(24);
    const shown = await (await call(`/devices/${id}`, tokens.reader)).text();
    expect(shown).not.toContain(secret);
    expect((await call('/stats', tokens.reader)).status).toBe(200);
  });

  it('accepts the device with its secret over mosquitto_pub, and refuses a wrong one with CONNACK 4', async () => {
    const port = gw.ports.mqtt!;
    const ts = Math.floor(Date.now() / 1000);
    await exec('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-i',
      id,
      '-u',
      id,
      '-P',
      secret,
      '-q',
      '1',
      '-t',
      `devices/${id}/telemetry`,
      '-m',
      JSON.stringify({ ts, wl: 2100 }),
    ]);
    const [s] = await waitForSeries(vmUrl, `flood_water_level_m{device="${id}"}`);
    expect(s!.values).toEqual([2.1]);

    const wrong = await exec('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-i',
      id,
      '-u',
      id,
      '-P',
      'wrong-secret',
      '-t',
      `devices/${id}/telemetry`,
      '-m',
      '{}',
    ]).then(
      () => undefined,
      (e: { stderr: string }) => e.stderr,
    );
    expect(wrong).toMatch(/bad user name or password/i);
    // anonymous publishing is refused too
    await expect(mosquittoPub(port, `devices/${id}/telemetry`, '{"wl":1}')).rejects.toThrow();
    const metrics = await (await fetch(`${api}/metrics`)).text();
    expect(metrics).toMatch(/gridgate_mqtt_auth_refused_total\{reason="[a-z_]+"\} [1-9]/);
    // The embedded broker's fair-read counter is exported (it only rises under saturation).
    expect(metrics).toMatch(/^gridgate_mqtt_reads_deferred_total \d+$/m);
  });
});
