/**
 * The intake log: QoS 1 messages written to disk before they are acknowledged, so a message the
 * broker no longer holds is never only in memory. A crash (SIGKILL, power cut as the fsync policy
 * allows) loses nothing acknowledged: the next start replays what the log holds past its checkpoint
 * through the pipeline before it connects. The gateway's thread moves the checkpoint once the
 * readings of a message are in the database or the spool (intake-checkpoint.ts), and segments wholly
 * below it are deleted. Delivery is at least once: what was written but not yet checkpointed at a
 * crash is written again (at most the requests in flight).
 *
 * Files in the folder: `seg-<first sequence number>.log` segments and `checkpoint`. A segment is a
 * run of records, one per commit (a turn of the thread's event loop):
 *
 *   offset 0  magic   4 bytes  F5 49 4E 54
 *          4  length  u32 LE   payload bytes
 *          8  count   u32 LE   messages in the payload
 *         12  at      f64 LE   when they were received (epoch ms): a replayed message keeps it
 *         20  crc     u32 LE   CRC-32 (zlib) of bytes 8..20 and the payload
 *         24  payload per message: u16 LE topic bytes, topic (UTF-8), u32 LE payload bytes, payload
 *
 * Sequence numbers count messages from the first segment's name on. A record cut short by a crash
 * ends the segment (it is truncated there); so does a damaged one, whose messages are counted and
 * logged as lost.
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import { type DirLock, lockDir } from '../fs/dir-lock.js';
import type { FsyncPolicy } from '../fs/disk-spool-config.js';

const MAGIC = 0x544e49f5; // F5 49 4E 54 read as u32 LE
const HEADER_BYTES = 24;
const SEGMENT_RE = /^seg-(\d{16})\.log$/;
export const CHECKPOINT_FILE = 'checkpoint';
const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;

export interface IntakeLogConfig {
  dir: string;
  /** As tsdb.spool.fsync: one policy for everything gridgate holds on disk for the database. */
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  segmentBytes?: number;
}

/** One commit read back: its messages, when they were received, and the sequence number after its last. */
export interface IntakeRecord {
  messages: { topic: string; payload: Buffer }[];
  at: number;
  end: number;
}

interface Segment {
  first: number;
  path: string;
}

const segmentName = (first: number) => `seg-${String(first).padStart(16, '0')}.log`;

export class IntakeLog {
  readonly #cfg: IntakeLogConfig;
  readonly #log: Logger;
  readonly #lock: DirLock;
  readonly #segments: Segment[];
  readonly #checkpoint: number;
  #fd: number;
  #segmentSize = 0;
  /** Sequence number of the next message appended, and of the next committed. */
  #next: number;
  #committed: number;
  #buf = Buffer.allocUnsafe(64 * 1024);
  #off = HEADER_BYTES;
  #lastSync = Date.now();
  #closed = false;
  /** An asynchronous sync is in flight: the segment is not closed under it. */
  #syncing = false;
  #rotateDue = false;

  /** Takes the folder (throws GG_ERR_CONFLICT if another gateway holds it), finds where the log ends. */
  constructor(cfg: IntakeLogConfig, logger: Logger) {
    this.#cfg = cfg;
    this.#log = logger;
    mkdirSync(cfg.dir, { recursive: true, mode: 0o700 });
    this.#lock = lockDir(cfg.dir, { what: 'mqtt intake log', setting: 'tsdb.spool.dir', logger });
    try {
      this.#checkpoint = readCheckpoint(cfg.dir);
      const all = readdirSync(cfg.dir)
        .map((name) => ({ name, m: SEGMENT_RE.exec(name) }))
        .filter((e) => e.m)
        .map((e) => ({ first: Number(e.m?.[1]), path: join(cfg.dir, e.name) }))
        .sort((a, b) => a.first - b.first);
      // A segment is wholly settled when the next one starts at or below the checkpoint.
      while (all.length > 1 && (all[1] as Segment).first <= this.#checkpoint)
        unlinkSync((all.shift() as Segment).path);
      this.#segments = all;
      const last = all.at(-1);
      // Never below the checkpoint (segments removed by hand): a number below it would not be replayed.
      this.#next = Math.max(last ? this.#endOf(last) : 0, this.#checkpoint);
      this.#committed = this.#next;
      this.#fd = this.#openSegment();
    } catch (err) {
      this.#lock.release();
      throw err;
    }
  }

  get next(): number {
    return this.#next;
  }

  get committed(): number {
    return this.#committed;
  }

  /** Messages past the checkpoint, oldest first, one segment in memory at a time. */
  *unsettled(): Generator<IntakeRecord> {
    for (const seg of this.#segments.slice(0, -1)) {
      let seq = seg.first;
      const bytes = readFileSync(seg.path);
      const read = readSegment(bytes);
      if (read.validBytes < bytes.length)
        this.#log.error(
          { file: seg.path, bytes: bytes.length - read.validBytes },
          'intake log segment damaged; the messages after the damage are lost',
        );
      for (const r of read.records) {
        seq += r.messages.length;
        if (seq > this.#checkpoint)
          yield {
            messages: r.messages.slice(Math.max(0, r.messages.length - (seq - this.#checkpoint))),
            at: r.at,
            end: seq,
          };
      }
    }
  }

  append(topic: string, payload: Uint8Array): void {
    const need = 6 + topic.length * 3 + payload.length;
    if (this.#off + need > this.#buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#off + need));
      this.#buf.copy(grown, 0, 0, this.#off);
      this.#buf = grown;
    }
    const buf = this.#buf;
    const topicBytes = buf.write(topic, this.#off + 2, 'utf8');
    buf.writeUInt16LE(topicBytes, this.#off);
    let off = this.#off + 2 + topicBytes;
    buf.writeUInt32LE(payload.length, off);
    buf.set(payload, off + 4);
    off += 4 + payload.length;
    this.#off = off;
    this.#next++;
  }

  /** With fsync `always` the caller syncs each commit (sync()); otherwise commit() syncs as the policy says. */
  get syncEach(): boolean {
    return this.#cfg.fsync === 'always';
  }

  /**
   * Writes what was appended as one record (synced when `interval` says so; with `always` the
   * caller calls sync()). Throws what the disk throws.
   */
  commit(): void {
    const count = this.#next - this.#committed;
    if (count === 0 || this.#closed) return;
    const buf = this.#buf;
    const end = this.#off;
    buf.writeUInt32LE(MAGIC, 0);
    buf.writeUInt32LE(end - HEADER_BYTES, 4);
    buf.writeUInt32LE(count, 8);
    buf.writeDoubleLE(Date.now(), 12);
    buf.writeUInt32LE(crc32(buf.subarray(HEADER_BYTES, end), crc32(buf.subarray(8, 20))), 20);
    this.#off = HEADER_BYTES;
    this.#committed = this.#next;
    writeSync(this.#fd, buf, 0, end);
    this.#segmentSize += end;
    const now = Date.now();
    if (this.#cfg.fsync === 'interval' && now - this.#lastSync >= this.#cfg.fsyncIntervalMs) {
      fdatasyncSync(this.#fd);
      this.#lastSync = now;
    }
    if (this.#segmentSize >= (this.#cfg.segmentBytes ?? DEFAULT_SEGMENT_BYTES)) {
      if (this.#syncing) this.#rotateDue = true;
      else this.#rotate();
    }
  }

  /**
   * Forces everything committed so far to the disk, off this thread (the thread goes on taking
   * messages in meanwhile); one at a time.
   */
  sync(done: (err: Error | null) => void): void {
    this.#syncing = true;
    fdatasync(this.#fd, (err) => {
      this.#syncing = false;
      if (this.#closed) return done(null); // close() synced and closed the file itself
      if (!err && this.#rotateDue) this.#rotate();
      done(err);
    });
  }

  #rotate(): void {
    this.#rotateDue = false;
    if (this.#cfg.fsync !== 'never') fdatasyncSync(this.#fd);
    closeSync(this.#fd);
    this.#fd = this.#openSegment();
  }

  /** Every message below `seq` is durable downstream: segments wholly below it go. */
  settled(seq: number): void {
    const s = this.#segments;
    while (s.length > 1 && (s[1] as Segment).first <= seq) {
      const gone = s.shift() as Segment;
      try {
        unlinkSync(gone.path);
      } catch (err) {
        this.#log.warn({ err, file: gone.path }, 'intake log segment could not be deleted');
      }
    }
  }

  /** Commits what is appended, syncs and closes; what is unsettled stays for the next start. */
  close(): void {
    if (this.#closed) return;
    try {
      this.commit();
      if (this.#cfg.fsync !== 'never') fdatasyncSync(this.#fd);
    } finally {
      this.#closed = true;
      closeSync(this.#fd);
      this.#lock.release();
    }
  }

  #openSegment(): number {
    const path = join(this.#cfg.dir, segmentName(this.#next));
    const last = this.#segments.at(-1);
    if (last?.path !== path) this.#segments.push({ first: this.#next, path });
    const fd = openSync(path, 'a', 0o600);
    this.#segmentSize = 0;
    return fd;
  }

  /** The sequence number after the segment's last whole record; a torn or damaged tail is cut off. */
  #endOf(seg: Segment): number {
    const bytes = readFileSync(seg.path);
    const { records, validBytes, damaged } = readSegment(bytes);
    if (validBytes < bytes.length) {
      const fd = openSync(seg.path, 'r+');
      try {
        ftruncateSync(fd, validBytes);
      } finally {
        closeSync(fd);
      }
      this.#log.warn(
        { file: seg.path, bytes: bytes.length - validBytes, messages: damaged },
        'intake log ended in an incomplete or damaged record (a crash mid-write); cut off',
      );
    }
    return records.reduce((n, r) => n + r.messages.length, seg.first);
  }
}

/** Whole records from the start of a segment, up to the first incomplete or damaged one. */
function readSegment(bytes: Buffer): {
  records: { messages: { topic: string; payload: Buffer }[]; at: number }[];
  validBytes: number;
  damaged: number;
} {
  const records: { messages: { topic: string; payload: Buffer }[]; at: number }[] = [];
  let off = 0;
  while (off + HEADER_BYTES <= bytes.length) {
    const length = bytes.readUInt32LE(off + 4);
    const count = bytes.readUInt32LE(off + 8);
    const end = off + HEADER_BYTES + length;
    const whole =
      bytes.readUInt32LE(off) === MAGIC &&
      end <= bytes.length &&
      bytes.readUInt32LE(off + 20) ===
        crc32(bytes.subarray(off + HEADER_BYTES, end), crc32(bytes.subarray(off + 8, off + 20)));
    if (!whole) return { records, validBytes: off, damaged: end <= bytes.length ? count : 0 };
    const messages: { topic: string; payload: Buffer }[] = [];
    let p = off + HEADER_BYTES;
    for (let i = 0; i < count; i++) {
      const topicBytes = bytes.readUInt16LE(p);
      const topic = bytes.toString('utf8', p + 2, p + 2 + topicBytes);
      p += 2 + topicBytes;
      const n = bytes.readUInt32LE(p);
      messages.push({ topic, payload: bytes.subarray(p + 4, p + 4 + n) });
      p += 4 + n;
    }
    records.push({ messages, at: bytes.readDoubleLE(off + 12) });
    off = end;
  }
  return { records, validBytes: off, damaged: 0 };
}

function readCheckpoint(dir: string): number {
  let b: Buffer;
  try {
    b = readFileSync(join(dir, CHECKPOINT_FILE));
  } catch {
    return 0;
  }
  if (b.length < 12 || b.readUInt32LE(8) !== crc32(b.subarray(0, 8))) return 0;
  return b.readDoubleLE(0);
}
