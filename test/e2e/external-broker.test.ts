import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Gateway } from '../../gateway/app.js';
import { type RunningService, startMosquitto } from '../../scripts/services.js';
import { mosquittoPub, randomSuffix, startGateway } from '../support/gateway.js';
import { waitForSeries } from '../support/vm.js';

const vmUrl = inject('vmUrl');
const run = randomSuffix();

describe('external broker mode (mosquitto from Debian) feeds the same pipeline', () => {
  let broker: RunningService;
  let gw: Gateway;

  beforeAll(async () => {
    broker = await startMosquitto(mkdtempSync(join(tmpdir(), 'gg-mosq-')));
    ({ gw } = await startGateway(
      [
        { id: `ext-wl-${run}`, model: 'jiangshui-sw10' },
        { id: `ext-aq-${run}`, model: 'airbox-aq5' },
      ],
      {
        GRIDGATE_TSDB__URL: vmUrl,
        GRIDGATE_MQTT__URL: broker.url,
        GRIDGATE_MQTT__CLIENT_ID: `gridgate-test-${run}`,
      },
    ));
  });
  afterAll(async () => {
    await gw?.stop();
    await broker?.stop();
  });

  it('does not start the embedded broker', () => {
    expect(gw.ports.mqtt).toBeUndefined();
  });

  it('ingests vendor payloads published to the external broker with mosquitto_pub', async () => {
    // jiangshui-sw10: level in cm, rain in 0.1 mm, China-time compact timestamps (see its model file)
    const model = gw.models.get('jiangshui-sw10')!;
    const payload: Record<string, unknown> = {};
    for (const f of model.fields)
      setPath(
        payload,
        f.path,
        Math.round(
          f.toVendor(
            f.metric === 'water_level_m'
              ? 2.75
              : f.metric === 'rain_mm'
                ? 1.5
                : f.metric === 'battery_v'
                  ? 3.6
                  : -70,
          ),
        ),
      );
    await mosquittoPub(broker.port, `devices/ext-wl-${run}/telemetry`, JSON.stringify(payload));
    const [level] = await waitForSeries(vmUrl, `flood_water_level_m{device="ext-wl-${run}"}`);
    expect(level!.values).toEqual([2.75]);
    const [rain] = await waitForSeries(vmUrl, `flood_rain_mm{device="ext-wl-${run}"}`);
    expect(rain!.values).toEqual([1.5]);
  });
});

function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = obj;
  for (const k of path.slice(0, -1)) {
    node[k] ??= {};
    node = node[k] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}
