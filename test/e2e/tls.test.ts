import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../gateway/app.js';
import { randomSuffix, startGateway } from '../support/gateway.js';
import { waitForSeries } from '../support/vm.js';

const exec = promisify(execFile);
const vmUrl = inject('vmUrl');
const id = `tls-wl-${randomSuffix()}`;

/** Optional TLS on both listeners: the HTTP API (https) and the embedded MQTT broker (mqtts). */
describe('TLS on the HTTP API and the MQTT listener', () => {
  let gw: Gateway;
  let dir: string;
  let cert: Buffer;

  beforeAll(async () => {
    ({ gw, dir } = await startGateway([{ id, model: 'hydrotek-wl300' }], { GRIDGATE_TSDB__URL: vmUrl }));
    await gw.stop();
    const key = join(dir, 'key.pem');
    const crt = join(dir, 'cert.pem');
    await exec('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      crt,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    cert = readFileSync(crt);
    ({ gw } = await startGateway([{ id, model: 'hydrotek-wl300' }], {
      GRIDGATE_TSDB__URL: vmUrl,
      GRIDGATE_HTTP__TLS__CERT: crt,
      GRIDGATE_HTTP__TLS__KEY: key,
      GRIDGATE_MQTT__EMBEDDED__TLS__CERT: crt,
      GRIDGATE_MQTT__EMBEDDED__TLS__KEY: key,
    }));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('serves /healthz over https with the configured certificate', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      get({ host: '127.0.0.1', port: gw.ports.http, path: '/healthz', ca: cert }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(status).toBe(200);
  });

  it('takes readings over mqtts from mosquitto_pub verifying the certificate', async () => {
    const ts = Math.floor(Date.now() / 1000);
    await exec('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(gw.ports.mqtt),
      '--cafile',
      join(dir, 'cert.pem'),
      '-i',
      id,
      '-q',
      '1',
      '-t',
      `devices/${id}/telemetry`,
      '-m',
      JSON.stringify({ ts, wl: 1500 }),
    ]);
    const [s] = await waitForSeries(vmUrl, `flood_water_level_m{device="${id}"}`);
    expect(s!.values).toEqual([1.5]);
  });
});
