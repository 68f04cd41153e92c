import { createServer, type Server } from 'node:http';

/**
 * What the baselines do per message, and nothing more: JSON.parse the vendor payload, build one
 * line-protocol line from its numbers (nested objects flattened), and POST batches of lines to the
 * database's v2 write API. Same batching as the gateway (5000 lines or 1 s, no gzip), so the
 * database's share of the machine is the same on both sides.
 */
export class BaselineSink {
  received = 0;
  written = 0;
  failed = 0;
  #batch: string[] = [];
  readonly #url: string;
  readonly #timer: NodeJS.Timeout;
  #http: Server | undefined;

  constructor(tsdbUrl: string) {
    this.#url = `${tsdbUrl}/api/v2/write?org=gridgate&bucket=gridgate&precision=ms`;
    this.#timer = setInterval(() => this.flush(), 1000);
  }

  onMessage(topic: string, payload: Buffer): void {
    this.received++;
    let doc: unknown;
    try {
      doc = JSON.parse(payload.toString());
    } catch {
      return;
    }
    const device = topic.split('/')[1] ?? 'unknown';
    let fields = '';
    const add = (prefix: string, o: Record<string, unknown>) => {
      for (const k in o) {
        const v = o[k];
        if (typeof v === 'number') fields += `${fields === '' ? '' : ','}${prefix}${k}=${v}`;
        else if (v !== null && typeof v === 'object') add(`${prefix}${k}_`, v as Record<string, unknown>);
      }
    };
    if (doc !== null && typeof doc === 'object') add('', doc as Record<string, unknown>);
    if (fields === '') return;
    this.#batch.push(`bench_baseline,device=${device} ${fields} ${Date.now()}`);
    if (this.#batch.length >= 5000) this.flush();
  }

  flush(): void {
    if (this.#batch.length === 0) return;
    const lines = this.#batch;
    this.#batch = [];
    fetch(this.#url, { method: 'POST', body: lines.join('\n') })
      .then(async (r) => {
        await r.arrayBuffer();
        if (r.ok) this.written += lines.length;
        else this.failed += lines.length;
      })
      .catch(() => {
        this.failed += lines.length;
      });
  }

  /** GET /metrics with the two counters, named like the gateway's. */
  async serve(port: number): Promise<void> {
    this.#http = createServer((_req, res) => {
      res.end(
        `gridgate_messages_received_total ${this.received}\ngridgate_tsdb_lines_written_total ${this.written}\nbench_lines_failed_total ${this.failed}\n`,
      );
    });
    await new Promise<void>((resolve) => this.#http?.listen(port, '127.0.0.1', resolve));
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
    this.#http?.close();
  }
}

/** `--name value` pairs from argv. */
export function argMap(argv: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a.startsWith('--')) m.set(a.slice(2), argv[i + 1] ?? '');
  }
  return m;
}
