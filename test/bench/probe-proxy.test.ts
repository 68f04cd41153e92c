import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LineFinder, ProbeProxy } from '../../bench/lib/probe-proxy.js';

describe('LineFinder', () => {
  const body =
    'dust,device=a pm10=1 100\n' +
    'dust,device=probe pm10=2 200\n' +
    'noise,device=b db=3 300\n' +
    'dust,device=probe pm10=4 400';

  it('finds each line holding the needle once, whole, wherever the chunks are cut', () => {
    const buf = Buffer.from(body);
    for (let a = 0; a <= buf.length; a++) {
      for (const b of [a, Math.min(buf.length, a + 1), Math.min(buf.length, a + 7)]) {
        const found: string[] = [];
        const f = new LineFinder(Buffer.from('device=probe'), (l) => found.push(l));
        f.push(buf.subarray(0, a));
        f.push(buf.subarray(a, b));
        f.push(buf.subarray(b));
        f.end();
        expect(found, `cut at ${a} and ${b}`).toEqual([
          'dust,device=probe pm10=2 200',
          'dust,device=probe pm10=4 400',
        ]);
      }
    }
  });
});

describe('ProbeProxy', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  async function database(status: number): Promise<{ url: string; bodies: string[] }> {
    const bodies: string[] = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString());
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status === 204 ? undefined : 'no');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => server.close(() => r())));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
  }

  async function proxy(target: string): Promise<{ url: string; p: ProbeProxy }> {
    const p = new ProbeProxy(target, 'probe', 'dust');
    const url = await p.listen(0);
    closers.push(() => p.close());
    return { url, p };
  }

  it('passes a write through unchanged and records now − the probe line timestamp on a 2xx', async () => {
    const db = await database(204);
    const { url, p } = await proxy(db.url);
    const sent = Date.now() - 50;
    const body = `dust,device=other pm10=1 ${sent}\ndust,device=probe pm10=2 ${sent}\nnoise,device=probe db=1 ${sent}\n`;
    const r = await fetch(`${url}/api/v2/write?precision=ms`, { method: 'POST', body });
    expect(r.status).toBe(204);
    expect(db.bodies).toEqual([body]);
    expect(p.latencies).toHaveLength(1);
    expect(p.latencies[0]).toBeGreaterThanOrEqual(50);
  });

  it('records nothing when the database refuses the write, and passes its status on', async () => {
    const db = await database(400);
    const { url, p } = await proxy(db.url);
    const r = await fetch(`${url}/api/v2/write`, {
      method: 'POST',
      body: `dust,device=probe pm10=2 ${Date.now()}\n`,
    });
    expect(r.status).toBe(400);
    expect(await r.text()).toBe('no');
    expect(p.latencies).toEqual([]);
  });
});
