import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/app.js';
import { freePort, type RunningService, startVictoriaMetrics } from '../../scripts/services.js';
import { startGateway } from '../support/gateway.js';
import { lossReport, numberedDevices, startNumberedLoad, waitStored } from '../support/numbered-load.js';

/**
 * Issue 19's table, rows "DB down" and "stopped while the DB is down": a steady QoS 1 load of
 * numbered readings through the embedded broker, the database stopped (SIGTERM, so that its own
 * last seconds are not lost and counted against the gateway), and every acknowledged number looked
 * up in the database afterwards.
 */
const DEVICES = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('numbered readings across database outages', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  async function database(dir: string, port: number): Promise<RunningService> {
    const vm = await startVictoriaMetrics(dir, port);
    cleanups.push(() => vm.stop());
    return vm;
  }

  async function gateway(run: string, vmUrl: string, spoolDir: string): Promise<Gateway> {
    const { gw } = await startGateway(numberedDevices(run, DEVICES), {
      GRIDGATE_TSDB__URL: vmUrl,
      GRIDGATE_TSDB__SPOOL__DIR: spoolDir,
      GRIDGATE_LIMITS__DEVICE_RATE_PER_S: '100000',
      GRIDGATE_LIMITS__DEVICE_BURST: '100000',
    });
    cleanups.push(async () => {
      await gw.stop();
    });
    return gw;
  }

  it.each([
    { downS: 30, rate: 1500 },
    // Two minutes at the steady rate of `make bench`'s soak: most of it waits in the disk spool.
    { downS: 120, rate: 5000 },
  ])(
    'the database stopped for $downS s under $rate readings/s: every acknowledged reading stored once',
    async ({ downS, rate }) => {
      const run = `outage${downS}-${randomUUID().slice(0, 8)}`;
      const t0 = Date.now() - 1_800_000;
      const vmDir = join(mkdtempSync(join(tmpdir(), 'gg-vm-outage-')), 'vm');
      const port = await freePort();
      const vmUrl = `http://127.0.0.1:${port}`;
      let vm = await database(vmDir, port);
      const gw = await gateway(run, vmUrl, join(mkdtempSync(join(tmpdir(), 'gg-spool-')), 'spool'));
      const load = await startNumberedLoad({
        url: `mqtt://127.0.0.1:${gw.ports.mqtt}`,
        run,
        devices: DEVICES,
        rate,
        seconds: downS + 15,
        t0,
      });
      cleanups.push(() => load.stop());
      await sleep(5000);
      await vm.stop();
      await sleep(downS * 1000);
      vm = await database(vmDir, port);
      await load.done;
      await load.stop();

      const stored = await waitStored(vmUrl, run, t0, load.acked.size, 120_000);
      const report = lossReport(load.acked, stored);
      console.info(`db down ${downS} s at ${rate}/s: sent ${load.sent}`, report);
      expect(load.acked.size).toBe(load.sent);
      expect(report).toMatchObject({ lost: 0, duplicated: 0 });
      expect(report.stored).toBe(load.sent);
    },
    420_000,
  );

  it('stopped cleanly while the database is down, started again once it is back: every reading stored once', async () => {
    const run = `stopped-${randomUUID().slice(0, 8)}`;
    const t0 = Date.now() - 1_800_000;
    const vmDir = join(mkdtempSync(join(tmpdir(), 'gg-vm-stop-')), 'vm');
    const spoolDir = join(mkdtempSync(join(tmpdir(), 'gg-spool-')), 'spool');
    const port = await freePort();
    const vmUrl = `http://127.0.0.1:${port}`;
    let vm = await database(vmDir, port);
    const first = await gateway(run, vmUrl, spoolDir);
    const load = await startNumberedLoad({
      url: `mqtt://127.0.0.1:${first.ports.mqtt}`,
      run,
      devices: DEVICES,
      rate: 1500,
      seconds: 20,
      t0,
    });
    await sleep(5000);
    await vm.stop();
    await load.done;
    await load.stop();
    // What SIGTERM runs: the gateway's bounded stop, with the database still down.
    await first.stop();

    vm = await database(vmDir, port);
    await gateway(run, vmUrl, spoolDir);
    const stored = await waitStored(vmUrl, run, t0, load.acked.size, 90_000);
    const report = lossReport(load.acked, stored);
    console.info(`stopped while db down at 1500/s: sent ${load.sent}`, report);
    expect(load.acked.size).toBe(load.sent);
    expect(report).toMatchObject({ lost: 0, duplicated: 0 });
  }, 240_000);
});
