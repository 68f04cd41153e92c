import { createServer, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { incidentsCommand } from '../../gateway/cli/incidents.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  process.exitCode = undefined;
  delete process.env.GRIDGATE_TOKEN;
});

interface Seen {
  method?: string;
  url?: string;
  auth?: string;
  body: unknown;
}

/** A real HTTP server standing in for the gateway API: answers `status` and records the request. */
async function api(status: number, reply: unknown): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const srv = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      seen.push({
        method: req.method,
        url: req.url,
        auth: req.headers.authorization,
        body: JSON.parse(body),
      });
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, seen };
}

describe('gridgate incidents ack', () => {
  it('POSTs {by, note} to /api/v1/incidents/{id}/ack with the bearer token', async () => {
    const { url, seen } = await api(200, { incidentId: 'flood-level.g1', by: 'alice' });
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    cleanups.push(async () => log.mockRestore());
    await incidentsCommand().parseAsync(
      [
        'ack',
        'flood-level.g1/x',
        '--by',
        'alice',
        '--note',
        '已处理',
        '--url',
        `${url}/`,
        '--token',
        's3cret',
      ],
      { from: 'user' },
    );
    expect(seen).toEqual([
      {
        method: 'POST',
        url: '/api/v1/incidents/flood-level.g1%2Fx/ack',
        auth: 'Bearer s3cret',
        body: { by: 'alice', note: '已处理' },
      },
    ]);
    expect(process.exitCode).toBeUndefined();
    expect(log).toHaveBeenCalledWith('acknowledged flood-level.g1/x');
  });

  it('takes the token from GRIDGATE_TOKEN and exits 1 with the reason on 404', async () => {
    const { url, seen } = await api(404, { code: 'GG_ERR_NOT_FOUND', message: 'incident nope is not known' });
    process.env.GRIDGATE_TOKEN = 'from-env';
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    cleanups.push(async () => err.mockRestore());
    await incidentsCommand().parseAsync(['ack', 'nope', '--by', 'bob', '--url', url], { from: 'user' });
    expect(seen[0]?.auth).toBe('Bearer from-env');
    expect(seen[0]?.body).toEqual({ by: 'bob' });
    expect(process.exitCode).toBe(1);
    expect(String(err.mock.calls[0]?.[0])).toMatch(/HTTP 404 incident nope is not known/);
  });
});
