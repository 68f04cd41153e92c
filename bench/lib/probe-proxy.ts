import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A pass-through HTTP proxy in front of the database that timestamps the database's acceptance of
 * probe lines: when the database answers 2xx to a write whose body holds a line of the probe
 * device, the latency is (now − the line's timestamp). The probe sends its own send time as the
 * device timestamp (an epoch-ms model), so this is publish → point accepted by the database, on one
 * clock, at millisecond resolution, without polling. Requires uncompressed writes (tsdb.gzip off).
 *
 * Every line the gateway writes passes through here, on the host that runs the gateway, so the
 * proxy streams: each chunk goes on as it comes, and only the lines holding the probe's device are
 * decoded. Buffering and decoding every body would take CPU from the gateway under test.
 */
export class ProbeProxy {
  readonly latencies: number[] = [];
  #server: Server | undefined;
  readonly #agent = new Agent({ keepAlive: true });
  readonly #target: URL;
  readonly #needle: Buffer;
  readonly #measurement: string;

  constructor(target: string, probeDeviceId: string, measurement: string) {
    this.#target = new URL(target);
    this.#needle = Buffer.from(`device=${probeDeviceId}`);
    this.#measurement = `${measurement},`;
  }

  /** Listens on `port` (0: any free one); resolves to the proxy's URL. */
  async listen(port: number): Promise<string> {
    const server = createServer((req, res) => {
      const stamps: number[] = [];
      const lines = new LineFinder(this.#needle, (line) => {
        if (!line.startsWith(this.#measurement)) return;
        const ts = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (Number.isFinite(ts)) stamps.push(ts);
      });
      const headers: Record<string, string> = {
        'content-type': req.headers['content-type'] ?? 'text/plain',
      };
      if (req.headers['content-length']) headers['content-length'] = req.headers['content-length'];
      const up = request(
        {
          host: this.#target.hostname,
          port: this.#target.port,
          method: req.method,
          path: req.url ?? '/',
          headers,
          agent: this.#agent,
        },
        (answer) => {
          const at = Date.now();
          const status = answer.statusCode ?? 502;
          if (status >= 200 && status < 300) for (const ts of stamps) this.latencies.push(at - ts);
          res.writeHead(status, { 'content-type': answer.headers['content-type'] ?? 'text/plain' });
          answer.pipe(res);
        },
      );
      up.on('error', (err) => {
        if (res.headersSent) return res.destroy();
        res.writeHead(502);
        res.end(err.message);
      });
      req.on('data', (chunk: Buffer) => lines.push(chunk));
      req.on('end', () => lines.end());
      req.on('error', () => up.destroy());
      req.pipe(up);
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#agent.destroy();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}

/**
 * The lines of a streamed body that hold `needle`, each decoded once, whole, whatever chunk
 * boundaries cut it; every other line is only searched, never copied or decoded.
 */
export class LineFinder {
  /** The unterminated line at the end of what came so far. */
  #tail: Buffer | undefined;

  constructor(
    private readonly needle: Buffer,
    private readonly onLine: (line: string) => void,
  ) {}

  push(chunk: Buffer): void {
    const first = chunk.indexOf(10);
    if (first < 0) {
      this.#tail = this.#tail ? Buffer.concat([this.#tail, chunk]) : chunk;
      return;
    }
    this.#line(this.#tail ? Buffer.concat([this.#tail, chunk.subarray(0, first)]) : chunk.subarray(0, first));
    const last = chunk.lastIndexOf(10);
    let at = chunk.indexOf(this.needle, first + 1);
    while (at >= 0 && at < last) {
      const start = chunk.lastIndexOf(10, at) + 1;
      const end = chunk.indexOf(10, at);
      this.onLine(chunk.toString('utf8', start, end));
      at = chunk.indexOf(this.needle, end + 1);
    }
    this.#tail = last + 1 < chunk.length ? chunk.subarray(last + 1) : undefined;
  }

  end(): void {
    if (this.#tail) this.#line(this.#tail);
    this.#tail = undefined;
  }

  #line(line: Buffer): void {
    if (line.includes(this.needle)) this.onLine(line.toString('utf8'));
  }
}
