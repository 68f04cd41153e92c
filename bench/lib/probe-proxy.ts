import { createServer, type Server } from 'node:http';

/**
 * A pass-through HTTP proxy in front of the database that timestamps the database's acceptance of
 * probe lines: when the database answers 2xx to a write whose body holds a line of the probe
 * device, the latency is (now − the line's timestamp). The probe sends its own send time as the
 * device timestamp (an epoch-ms model), so this is publish → point accepted by the database, on one
 * clock, at millisecond resolution, without polling. Requires uncompressed writes (tsdb.gzip off).
 */
export class ProbeProxy {
  readonly latencies: number[] = [];
  #server: Server | undefined;
  readonly #target: string;
  readonly #needle: string;
  readonly #measurement: string;

  constructor(target: string, probeDeviceId: string, measurement: string) {
    this.#target = target;
    this.#needle = `device=${probeDeviceId}`;
    this.#measurement = `${measurement},`;
  }

  async listen(port: number): Promise<string> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        fetch(`${this.#target}${req.url ?? '/'}`, {
          method: req.method,
          headers: { 'content-type': req.headers['content-type'] ?? 'text/plain' },
          body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
        })
          .then(async (r) => {
            const text = Buffer.from(await r.arrayBuffer());
            const at = Date.now();
            if (r.ok) this.#scan(body.toString('utf8'), at);
            res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/plain' });
            res.end(text);
          })
          .catch((err: Error) => {
            res.writeHead(502);
            res.end(err.message);
          });
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${port}`;
  }

  #scan(body: string, at: number): void {
    let i = body.indexOf(this.#needle);
    while (i >= 0) {
      const start = body.lastIndexOf('\n', i) + 1;
      let end = body.indexOf('\n', i);
      if (end < 0) end = body.length;
      const line = body.slice(start, end);
      if (line.startsWith(this.#measurement)) {
        const ts = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (Number.isFinite(ts)) this.latencies.push(at - ts);
      }
      i = body.indexOf(this.#needle, end);
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}
