import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CredentialStore } from '../../adapters/registry/credentials.js';
import { RedisRegistry } from '../../adapters/registry/redis-registry.js';
import { UnknownDevices } from '../../adapters/registry/unknown-devices.js';
import { devicesCommand } from '../../gateway/cli/devices.js';
import { devicesPlugin } from '../../gateway/http/routes/devices.js';
import { buildHttpServer } from '../../gateway/http/server.js';
import { ModelIndex } from '../../processors/devices/index.js';
import { LatestReadings } from '../../processors/latest.js';
import { dustMonitor, gauge, knownModels } from './fixtures.js';

let redis: Redis;
let app: FastifyInstance;
let registry: RedisRegistry;
let credentials: CredentialStore;
let unknown: UnknownDevices;
const latest = new LatestReadings();
const models = new ModelIndex();
const prefix = `gg-test:${randomUUID()}:`;

beforeAll(async () => {
  redis = new Redis(inject('redisUrl'));
  registry = new RedisRegistry({ redis, prefix, knownModels });
  await registry.start();
  credentials = new CredentialStore({ redis, prefix, scrypt: { N: 1024, r: 8, p: 1 } });
  unknown = new UnknownDevices({ redis, prefix });
  app = await buildHttpServer({
    logger: pino({ level: 'silent' }),
    root: [],
    api: [
      {
        plugin: devicesPlugin as never,
        prefix: '',
        options: {
          registry,
          credentials,
          unknown,
          actor: () => 'tester',
          watch: { latest, models, intervalMs: 50 },
        },
      },
    ],
  });
});
afterAll(async () => {
  await app.close();
  await registry.stop();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('/api/v1/devices', () => {
  it('adds a device and returns its MQTT secret once; later reads never show a secret', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/devices', payload: dustMonitor('dm-h1') });
    expect(res.statusCode).toBe(201);
    const body = res.json() as {
      device: { id: string; createdBy: string; hj212: { password: string } };
      secret: string;
    };
    expect(body.device.createdBy).toBe('tester');
    expect(body.device.hj212.password).toBe('[redacted]');
    expect(await credentials.verify('dm-h1', body.secret)).toBe(true);

    for (const url of [
      '/api/v1/devices/dm-h1',
      '/api/v1/devices',
      '/api/v1/devices/export?format=yaml',
      '/api/v1/devices/export?format=csv',
    ]) {
      const r = await app.inject({ url });
      expect(r.statusCode, url).toBe(200);
      expect(r.body, url).not.toContain('pw-123456');
      expect(r.body, url).not.toContain(body.secret);
    }
  });

  it('lists with filters, shows, patches, retires and audits', async () => {
    await app.inject({ method: 'POST', url: '/api/v1/devices', payload: gauge('fg-h1') });
    const list = (await app.inject({ url: '/api/v1/devices?family=flood' })).json() as {
      devices: { id: string }[];
    };
    expect(list.devices.map((d) => d.id)).toEqual(['fg-h1']);
    expect((await app.inject({ url: '/api/v1/devices?family=boats' })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/v1/devices/none' })).statusCode).toBe(404);

    const patched = await app.inject({
      method: 'PATCH',
      url: '/api/v1/devices/fg-h1',
      payload: { attrs: { warning_level_m: 0.45 }, state: 'active' },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ state: 'active', attrs: { warning_level_m: 0.45 } });

    const bad = await app.inject({
      method: 'PATCH',
      url: '/api/v1/devices/fg-h1',
      payload: { state: 'lost' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'GG_ERR_DEVICES_INVALID' });

    const secret = await credentials.rotate('fg-h1');
    const retired = await app.inject({ method: 'POST', url: '/api/v1/devices/fg-h1/retire' });
    expect(retired.json()).toMatchObject({ state: 'retired', updatedBy: 'tester' });
    expect(await credentials.verify('fg-h1', secret)).toBe(false);

    const audit = (await app.inject({ url: '/api/v1/devices/fg-h1/audit' })).json() as {
      audit: { action: string }[];
    };
    expect(audit.audit.map((a) => a.action)).toEqual(['retire', 'update', 'add']);
  });

  it('rotates credentials: the new secret works, the old one does not', async () => {
    await app.inject({ method: 'POST', url: '/api/v1/devices', payload: gauge('fg-h2') });
    const a = (
      await app.inject({ method: 'POST', url: '/api/v1/devices/fg-h2/credentials/rotate' })
    ).json() as {
      secret: string;
    };
    const b = (
      await app.inject({ method: 'POST', url: '/api/v1/devices/fg-h2/credentials/rotate' })
    ).json() as {
      secret: string;
    };
    expect(await credentials.verify('fg-h2', a.secret)).toBe(false);
    expect(await credentials.verify('fg-h2', b.secret)).toBe(true);
    expect(
      (await app.inject({ method: 'POST', url: '/api/v1/devices/nope/credentials/rotate' })).statusCode,
    ).toBe(404);
  });

  it('imports CSV all-or-nothing, reporting bad rows with their lines', async () => {
    const header = 'id,model,district,street,community,grid,attrs.warning_level_m';
    const csv = [
      header,
      'imp-1,riverwatch-fg2,龙亭区,s,c,g,2.5',
      'imp-2,nope-x,龙亭区,s,c,g,2.5',
      'imp-3,riverwatch-fg2,龙亭区,s,c,,2',
    ];
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/devices/import?source=kf.csv',
      headers: { 'content-type': 'text/csv' },
      payload: csv.join('\n'),
    });
    expect(res.statusCode).toBe(400);
    const body = res.json() as { problems: { line: number; id: string }[]; details: string[] };
    expect(body.problems.map((p) => [p.line, p.id])).toEqual([
      [3, 'imp-2'],
      [4, 'imp-3'],
    ]);
    expect(body.details[1]).toMatch(/^kf\.csv:4 device 'imp-3': location\.grid/);
    expect(registry.get('imp-1')).toBeUndefined();

    const ok = await app.inject({
      method: 'POST',
      url: '/api/v1/devices/import',
      headers: { 'content-type': 'text/csv' },
      payload: [header, 'imp-1,riverwatch-fg2,龙亭区,s,c,g,2.5', 'imp-2,riverwatch-fg2,龙亭区,s,c,g,3'].join(
        '\n',
      ),
    });
    expect(ok.json()).toMatchObject({ created: 2, rows: 2 });
    expect(registry.get('imp-2')?.attrs.warning_level_m).toBe(3);
  });

  it('round-trips export -> import as YAML without losing the stored HJ 212 password', async () => {
    const yaml = (await app.inject({ url: '/api/v1/devices/export?format=yaml' })).body;
    const parsed = parseYaml(yaml) as { devices: { id: string }[] };
    expect(parsed.devices.map((d) => d.id)).toContain('dm-h1');
    // Records share empty objects in memory; an export spells each out (no YAML anchors/aliases).
    expect(yaml).not.toMatch(/[&*]a\d+/);
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/devices/import',
      headers: { 'content-type': 'application/yaml' },
      payload: yaml,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ created: 0, updated: 0 });
    expect(registry.get('dm-h1')?.hj212?.password).toBe('pw-123456');
  });

  it('lists unknown devices', async () => {
    unknown.record({ transport: 'mqtt', id: 'who-is-this', topic: 'devices/who-is-this/telemetry' });
    await unknown.flush();
    const res = (await app.inject({ url: '/api/v1/devices/unknown' })).json() as {
      unknown: { id: string }[];
    };
    expect(res.unknown.map((u) => u.id)).toContain('who-is-this');
    // Registering it takes it off the list.
    await app.inject({ method: 'POST', url: '/api/v1/devices', payload: gauge('who-is-this') });
    const after = (await app.inject({ url: '/api/v1/devices/unknown' })).json() as {
      unknown: { id: string }[];
    };
    expect(after.unknown.map((u) => u.id)).not.toContain('who-is-this');
  });
});

describe('gridgate devices (CLI against the running API)', () => {
  let url: string;
  let dir: string;
  beforeAll(async () => {
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    dir = await mkdtemp(join(tmpdir(), 'gg-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(...args: string[]): Promise<string> {
    const out: string[] = [];
    const cmd = devicesCommand({ print: (l) => out.push(l) }).exitOverride();
    for (const c of cmd.commands) c.exitOverride();
    await cmd.parseAsync([...args, '--url', url], { from: 'user' });
    return out.join('\n');
  }

  it('adds (secret shown once), sets, shows, lists, imports, exports and retires', async () => {
    const added = await run(
      'add',
      'cli-1',
      'hydrotek-wl300',
      '--district',
      '禹王台区',
      '--street',
      '三里堡街道',
      '--community',
      '繁塔社区',
      '--grid',
      '第2网格',
      'attrs.warning_level_m=3',
    );
    const secret = /MQTT password: (\S+)/.exec(added)?.[1];
    expect(secret).toBeDefined();
    expect(await credentials.verify('cli-1', secret!)).toBe(true);

    expect(registry.get('cli-1')?.state).toBe('commissioning');
    expect(await run('confirm', 'cli-1')).toMatch(/cli-1 is active/);
    await expect(run('confirm', 'cli-1')).rejects.toThrow(/is active, not commissioning/);
    await run('set', 'cli-1', 'state=active', 'attrs.danger_level_m=4.1', 'labels.owner=城管');
    expect(registry.get('cli-1')).toMatchObject({
      state: 'active',
      attrs: { warning_level_m: 3, danger_level_m: 4.1 },
      labels: { owner: '城管' },
    });
    expect(await run('show', 'cli-1')).toMatch(/danger_level_m: 4\.1/);
    const table = await run('list', '--district', '禹王台区');
    expect(table).toContain('cli-1');
    expect(table).toMatch(/1 device\(s\)/);

    const file = join(dir, 'more.csv');
    await writeFile(file, 'id,model,district,street,community,grid\ncli-2,airbox-aq5,鼓楼区,s,c,g\n');
    expect(await run('import', file)).toBe('1 row(s): 1 created, 0 updated, 0 unchanged');
    await writeFile(file, 'id,model,district,street,community,grid\ncli-3,airbox-aq5,鼓楼区,s,c,\n');
    await expect(run('import', file)).rejects.toThrow(/more\.csv:2 device 'cli-3': location\.grid/);

    expect(await run('export', '--format', 'csv')).toMatch(/^id,model,family,/);
    await expect(run('credentials', 'cli-1')).rejects.toThrow(/--rotate/);
    expect(await run('credentials', 'cli-1', '--rotate')).toMatch(/MQTT password: /);
    expect(await run('retire', 'cli-1')).toBe('retired cli-1');
    expect(await run('audit', 'cli-1')).toMatch(/retire .*by tester/);
  });

  it('watches a device: status snapshot, SSE stream and `watch --once`', async () => {
    await app.inject({ method: 'POST', url: '/api/v1/devices', payload: gauge('w-1') });
    const now = Date.now();
    const d = registry.get('w-1')!;
    latest.write(
      { device: 'w-1', measurement: 'flood', time: now - 1000, fields: { water_level_m: 1.25 }, tags: {} },
      d,
    );
    latest.write({ device: 'w-1', measurement: 'device', time: now, fields: { online: 1 }, tags: {} }, d);

    const status = (await app.inject({ url: '/api/v1/devices/w-1/status' })).json() as {
      connected: boolean;
      values: Record<string, { value: number }>;
      checks: { name: string; status: string }[];
    };
    expect(status.connected).toBe(true);
    expect(status.values.water_level_m?.value).toBe(1.25);
    expect(status.checks.find((c) => c.name === 'first_data')?.status).toBe('pass');

    // SSE: read two events off the real socket, then hang up.
    const ac = new AbortController();
    const res = await fetch(`${url}/api/v1/devices/w-1/watch`, { signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    let text = '';
    const reader = res.body!.getReader();
    while ((text.match(/\n\n/g) ?? []).length < 2) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    ac.abort();
    expect(text).toMatch(/^event: status\ndata: \{"device":\{"id":"w-1"/);

    const once = await run('watch', 'w-1', '--once');
    expect(once).toMatch(/connected: yes/);
    expect(once).toMatch(/water_level_m/);
    expect(once).toMatch(/\[PASS\] first_data/);

    // `watch` without --once prints each snapshot the stream sends until it is stopped.
    for (const json of [false, true]) {
      const seen: string[] = [];
      const enough = new Error('seen enough');
      const cmd = devicesCommand({
        print: (l) => {
          seen.push(l);
          if (seen.length === 2) throw enough;
        },
      });
      const args = ['watch', 'w-1', '--url', url, ...(json ? ['--json'] : [])];
      await expect(cmd.parseAsync(args, { from: 'user' })).rejects.toBe(enough);
      for (const l of seen) {
        if (json) expect(JSON.parse(l)).toMatchObject({ device: { id: 'w-1' }, connected: true });
        else expect(l).toMatch(/connected: yes[\s\S]*\[PASS\] first_data/);
      }
    }
  });

  it('ends the watch, saying why, when the device goes away while watched', async () => {
    await app.inject({ method: 'POST', url: '/api/v1/devices', payload: gauge('w-gone') });
    const seen: string[] = [];
    const cmd = devicesCommand({
      print: (l) => {
        seen.push(l);
        // Removed from the registry (as when another gateway's change arrives) after the first snapshot.
        if (seen.length === 1) registry.delete('w-gone');
      },
    });
    await expect(cmd.parseAsync(['watch', 'w-gone', '--url', url], { from: 'user' })).rejects.toThrow(
      /no device 'w-gone'/,
    );
    expect(seen).toHaveLength(1);
  });

  it('says when the gateway cannot be reached, from `watch` as from every other verb', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise((r) => closed.close(r));
    const gone = `http://127.0.0.1:${port}`;
    for (const args of [['watch', 'w-1'], ['watch', 'w-1', '--once'], ['list']]) {
      await expect(
        devicesCommand({ print: () => {} }).parseAsync([...args, '--url', gone], { from: 'user' }),
      ).rejects.toThrow(
        `cannot reach the gateway at ${gone} (ECONNREFUSED); is it running? (gridgate start)`,
      );
    }
  });
});
