import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadConfig } from '../../config/load.js';
import { Gateway } from '../../gateway/app.js';
import { type AlertEvent, createAlertConsumer } from '../../gateway/consumer.js';
import { type CameraFault, FAULT_RULES, startRtspSim } from '../../simulators/rtsp/server.js';
import { sleep } from '../lib/proc.js';
import type { BenchContext, Row } from '../lib/types.js';

const FAULTS = FAULT_RULES;
const LOCATION = { district: '鼓楼区', street: '相国寺街道', community: '书店街社区', grid: '网格-01' };
const TIMEOUT_MS = 60_000;

/**
 * Detection delay per diagnosis, through the whole gateway: one simulated camera per fault, the
 * default stats interval and the shipped camera rules; every fault is switched on at once, and the
 * delay is from the switch to the alert.firing job of the fault's rule in the BullMQ queue (then the
 * same from `ok` to alert.resolved). The target: every fault detected within 10 s.
 */
export async function cameraFaultsScenario(
  ctx: Pick<BenchContext, 'dir' | 'redisUrl' | 'vmUrl' | 'log'>,
): Promise<Row[]> {
  const ids = FAULTS.map(([f]) => `bench-cam-${f}`);
  const sim = await startRtspSim({ cameras: ids });
  const queue = `bench-camera-alerts-${process.pid}`;
  const events: { at: number; e: AlertEvent }[] = [];
  const consumer = createAlertConsumer({
    connection: ctx.redisUrl,
    queue,
    handler: async (e) => {
      events.push({ at: Date.now(), e });
    },
  });
  const devices = ids.map((id) => ({
    id,
    model: 'rtsp-camera',
    location: LOCATION,
    state: 'active',
    rtsp: { url: sim.url(id, 'main'), subUrl: sim.url(id, 'sub') },
  }));
  const dir = join(ctx.dir, 'camera-faults');
  const file = join(ctx.dir, 'camera-faults.yaml');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(file, stringify({ devices }, { aliasDuplicateObjects: false }));
  const gw = new Gateway({
    config: loadConfig({
      env: {
        GRIDGATE_HTTP__PORT: '0',
        GRIDGATE_MQTT__EMBEDDED__PORT: '0',
        GRIDGATE_REDIS__URL: ctx.redisUrl,
        GRIDGATE_REDIS__PREFIX: `bench-cam-${process.pid}:`,
        GRIDGATE_TSDB__URL: ctx.vmUrl,
        GRIDGATE_TSDB__SPOOL__DIR: join(dir, 'spool'),
        GRIDGATE_DISPATCH__QUEUE: queue,
        GRIDGATE_DISPATCH__OUTBOX__DIR: join(dir, 'outbox'),
        GRIDGATE_DEVICES__IMPORT: file,
        GRIDGATE_AUTH__REQUIRED: 'false',
        GRIDGATE_MQTT__AUTH__REQUIRED: 'false',
        GRIDGATE_MQTT__AUTH__SECRET_KEY_FILE: join(dir, 'mqtt-secret.key'),
        GRIDGATE_CAMERAS__SNAPSHOTS__DIR: join(dir, 'snapshots'),
        GRIDGATE_RULES__WATCH: 'false',
      },
    }),
    logger: pino({ level: 'silent' }),
  });
  const rows: Row[] = [];
  try {
    await consumer.ready();
    await gw.start();
    const deadline = Date.now() + TIMEOUT_MS;
    while (!ids.every((id) => gw.cameras.supervisor.status(id)?.referenceAt !== undefined)) {
      if (Date.now() > deadline) throw new Error('cameras did not come online with a reference frame');
      await sleep(200);
    }
    const firedAt = await switchAll(sim, FAULTS, events, 'alert.firing');
    const resolvedAt = await switchAll(
      sim,
      FAULTS.map(([f, r]) => [f, r, 'ok'] as const),
      events,
      'alert.resolved',
    );
    for (const [fault, rule] of FAULTS) {
      const fire = firedAt.get(fault);
      const clear = resolvedAt.get(fault);
      rows.push({
        scenario: '6 cameras: detection delay',
        system: `${fault} -> ${rule}`,
        p50Ms: fire,
        note:
          fire === undefined
            ? `not detected within ${TIMEOUT_MS / 1000} s`
            : `resolved ${clear === undefined ? 'not within 60 s' : `${(clear / 1000).toFixed(1)} s`} after ok`,
      });
    }
  } finally {
    await gw.stop();
    await consumer.close();
    await sim.stop();
  }
  return rows;
}

/** Switches every camera at once; ms from the switch to the event of each camera's rule. */
async function switchAll(
  sim: Awaited<ReturnType<typeof startRtspSim>>,
  faults: readonly (readonly [CameraFault, string, CameraFault?])[],
  events: { at: number; e: AlertEvent }[],
  type: AlertEvent['type'],
): Promise<Map<CameraFault, number>> {
  const t0 = Date.now();
  await Promise.all(faults.map(([f, , to]) => sim.fault(`bench-cam-${f}`, to ?? f)));
  const out = new Map<CameraFault, number>();
  const deadline = t0 + TIMEOUT_MS;
  while (out.size < faults.length && Date.now() < deadline) {
    for (const [f, rule] of faults) {
      const hit = events.find(
        ({ at, e }) => at >= t0 && e.type === type && e.device?.id === `bench-cam-${f}` && e.rule.id === rule,
      );
      if (hit && !out.has(f)) out.set(f, hit.at - t0);
    }
    await sleep(100);
  }
  return out;
}
