import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort, startMosquitto } from '../../scripts/services.js';
import { LOCATION } from '../support/gateway.js';
import { GatewayProcess, killGatewayProcesses } from '../support/gateway-process.js';
import { lossReport, numberedDevices, startNumberedLoad, waitStored } from '../support/numbered-load.js';

const DEVICES = 20;
const RATE = 2000;
const SECONDS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Issue 19: the gateway SIGKILLed under a steady QoS 1 load through an external broker (mosquitto).
 * Every reading is numbered by its timestamp and looked up in VictoriaMetrics afterwards. What the
 * gateway acknowledged to the broker before the kill was in its intake log on disk; the restarted
 * gateway replays it, and the broker delivers the rest from the persistent session.
 */
async function unsettled(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return Number(/^gridgate_mqtt_intake_unsettled_messages (\d+)/m.exec(text)?.[1] ?? 0);
}

describe('gateway killed under load', () => {
  const vmUrl = inject('vmUrl');
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await killGatewayProcesses();
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  /**
   * 20 numbered devices and a gateway config of the run's own (folders, prefix, client id): behind
   * mosquitto (external), or connected to the gateway's own broker on a port that stays the same
   * across the restart (embedded; the devices reconnect and resend what was not acknowledged).
   */
  async function setup(kind: string, mode: 'external' | 'embedded') {
    const run = `${kind}-${randomUUID().slice(0, 8)}`;
    const dir = mkdtempSync(join(tmpdir(), `gg-${kind}-`));
    let mqtt: Record<string, unknown>;
    let url: string;
    if (mode === 'external') {
      const broker = await startMosquitto(join(dir, 'mosquitto'));
      cleanups.push(() => broker.stop());
      url = broker.url;
      mqtt = { url, clientId: `gridgate-${run}` };
    } else {
      const port = await freePort();
      url = `mqtt://127.0.0.1:${port}`;
      mqtt = { embedded: { host: '127.0.0.1', port } };
    }
    const devicesFile = join(dir, 'devices.yaml');
    writeFileSync(
      devicesFile,
      stringify(
        {
          devices: numberedDevices(run, DEVICES).map((d) => ({ ...d, location: LOCATION, state: 'active' })),
        },
        { aliasDuplicateObjects: false },
      ),
    );
    const configFile = join(dir, 'gridgate.yaml');
    writeFileSync(
      configFile,
      stringify({
        log: { level: 'info', pretty: false },
        http: { port: 0 },
        auth: { required: false },
        mqtt: { ...mqtt, auth: { required: false, secretKeyFile: join(dir, 'mqtt-secret.key') } },
        redis: { url: inject('redisUrl'), prefix: `gg-test-${run}:` },
        tsdb: { url: vmUrl, spool: { dir: join(dir, 'spool') } },
        devices: { import: devicesFile },
        limits: { deviceRatePerS: 100_000, deviceBurst: 100_000 },
        dispatch: { outbox: { dir: join(dir, 'outbox') } },
        cameras: { snapshots: { dir: join(dir, 'snapshots') } },
      }),
    );
    const first = await GatewayProcess.start(configFile, dir);
    const t0 = Date.now() - 1_800_000;
    const load = await startNumberedLoad({
      url,
      run,
      devices: DEVICES,
      rate: RATE,
      seconds: SECONDS,
      t0,
    });
    cleanups.push(() => load.stop());
    return { run, dir, configFile, first, t0, load };
  }

  /** After the restart: the load finished, every acknowledged number looked up. */
  async function outcome(s: Awaited<ReturnType<typeof setup>>, second: GatewayProcess) {
    await s.load.done;
    await s.load.stop();
    const stored = await waitStored(vmUrl, s.run, s.t0, s.load.acked.size, 120_000);
    const replayed = second
      .log()
      .split('\n')
      .find((l) => l.includes('acknowledged before the last stop'));
    return {
      ...lossReport(s.load.acked, stored),
      replayed: replayed ? (JSON.parse(replayed) as { messages: number }).messages : 0,
    };
  }

  it.each(['external', 'embedded'] as const)(
    'SIGKILL at full load, %s broker, restarted: every acknowledged reading is stored',
    async (mode) => {
      const s = await setup('kill', mode);
      await sleep(6000);
      // Killed while the gateway holds acknowledged messages not yet written (it nearly always does at
      // this rate; the metric makes sure the kill is not between two writes).
      const deadline = Date.now() + 5000;
      let held = 0;
      while (Date.now() < deadline && held === 0) {
        held = await unsettled(s.first.httpUrl);
        if (held === 0) await sleep(10);
      }
      await s.first.kill();
      const atKill = s.load.acked.size;
      const second = await GatewayProcess.start(s.configFile, s.dir);
      const report = await outcome(s, second);
      console.info(
        `gateway SIGKILL at ${RATE}/s, ${mode} broker: sent ${s.load.sent}, acked at the kill ${atKill}`,
        report,
      );
      expect(held).toBeGreaterThan(0); // the metric shows what the log holds for the database
      expect(s.load.acked.size).toBe(s.load.sent);
      expect(report.lost).toBe(0);
      expect(report.stored).toBe(s.load.sent);
      // At least once: what was written but not yet checkpointed at the kill is written again, no more.
      expect(report.duplicated).toBeLessThan(RATE);
      expect(await second.stop()).toBe(0);
    },
    240_000,
  );

  it('SIGTERM at full load, restarted: nothing to replay, nothing stored twice', async () => {
    const s = await setup('term', 'external');
    await sleep(6000);
    // What an installer sees of it: the spool check carries the intake log's count.
    const health = await (await fetch(`${s.first.httpUrl}/healthz`)).text();
    expect(health).toMatch(/"intakeUnsettled":\d+/);
    expect(await s.first.stop()).toBe(0);
    const second = await GatewayProcess.start(s.configFile, s.dir);
    const report = await outcome(s, second);
    console.info(`gateway SIGTERM at ${RATE}/s, external broker: sent ${s.load.sent}`, report);
    expect(report).toMatchObject({ lost: 0, duplicated: 0, replayed: 0 });
    expect(report.stored).toBe(s.load.sent);
    expect(await second.stop()).toBe(0);
  }, 240_000);
});
