import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { readdir } from '../fs/file.js';
import { LogThrottle } from './auth-failures.js';

/**
 * Keeps the embedded broker from running the process out of file descriptors. Every MQTT
 * connection holds one, and so does everything else the gateway needs to keep working (Redis and
 * the time-series database, HJ 212 and HTTP sockets, ffmpeg pipes, log files): a broker that
 * accepted until accept() failed with EMFILE would leave the rest of the gateway unable to open
 * anything. So connections past `limit - reserve` are closed on accept, with one log line a minute
 * that says how many are open, the limit, and how to raise it.
 *
 * The count is the broker's own open sockets (exact, free to read) plus every other descriptor as
 * last sampled from /proc/self/fd (a directory read, off the event loop, every `sampleMs`).
 *
 * Should the process reach the limit anyway (descriptors opened elsewhere since the last sample),
 * accept() fails with EMFILE. That never crashes: libuv accepts the connection on a spare
 * descriptor it keeps for this and closes it at once, and tells nobody. So the sampler reports it:
 * a sample at the limit, or one that cannot even open /proc/self/fd, logs the same line.
 */
export interface FdBudgetOptions {
  /** Descriptors left for everything but MQTT connections. Default 64. */
  reserve?: number;
  /** How often the other descriptors are counted. Default 5 s. */
  sampleMs?: number;
  logger: Logger;
  /** Called per refused (or, at EMFILE, dropped) connection seen. */
  onRefuse(): void;
}

/** At most one log line per interval. */
const LOG_INTERVAL_MS = 60_000;

const RAISE_HINT =
  "raise the open-file limit: 'ulimit -n 65536' in the shell that starts gridgate, LimitNOFILE= in its systemd unit, or docker run --ulimit nofile=65536:65536; past what one process holds, use an external MQTT broker cluster (mqtt.url)";

export class FdBudget {
  /** The soft RLIMIT_NOFILE (undefined where /proc is not there: no check). */
  readonly limit = readFdLimit();
  readonly #reserve: number;
  /** Descriptors other than the broker's sockets at the last sample. */
  #others = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #logThrottle = new LogThrottle(LOG_INTERVAL_MS);
  /** Connections closed because the process was at its budget (on accept, or EMFILE from accept). */
  #refused = 0;

  constructor(private readonly opts: FdBudgetOptions) {
    this.#reserve = opts.reserve ?? 64;
  }

  /** Starts sampling; `open` tells how many of the descriptors are the broker's own sockets. */
  async start(open: () => number): Promise<void> {
    const limit = this.limit;
    if (limit === undefined || this.#timer) return;
    const sample = async () => {
      const total = await countOpenFds();
      if (total === 'exhausted' || (total !== undefined && total >= limit)) this.exhausted(open());
      if (typeof total === 'number') this.#others = Math.max(0, total - open());
    };
    await sample();
    this.#timer = setInterval(() => void sample(), this.opts.sampleMs ?? 5_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Whether one more connection fits, given `open` broker sockets (the new one counted in). */
  admit(open: number): boolean {
    if (this.limit === undefined) return true;
    if (this.#others + open <= this.limit - this.#reserve) return true;
    this.#refuse(this.#others + open, 'reserve');
    return false;
  }

  /** The process is at its limit (EMFILE/ENFILE from accept(), or seen by the sampler); report it. */
  exhausted(open: number): void {
    // The process is at its limit whatever the last sample said.
    this.#refuse(Math.max(this.#others + open, this.limit ?? 0), 'emfile');
  }

  #refuse(inUse: number, cause: 'reserve' | 'emfile'): void {
    this.#refused++;
    this.opts.onRefuse();
    const suppressed = this.#logThrottle.admit(['fd'], Date.now());
    if (suppressed === undefined) return;
    this.opts.logger.warn(
      {
        openFiles: inUse,
        limit: this.limit,
        reserve: this.#reserve,
        refused: this.#refused,
        cause,
        suppressed,
      },
      `mqtt connection refused: ${inUse} of the process's ${this.limit ?? '?'} file descriptors are open; ${RAISE_HINT}`,
    );
  }
}

/** The soft "Max open files" of this process, or undefined where /proc is not there. */
function readFdLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    const n = Number(soft);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

async function countOpenFds(): Promise<number | 'exhausted' | undefined> {
  try {
    return (await readdir('/proc/self/fd')).length;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? 'exhausted' : undefined;
  }
}
