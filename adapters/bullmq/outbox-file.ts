/**
 * FileOutbox: alert events waiting for Redis, kept on disk so that neither a clean stop nor a
 * crash loses them.
 *
 * - Append-only segment files (`0000000001.seg`, ...) of length + CRC records (outbox-codec.ts),
 *   written with write(2) as they come: once `append` returns, a crash of the process loses
 *   nothing. `sync()` is a group commit (one fdatasync for every append before it) for a machine
 *   that loses power; the dispatcher awaits it before it reports an event held.
 * - A cursor file (outbox-cursor.ts) holds the position of the oldest record not yet in Redis.
 * - A segment wholly delivered is deleted; when everything is delivered every segment goes, so an
 *   idle outbox is an empty folder.
 * - Bounded by `maxBytes`. When an append would pass it, the oldest segment is dropped (its
 *   undelivered events counted and logged): the newest events, which tell what is happening now,
 *   are the ones kept. Segments are a fraction of `maxBytes`, so a drop frees room for a while.
 * - At open, a torn or damaged record ends its segment (outbox-segments.ts) and the outbox goes on.
 * - Files 0600 in a 0700 folder, locked to one process (adapters/fs/dir-lock.ts). Nothing is
 *   created, and the lock is not taken, until there is something to send: at start if segments are
 *   left, else when the first event has to wait.
 */
import {
  chmodSync,
  closeSync,
  existsSync,
  fchmodSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  truncateSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { type DirLock, lockDir } from '../fs/dir-lock.js';
import {
  decodeRecord,
  encodeRecord,
  HEADER_BYTES,
  MAX_RECORD_BYTES,
  type OutboxEntry,
} from './outbox-codec.js';
import { OutboxCursorFile } from './outbox-cursor.js';
import {
  FILE_MODE,
  listSegmentNumbers,
  readRecordAt,
  recoverSegment,
  type Segment,
  segmentPath,
  syncDir,
} from './outbox-segments.js';
import { GroupSync } from './outbox-sync.js';

export type { OutboxEntry } from './outbox-codec.js';

const DIR_MODE = 0o700;

export interface FileOutboxOptions {
  dir: string;
  maxBytes: number;
  logger: Logger;
  /** Bytes after which a new segment is started (default: a fraction of maxBytes). */
  segmentBytes?: number;
}

export interface OutboxStats {
  /** Events waiting. */
  depth: number;
  /** Bytes on disk. */
  bytes: number;
  /** When the oldest waiting event entered the outbox (ms since the epoch). */
  oldestAt: number | undefined;
  /** Events dropped because the outbox was full, or unreadable at open. */
  dropped: number;
}

export class FileOutbox {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly log: Logger;
  private segments: Segment[] = [];
  /** In segments[0]: the byte offset of the oldest undelivered record, and how many came before it. */
  private cursor = { off: 0, done: 0 };
  private nextSegNo = 1;
  private appendFd: number | undefined;
  private readFd: { no: number; fd: number } | undefined;
  private readonly cursorFile: OutboxCursorFile;
  private head: { entry: OutboxEntry; end: number } | undefined;
  /** Held while the folder is open: from the first event that waits (or start, if some do) to close. */
  private lock: DirLock | undefined;
  private closed = false;
  private dropped = 0;
  private readonly groupSync = new GroupSync(() => this.appendFd);

  constructor(opts: FileOutboxOptions) {
    this.dir = resolve(opts.dir);
    this.maxBytes = opts.maxBytes;
    this.segmentBytes =
      opts.segmentBytes ?? Math.min(8 * 1024 * 1024, Math.max(4096, Math.floor(opts.maxBytes / 8)));
    this.log = opts.logger.child({ component: 'alert-outbox' });
    this.cursorFile = new OutboxCursorFile(this.log);
    // What an earlier run left is read now, so it is sent before anything new. An empty folder is
    // left alone until an event has to wait: the lock is taken then.
    if (existsSync(this.dir) && listSegmentNumbers(this.dir).length > 0) this.open();
  }

  get depth(): number {
    let n = 0;
    for (const s of this.segments) n += s.records;
    return n - this.cursor.done;
  }

  /** Bytes on disk. */
  private get bytes(): number {
    let n = 0;
    for (const s of this.segments) n += s.bytes;
    return n;
  }

  stats(): OutboxStats {
    return { depth: this.depth, bytes: this.bytes, oldestAt: this.peek()?.at, dropped: this.dropped };
  }

  /** Write the entries at the end. Throws on an I/O error (disk full...): the caller keeps them. */
  append(entries: readonly OutboxEntry[]): void {
    if (this.closed) throw new Error(`alert outbox ${this.dir} is closed`);
    this.open();
    for (const e of entries) {
      const rec = encodeRecord(e);
      if (rec.length > this.maxBytes || rec.length - HEADER_BYTES > MAX_RECORD_BYTES) {
        this.dropped++;
        this.log.error(
          { eventId: e.event.id, incidentId: e.event.incidentId, bytes: rec.length, dropped: this.dropped },
          'alert event larger than the whole outbox (dispatch.outbox.maxMB), dropped',
        );
        continue;
      }
      while (this.segments.length > 0 && this.bytes + rec.length > this.maxBytes) this.dropSegment('full');
      const seg = this.writable(rec.length);
      try {
        writeSync(this.appendFd as number, rec);
      } catch (err) {
        // A short write would leave a torn record in front of the next one: cut it off.
        try {
          truncateSync(seg.path, seg.bytes);
        } catch {}
        throw err;
      }
      seg.bytes += rec.length;
      seg.records++;
    }
  }

  /** Resolves once everything appended so far is on the disk (one fdatasync serves many appends). */
  sync(): Promise<void> {
    return this.groupSync.sync();
  }

  /** The oldest undelivered entry, or undefined when none waits. */
  peek(): OutboxEntry | undefined {
    if (this.head) return this.head.entry;
    if (this.closed) return undefined;
    // Delivered to its end before a crash, or left empty by one right after it was started.
    while (this.segments.length > 0 && this.cursor.done >= (this.segments[0] as Segment).records) {
      this.nextSegment();
    }
    const seg = this.segments[0];
    if (!seg) return undefined;
    const buf = this.readAt(seg, this.cursor.off);
    const d = decodeRecord(buf, 0);
    if (!d.ok) {
      // Written by this process or checked at open: only outside damage gets here.
      this.log.error(
        { segment: seg.path, offset: this.cursor.off },
        'alert outbox record unreadable, segment dropped',
      );
      this.dropSegment('unreadable');
      return this.peek();
    }
    this.head = { entry: d.entry, end: this.cursor.off + d.bytes };
    return d.entry;
  }

  /** `delivered` (what `peek` returned) is in Redis: move past it, unless it was dropped meanwhile. */
  shift(delivered: OutboxEntry): void {
    if (this.head?.entry !== delivered) return;
    const seg = this.segments[0] as Segment;
    this.cursor = { off: this.head.end, done: this.cursor.done + 1 };
    this.head = undefined;
    if (this.cursor.done < seg.records) this.cursorFile.write(seg.no, this.cursor.off);
    else this.nextSegment();
  }

  /** Sync and close the files and release the folder; everything waiting stays for the next open. */
  close(): void {
    this.closed = true;
    this.head = undefined;
    if (!this.lock) return;
    if (this.appendFd !== undefined) {
      try {
        fdatasyncSync(this.appendFd);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'alert outbox could not be synced at close');
      }
    }
    this.closeFds();
    this.cursorFile.close();
    this.lock.release();
    this.lock = undefined;
    this.segments = [];
    this.cursor = { off: 0, done: 0 };
  }

  private open(): void {
    if (this.lock) return;
    mkdirSync(this.dir, { recursive: true, mode: DIR_MODE });
    chmodSync(this.dir, DIR_MODE);
    this.lock = lockDir(this.dir, { what: 'alert outbox', setting: 'dispatch.outbox.dir', logger: this.log });
    try {
      this.scan();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private scan(): void {
    const saved = this.cursorFile.open(this.dir);
    for (const no of listSegmentNumbers(this.dir)) {
      const path = segmentPath(this.dir, no);
      // Delivered before the last stop; only their deletion was cut short.
      if (saved && no < saved.seg) {
        unlinkSync(path);
        continue;
      }
      const atCursor = saved?.seg === no && this.segments.length === 0;
      const r = recoverSegment(path, this.log, atCursor ? saved.off : undefined);
      this.segments.push({ no, path, bytes: r.bytes, records: r.records });
      if (atCursor) this.cursor = { off: r.doneOff, done: r.done };
      this.nextSegNo = no + 1;
    }
    if (saved) this.nextSegNo = Math.max(this.nextSegNo, saved.seg);
    // Removes what was wholly delivered; nothing is left when everything was.
    const oldest = this.peek();
    if (!oldest) return;
    this.log.warn(
      { depth: this.depth, segments: this.segments.length, oldestAt: new Date(oldest.at).toISOString() },
      'alert outbox holds events from before the last stop; sending them to Redis before anything new',
    );
  }

  private dropSegment(why: 'full' | 'unreadable'): void {
    const seg = this.segments[0] as Segment;
    const lost = seg.records - this.cursor.done;
    this.dropped += lost;
    this.log.error(
      { lost, droppedTotal: this.dropped, maxBytes: this.maxBytes, why },
      why === 'full'
        ? 'alert outbox full (dispatch.outbox.maxMB): oldest events dropped to make room'
        : 'alert outbox segment unreadable: its events are dropped',
    );
    this.nextSegment();
  }

  /**
   * The first segment is done with (delivered or dropped): remove it, and start at the next, or
   * at the segment the next append starts.
   */
  private nextSegment(): void {
    const seg = this.segments.shift() as Segment;
    if (this.segments.length === 0) this.closeFds();
    else if (this.readFd?.no === seg.no) {
      closeSync(this.readFd.fd);
      this.readFd = undefined;
    }
    this.head = undefined;
    this.cursor = { off: 0, done: 0 };
    try {
      unlinkSync(seg.path);
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message, segment: seg.path },
        'delivered outbox segment not removed',
      );
    }
    this.cursorFile.write(this.segments[0]?.no ?? this.nextSegNo, 0);
  }

  /** The segment to append `n` bytes to, starting a new one when the last is full. */
  private writable(n: number): Segment {
    let seg = this.segments.at(-1);
    if (!seg || (seg.records > 0 && seg.bytes + n > this.segmentBytes)) {
      if (this.appendFd !== undefined) {
        fdatasyncSync(this.appendFd);
        closeSync(this.appendFd);
        this.appendFd = undefined;
      }
      seg = { no: this.nextSegNo++, path: '', bytes: 0, records: 0 };
      seg.path = segmentPath(this.dir, seg.no);
      this.segments.push(seg);
      this.appendFd = openSync(seg.path, 'w', FILE_MODE);
      fchmodSync(this.appendFd, FILE_MODE);
      // The new name must survive a power loss too, not only the bytes written under it.
      syncDir(this.dir);
      if (this.segments.length === 1) this.cursorFile.write(seg.no, 0);
    } else if (this.appendFd === undefined) {
      this.appendFd = openSync(seg.path, 'a', FILE_MODE);
      fchmodSync(this.appendFd, FILE_MODE);
    }
    return seg;
  }

  private readAt(seg: Segment, off: number): Buffer {
    if (this.readFd?.no !== seg.no) {
      if (this.readFd) closeSync(this.readFd.fd);
      this.readFd = { no: seg.no, fd: openSync(seg.path, 'r') };
    }
    return readRecordAt(this.readFd.fd, seg.bytes, off);
  }

  private closeFds(): void {
    if (this.appendFd !== undefined) closeSync(this.appendFd);
    if (this.readFd) closeSync(this.readFd.fd);
    this.appendFd = undefined;
    this.readFd = undefined;
  }
}
