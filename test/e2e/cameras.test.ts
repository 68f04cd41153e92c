import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import type { Gateway } from '../../gateway/app.js';
import { type AlertEvent, createAlertConsumer, validateAlertEvent } from '../../gateway/consumer.js';
import { createLogger } from '../../gateway/log.js';
import { FAULT_RULES, type RtspSim, startRtspSim } from '../../simulators/rtsp/server.js';
import { LOCATION, mosquittoPub, randomSuffix, startGateway } from '../support/gateway.js';

const run = randomSuffix();
const queue = `camera-alerts-${run}`;
const PASSWORD = `Cam-Pw-${run}-77`;
const door = `door-${run}`;

const FAULTS = FAULT_RULES;
const camId = (fault: string) => `cam-${fault}-${run}`;
const GOOD = `cam-ok-${run}`;

async function until<T>(what: string, fn: () => T | undefined | false, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The RTSP edge through the whole gateway: real simulated cameras (with RTSP auth), real ffmpeg,
 * the shipped camera rules, the BullMQ queue and the HTTP API. Every diagnosis raises its incident
 * and resolves when the fault ends; an alert of a covered device carries a real JPEG; no log line
 * holds the camera password.
 */
describe('cameras end to end through the gateway', () => {
  let sim: RtspSim;
  let gw: Gateway;
  let httpUrl: string;
  let mqttPort: number;
  const logLines: string[] = [];
  const received: AlertEvent[] = [];
  let consumer: ReturnType<typeof createAlertConsumer>;

  beforeAll(async () => {
    const cameras = [GOOD, ...FAULTS.map(([f]) => camId(f))];
    sim = await startRtspSim({ cameras, username: 'admin', password: PASSWORD });
    const devices = [
      { id: door, model: 'gatekeeper-ac100', location: LOCATION, state: 'active' },
      ...cameras.map((id) => ({
        id,
        model: 'rtsp-camera',
        location: LOCATION,
        state: 'active',
        // The login inside the URL, as installers paste it: the registry moves it out.
        rtsp: { url: sim.url(id, 'main', true), subUrl: sim.url(id, 'sub', true), transport: 'tcp' },
        ...(id === GOOD ? { covers: [door] } : {}),
      })),
    ];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    ({ gw, httpUrl } = await startGateway(
      stringify({ devices }, { aliasDuplicateObjects: false }),
      { GRIDGATE_DISPATCH__QUEUE: queue, GRIDGATE_RULES__WATCH: 'false', GRIDGATE_RULES__TICK_MS: '500' },
      { logger: createLogger({ level: 'debug', pretty: false }, sink) },
    ));
    mqttPort = gw.ports.mqtt ?? 0;
    consumer = createAlertConsumer({
      connection: inject('redisUrl'),
      queue,
      handler: async (event) => {
        received.push(event);
      },
    });
    await consumer.ready();
  }, 120_000);
  afterAll(async () => {
    await consumer?.close();
    await gw?.stop();
    await sim?.stop();
  });

  it('supervises every camera and takes its reference frame', async () => {
    const ids = [GOOD, ...FAULTS.map(([f]) => camId(f))];
    await until('every camera online with a reference frame', () =>
      ids.every((id) => {
        const s = gw.cameras.supervisor.status(id);
        return s?.state === 'online' && s.referenceAt !== undefined;
      }),
    );
    const latest = (await (await fetch(`${httpUrl}/api/v1/devices/${GOOD}/latest`)).json()) as {
      readings?: { measurement: string; fields: Record<string, number> }[];
    };
    expect(JSON.stringify(latest)).toContain('luma_avg');
  }, 90_000);

  it('raises each diagnosis as an incident of its rule, with the camera own snapshot, and resolves it', async () => {
    await Promise.all(FAULTS.map(([fault]) => sim.fault(camId(fault), fault)));
    const firing = (id: string, rule: string) =>
      received.find((e) => e.type === 'alert.firing' && e.device?.id === id && e.rule.id === rule);
    for (const [fault, rule] of FAULTS) {
      const e = await until(`${rule} for the '${fault}' camera`, () => firing(camId(fault), rule), 30_000);
      expect(validateAlertEvent(e).ok).toBe(true);
      expect(e.evidence).toHaveLength(1);
      expect(e.evidence[0]?.camera).toBe(camId(fault));
    }
    // The healthy camera raised nothing.
    expect(received.filter((e) => e.device?.id === GOOD)).toEqual([]);
    await Promise.all(FAULTS.map(([fault]) => sim.fault(camId(fault), 'ok')));
    for (const [fault, rule] of FAULTS) {
      await until(
        `${rule} resolved for the '${fault}' camera`,
        () =>
          received.find(
            (e) => e.type === 'alert.resolved' && e.device?.id === camId(fault) && e.rule.id === rule,
          ),
        40_000,
      );
    }
  }, 240_000);

  it('an alert of a covered device carries a valid JPEG from its camera, served with the API', async () => {
    const ts = Math.floor(Date.now() / 1000);
    // The real third-party client on the MQTT edge: a forced door.
    await mosquittoPub(mqttPort, `devices/${door}/event`, JSON.stringify({ ts, code: 5, door: 1, mode: 1 }), {
      clientId: door,
    });
    const e = await until('the door alert', () =>
      received.find((x) => x.type === 'alert.firing' && x.device?.id === door),
    );
    expect(validateAlertEvent(e).ok).toBe(true);
    const ev = e.evidence.find((x) => x.camera === GOOD);
    expect(ev?.url, JSON.stringify(e.evidence)).toMatch(/^\/api\/v1\/snapshots\/.+\.jpg$/);
    const res = await fetch(`${httpUrl}${ev!.url}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const jpeg = Buffer.from(await res.arrayBuffer());
    expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
    expect(jpeg.subarray(-2).toString('hex')).toBe('ffd9');
    // ffprobe decodes it: a real picture, not bytes that look like one.
    const probe = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        'ffprobe',
        ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', 'pipe:0'],
        (err, out) => (err ? reject(err) : resolve(out)),
      );
      child.stdin?.end(jpeg);
    });
    expect(probe.trim()).toMatch(/^mjpeg,\d+,\d+$/);
  }, 60_000);

  it('no log line holds the camera password', () => {
    expect(logLines.length).toBeGreaterThan(50);
    expect(logLines.filter((l) => l.includes(PASSWORD))).toEqual([]);
  });
});
