import { connect, type Socket } from 'node:net';
import type { Logger } from 'pino';
import airModel from '../../processors/devices/air/airsense-ms100-hj212.js';
import type { DeviceModel } from '../../processors/devices/define.js';
import dustModel from '../../processors/devices/dust/sinodust-yc200-hj212.js';
import { Hj212Deframer } from '../../processors/hj212/deframer.js';
import {
  buildCp,
  buildFrame,
  buildSegment,
  type CodeValues,
  FLAG_VERSION_2017,
} from '../../processors/hj212/frame.js';
import { FLAG_ANSWER, parseDataSegment } from '../../processors/hj212/parse.js';
import { CN_DATA_RESPONSE } from '../../processors/hj212/respond.js';
import { formatLocalCompact } from '../../processors/time.js';
import { createRng, type Rng } from '../prng.js';
import { type StationKind, sampleCanonical, toVendorCodes } from './values.js';

/**
 * Simulated HJ 212-2017 stations (现场机): each keeps one TCP connection to the platform, uploads
 * real-time data (CN 2011) every `intervalMs` and minute statistics (CN 2051) every `minuteMs`, with
 * Flag=5 (2017, answer required). A frame not answered by 9014 within `responseTimeoutMs` is resent
 * with the same QN, up to `maxRetries` times, then given up — the station behaviour of
 * HJ 212-2017 应答模式 (超时重发; 3 retries by default).
 */

export interface Hj212StationSpec {
  /** Station id (MN), as registered in the gateway. */
  mn: string;
  password: string;
  kind: StationKind;
}

export interface RunHj212StationsOptions {
  host: string;
  port: number;
  stations: readonly Hj212StationSpec[];
  /** Real-time data interval (the station's RtdInterval). */
  intervalMs: number;
  signal: AbortSignal;
  logger: Logger;
  /** Minute-data interval. Default 60 s. */
  minuteMs?: number;
  /** Wait for 9014 before resending. Default min(5 s, intervalMs). */
  responseTimeoutMs?: number;
  /** Resends before giving a frame up. Default 3. */
  maxRetries?: number;
  seed?: number;
  /** Epoch ms "now" for DataTime and values (a scenario clock); default Date.now. */
  now?: () => number;
}

export interface Hj212SimStats {
  sent: number;
  acked: number;
  resent: number;
  givenUp: number;
  connects: number;
}

const MODELS: Record<StationKind, DeviceModel> = { dust: dustModel, air: airModel };

/** Runs the stations until `signal` aborts; resolves with what they did once every socket is closed. */
export async function runHj212Stations(opts: RunHj212StationsOptions): Promise<Hj212SimStats> {
  const stats: Hj212SimStats = { sent: 0, acked: 0, resent: 0, givenUp: 0, connects: 0 };
  const root = createRng(opts.seed ?? 212);
  const stations = opts.stations.map((s) => new Station(s, opts, stats, root.fork(s.mn)));
  for (const s of stations) s.start();
  if (!opts.signal.aborted) {
    await new Promise<void>((resolve) =>
      opts.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
  }
  await Promise.all(stations.map((s) => s.stop()));
  return stats;
}

interface Pending {
  frame: Buffer;
  retries: number;
  timer: NodeJS.Timeout;
}

class Station {
  readonly #spec: Hj212StationSpec;
  readonly #opts: RunHj212StationsOptions;
  readonly #stats: Hj212SimStats;
  readonly #rng: Rng;
  readonly #log: Logger;
  readonly #model: DeviceModel;
  readonly #now: () => number;
  readonly #pending = new Map<string, Pending>();
  readonly #samples: Map<string, number>[] = [];
  #socket: Socket | undefined;
  #deframer = new Hj212Deframer();
  #timers: NodeJS.Timeout[] = [];
  #reconnect: NodeJS.Timeout | undefined;
  #lastQn = 0;
  #stopped = false;

  constructor(spec: Hj212StationSpec, opts: RunHj212StationsOptions, stats: Hj212SimStats, rng: Rng) {
    this.#spec = spec;
    this.#opts = opts;
    this.#stats = stats;
    this.#rng = rng;
    this.#model = MODELS[spec.kind];
    this.#now = opts.now ?? Date.now;
    this.#log = opts.logger.child({ station: spec.mn, kind: spec.kind });
  }

  start(): void {
    this.#connect();
    this.#timers.push(setInterval(() => this.#sendRealtime(), this.#opts.intervalMs));
    this.#timers.push(setInterval(() => this.#sendMinute(), this.#opts.minuteMs ?? 60_000));
  }

  stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    if (this.#reconnect) clearTimeout(this.#reconnect);
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
    const s = this.#socket;
    if (!s || s.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      s.once('close', () => resolve());
      s.end();
      setTimeout(() => s.destroy(), 1000).unref();
    });
  }

  #connect(): void {
    if (this.#stopped) return;
    this.#deframer = new Hj212Deframer();
    const s = connect({ host: this.#opts.host, port: this.#opts.port, noDelay: true });
    this.#socket = s;
    s.on('connect', () => {
      this.#stats.connects++;
      this.#log.debug('hj212 station connected');
      this.#sendRealtime();
    });
    s.on('data', (chunk: Buffer) => this.#onData(chunk));
    s.on('error', (err) => this.#log.debug({ err }, 'hj212 station socket error'));
    s.on('close', () => {
      if (this.#stopped) return;
      // Reconnect with jitter so a restarted gateway is not hit by every station at once.
      this.#reconnect = setTimeout(() => this.#connect(), this.#rng.int(500, 3000));
    });
  }

  #onData(chunk: Buffer): void {
    for (const item of this.#deframer.push(chunk)) {
      if (item.kind !== 'frame') {
        this.#log.warn({ reason: item.reason, detail: item.detail }, 'hj212 station got a bad frame');
        continue;
      }
      const r = parseDataSegment(item.data.toString('latin1'));
      if (!r.ok || r.packet.cn !== CN_DATA_RESPONSE || r.packet.qn === undefined) continue;
      const p = this.#pending.get(r.packet.qn);
      if (!p) continue;
      clearTimeout(p.timer);
      this.#pending.delete(r.packet.qn);
      this.#stats.acked++;
    }
  }

  /** QN is yyyyMMddHHmmssSSS (数据段结构组成, QN) and must identify the exchange: never repeat one. */
  #nextQn(): string {
    const ms = Math.max(this.#now(), this.#lastQn + 1);
    this.#lastQn = ms;
    return `${formatLocalCompact(ms)}${String(ms % 1000).padStart(3, '0')}`;
  }

  #sendRealtime(): void {
    const s = this.#socket;
    if (!s || s.destroyed || s.connecting) return;
    const now = this.#now();
    const values = toVendorCodes(this.#model, sampleCanonical(this.#spec.kind, now, this.#rng));
    this.#samples.push(values);
    const cp: Record<string, CodeValues> = {};
    for (const [code, v] of values) cp[code] = { Rtd: v, Flag: 'N' };
    this.#send('2011', buildCp(formatLocalCompact(now), cp));
  }

  #sendMinute(): void {
    const samples = this.#samples.splice(0);
    if (samples.length === 0) return;
    const cp: Record<string, CodeValues> = {};
    for (const code of samples[0]?.keys() ?? []) {
      const vs = samples.map((m) => m.get(code)).filter((v): v is number => v !== undefined);
      const avg = vs.reduce((a, b) => a + b, 0) / vs.length;
      cp[code] = {
        Avg: Math.round(avg * 100) / 100,
        Min: Math.min(...vs),
        Max: Math.max(...vs),
        Flag: 'N',
      };
    }
    // DataTime of minute data is the start of the minute it summarises.
    const minuteStart = Math.floor(this.#now() / 60_000) * 60_000;
    this.#send('2051', buildCp(formatLocalCompact(minuteStart), cp));
  }

  #send(cn: string, cp: string): void {
    const s = this.#socket;
    if (!s || s.destroyed || s.connecting) return;
    const qn = this.#nextQn();
    const frame = buildFrame(
      buildSegment({
        qn,
        st: '22', // 空气质量监测
        cn,
        pw: this.#spec.password,
        mn: this.#spec.mn,
        flag: FLAG_VERSION_2017 | FLAG_ANSWER,
        cp,
      }),
    );
    s.write(frame);
    this.#stats.sent++;
    this.#await(qn, frame, 0);
  }

  #await(qn: string, frame: Buffer, retries: number): void {
    const timeout = this.#opts.responseTimeoutMs ?? Math.min(5000, this.#opts.intervalMs);
    const timer = setTimeout(() => this.#timedOut(qn), timeout);
    this.#pending.set(qn, { frame, retries, timer });
  }

  #timedOut(qn: string): void {
    const p = this.#pending.get(qn);
    if (!p) return;
    this.#pending.delete(qn);
    const s = this.#socket;
    if (p.retries >= (this.#opts.maxRetries ?? 3) || !s || s.destroyed) {
      this.#stats.givenUp++;
      this.#log.warn({ qn, retries: p.retries }, 'hj212 station: no 9014 response, frame given up');
      return;
    }
    this.#stats.resent++;
    s.write(p.frame);
    this.#await(qn, p.frame, p.retries + 1);
  }
}
