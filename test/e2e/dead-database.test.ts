import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/app.js';
import { freePort, type RunningService, startVictoriaMetrics } from '../../scripts/services.js';
import { mosquittoPub, randomSuffix, startGateway } from '../support/gateway.js';
import { waitForSeries } from '../support/vm.js';

const id = `dead-db-${randomSuffix()}`;

/** A dead database loses nothing: readings wait in the writer's spool, health says so, and they land when it is back. */
describe('time-series database down, then back', () => {
  let gw: Gateway | undefined;
  let vm: RunningService | undefined;
  afterAll(async () => {
    await gw?.stop();
    await vm?.stop();
  });

  it('keeps ingesting, reports degraded health, and writes the held readings once the database returns', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const started = await startGateway([{ id, model: 'hydrotek-wl300' }], {
      GRIDGATE_TSDB__URL: url,
    });
    gw = started.gw;
    const t0 = Math.floor(Date.now() / 1000) - 30;
    for (let i = 0; i < 5; i++) {
      await mosquittoPub(
        gw.ports.mqtt!,
        `devices/${id}/telemetry`,
        JSON.stringify({ ts: t0 + i, wl: 1000 + i }),
      );
    }
    // the writes fail: health turns degraded while the gateway keeps taking readings
    const deadline = Date.now() + 15_000;
    let health = 0;
    while (Date.now() < deadline) {
      health = (await fetch(`${started.httpUrl}/healthz`)).status;
      if (health === 503) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(health).toBe(503);
    expect(gw.writer.stats.batchesFailed).toBeGreaterThan(0);
    expect(gw.writer.spooledLines).toBeGreaterThan(0);

    vm = await startVictoriaMetrics(join(mkdtempSync(join(tmpdir(), 'gg-vm-')), 'vm'), port);
    const [s] = await waitForSeries(
      url,
      `flood_water_level_m{device="${id}"}`,
      (x) => (x[0]?.values.length ?? 0) === 5,
      40_000,
    );
    expect(s!.values).toEqual([1, 1.001, 1.002, 1.003, 1.004]);
  });
});
