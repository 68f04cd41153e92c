import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../adapters/support.js';
import { type AlertingApi, startAlertingApi } from './alerting-api.js';
import { device, reading } from './helpers.js';

const RULES = `
rules:
  - id: flood.level
    name: 水位超警戒
    condition: "water_level_m >= device.attrs.warning_level_m"
    severity: yellow
`;

interface Seen {
  args: string[];
  source: string;
}

let api: AlertingApi | undefined;
let monitor: Awaited<ReturnType<Redis['monitor']>> | undefined;
afterEach(async () => {
  monitor?.disconnect();
  await api?.close();
});

describe('an alert job reaches Redis after its saved state, on one connection', () => {
  it('the held event is written before the job that carries it, by the same client', async () => {
    api = await startAlertingApi(RULES);
    const seen: Seen[] = [];
    monitor = await new Redis(inject('redisUrl')).monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ args, source }));
    const d = device();
    api.alerting.engine.write(reading(d, Date.now(), { water_level_m: 2.7 }), d);
    await waitFor('the firing enqueued', () => api?.alerting.dispatcher.stats().enqueued === 1);
    const [event] = api.alerting.recent.list();
    expect(event?.type).toBe('alert.firing');
    const id = event!.id;
    const saved = seen.findIndex(
      (s) => s.args[0]?.toLowerCase() === 'hset' && s.args[1]?.endsWith('rules:held') && s.args.includes(id),
    );
    const added = seen.findIndex(
      (s) => /^eval(sha)?$/i.test(s.args[0] ?? '') && s.args.some((a) => a.includes(id)),
    );
    expect(saved).toBeGreaterThanOrEqual(0);
    expect(added).toBeGreaterThan(saved);
    // One connection: Redis applies its commands in the order they were sent, whatever the engine awaited.
    expect(seen[added]!.source).toBe(seen[saved]!.source);
  });
});
