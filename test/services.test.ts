import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { waitForSeries } from './support/vm.js';

describe('test services', () => {
  it('VictoriaMetrics accepts the InfluxDB v2 write API and exports what it got', async () => {
    const vmUrl = inject('vmUrl');
    const tag = randomUUID();
    const res = await fetch(`${vmUrl}/api/v2/write?org=o&bucket=b&precision=ms`, {
      method: 'POST',
      body: `smoke,run=${tag} value=42 ${Date.now()}\n`,
    });
    expect(res.status).toBe(204);
    const series = await waitForSeries(vmUrl, `smoke_value{run="${tag}"}`);
    expect(series[0]?.values).toEqual([42]);
  });
});
