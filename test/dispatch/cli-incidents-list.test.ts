import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { incidentsCommand } from '../../gateway/cli/incidents.js';
import { type AlertingApi, startAlertingApi } from '../rules/alerting-api.js';
import { device, reading } from '../rules/helpers.js';

const RULES = `
rules:
  - id: flood.level
    name: 水位超警戒
    condition:
      levels:
        - { severity: yellow, when: "water_level_m >= 2.5" }
        - { severity: red, when: "water_level_m >= 3.5" }
`;

let api: AlertingApi;
const ids: Record<string, string> = {};
beforeAll(async () => {
  api = await startAlertingApi(RULES);
  api.devices.set('WL-002', device({ id: 'WL-002' }));
  api.devices.set('WL-003', device({ id: 'WL-003' }));
  const at = Date.now();
  for (const [id, level] of [
    ['WL-001', 2.7],
    ['WL-002', 3.8],
    ['WL-003', 2.6],
  ] as const) {
    const d = api.devices.get(id)!;
    api.alerting.engine.write(reading(d, at, { water_level_m: level }), d);
    ids[id] = api.alerting.engine.listIncidents({ deviceId: id })[0]!.id;
  }
  // WL-003 back to normal: resolved, listed only with --all.
  const d3 = api.devices.get('WL-003')!;
  api.alerting.engine.write(reading(d3, at + 1000, { water_level_m: 1.0 }), d3);
});
afterAll(async () => {
  await api?.close();
});
afterEach(() => {
  delete process.env.GRIDGATE_URL;
  process.exitCode = undefined;
});

/** Run the verb with GRIDGATE_URL pointing at the gateway (no --url), capturing what it prints. */
async function run(...args: string[]): Promise<string> {
  process.env.GRIDGATE_URL = api.url;
  const out: string[] = [];
  await incidentsCommand({ print: (l) => out.push(l) }).parseAsync(args, { from: 'user' });
  return out.join('\n');
}

describe('gridgate incidents list', () => {
  it('shows open incidents by default, as a table without colour codes when piped', async () => {
    const text = await run('list');
    expect(text).toContain(ids['WL-001']);
    expect(text).toContain(ids['WL-002']);
    expect(text).not.toContain(ids['WL-003']);
    expect(text).toMatch(
      /│ incident\s+│ state\s+│ severity\s+│ rule\s+│ device\s+│ started\s+│ acked by\s+│/,
    );
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is checked
    expect(text).not.toMatch(/\u001b\[/);
  });

  it('filters by severity, rule and device; --all adds resolved ones; --json prints the items', async () => {
    const json = async (...args: string[]) =>
      (JSON.parse(await run('list', '--json', ...args)) as { incidentId: string }[]).map((i) => i.incidentId);
    expect(await json('--severity', 'red')).toEqual([ids['WL-002']]);
    expect((await json('--severity', 'yellow,red')).sort()).toEqual([ids['WL-001'], ids['WL-002']].sort());
    expect(await json('--device', 'WL-001')).toEqual([ids['WL-001']]);
    expect(await json('--rule', 'nope')).toEqual([]);
    expect(await json('--all', '--device', 'WL-003')).toEqual([ids['WL-003']]);
    const [item] = JSON.parse(await run('list', '--json', '--device', 'WL-002'));
    expect(item).toMatchObject({
      state: 'firing',
      severity: 'red',
      rule: { id: 'flood.level' },
      device: { id: 'WL-002' },
    });
  });

  it('a bad severity is refused by the gateway with the allowed values', async () => {
    await expect(run('list', '--severity', 'purple')).rejects.toThrow(
      /severity is one or more of blue, yellow, orange, red/,
    );
  });
});

describe('gridgate incidents ack', () => {
  it('honours GRIDGATE_URL, and the list then shows who acknowledged', async () => {
    expect(await run('ack', ids['WL-001']!, '--by', '值班员')).toBe(`acknowledged ${ids['WL-001']}`);
    expect(process.exitCode).toBeUndefined();
    const [item] = JSON.parse(await run('list', '--json', '--device', 'WL-001'));
    expect(item.ackedBy).toBe('值班员');
    expect(await run('list', '--device', 'WL-001')).toMatch(/│ 值班员\s+│/);
  });

  it('an unknown id exits 1 and points at `incidents list`', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await run('ack', 'nope', '--by', 'x');
      expect(process.exitCode).toBe(1);
      expect(String(err.mock.calls[0]?.[0])).toMatch(/HTTP 404 .*gridgate incidents list/);
    } finally {
      err.mockRestore();
    }
  });
});
