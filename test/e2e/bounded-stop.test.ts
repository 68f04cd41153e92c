import { describe, expect, it } from 'vitest';
import { startServices } from '../../scripts/services.js';
import { startGateway } from '../support/gateway.js';

describe('stopping with Redis gone', () => {
  it('does not wait forever: each component gets a bounded time, and the late ones are named', async () => {
    // A Redis of this test's own, so it can die under the gateway.
    const services = await startServices({ redis: true });
    let stopped = false;
    try {
      const { gw } = await startGateway(
        [{ id: 'fg-1', model: 'riverwatch-fg2' }],
        { GRIDGATE_REDIS__URL: services.redis!.url },
        { stopStepMs: 1000 },
      );
      await services.stop();
      stopped = true;
      // Without the bound this never resolves (the test times out): alerting's BullMQ connections
      // wait for Redis without end.
      const late = await gw.stop();
      expect(late).toContain('alerting');
    } finally {
      if (!stopped) await services.stop();
    }
  }, 30_000);
});
