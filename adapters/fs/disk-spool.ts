import { join } from 'node:path';
import type { Logger } from 'pino';
import { type DirLock, lockDir } from './dir-lock.js';
import type { DiskSpoolConfig } from './disk-spool-config.js';
import {
  encodeHeader,
  HEADER_BYTES,
  openPrivate,
  privateDir,
  readCursor,
  SegmentReader,
  writeAll,
  writeCursor,
} from './disk-spool-format.js';
import { listSegments, type Segment, scanSegment, segmentPath } from './disk-spool-segments.js';
import { type File, rm } from './file.js';
import type { LineBatch, SpoolStats } from './spool.js';

export type { DiskSpoolConfig, FsyncPolicy } from './disk-spool-config.js';

export interface DiskSpoolOptions extends DiskSpoolConfig {
  logger: Logger;
  /** What the folder holds, for logs and its lock: 'tsdb spool', 'alert outbox'. */
  what: string;
  /** The setting that names the folder, for the message when another process holds it. */
  setting: string;
}

const CURSOR_FILE = 'cursor';

/**
 * A spool on disk, for the tsdb writer's lines and the alert outbox's events: append-only segment
 * files `seg-NNNNNNNNNNNN.spool` in one folder, each a run of length- and CRC-checked records
 * (disk-spool-format.ts), one per batch of lines. A `cursor` file records how far the oldest
 * segment has been sent; a segment sent to its end is deleted. At open every segment is read
 * through once (streamed, a chunk at a time) to count what it holds: an incomplete last record (a
 * crash mid-write) is cut off and logged, a damaged record in the middle is skipped and counted.
 * Past maxMB the oldest segment is deleted, its lines counted as dropped and logged. Memory holds
 * the segment list and one batch, whatever the spool's size.
 *
 * Delivery is at least once: a batch sent just before a crash, whose removal had not reached the
 * cursor file, is sent again on the next start. Every file call goes through file.ts: the tsdb
 * spool runs on the writer thread, which may be terminated.
 */
export class DiskSpool {
  /** Resolves once what an earlier run left is found and counted. */
  readonly ready: Promise<void>;
  private readonly log: Logger;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private segments: Segment[] = [];
  private nextSeq = 1;
  /** The segment being appended to, if open. */
  private active: { seg: Segment; fh: File } | undefined;
  /** The drain's reader, on the oldest segment. */
  private reader: { seq: number; fh: File; r: SegmentReader } | undefined;
  private cursorFile: File | undefined;
  /** Read position in the oldest segment. */
  private cursor = { seq: 0, offset: 0 };
  private dirty = false;
  private draining = false;
  private closed = false;
  private syncTimer: NodeJS.Timeout | undefined;
  /** Every file operation runs in this order, one at a time. */
  private tail: Promise<unknown> = Promise.resolve();
  private readonly counters = { droppedLines: 0, corruptRecords: 0, tornRecords: 0 };
  /** The folder's lock, held from open to close. */
  private lock: DirLock | undefined;
  /** Why open() failed, for health. */
  private openError: string | undefined;

  constructor(private readonly opts: DiskSpoolOptions) {
    this.log = opts.logger.child({ component: opts.what.replace(/ /g, '-') });
    this.maxBytes = Math.max(1, Math.floor(opts.maxMB * 1024 * 1024));
    this.segmentBytes =
      opts.segmentBytes ?? Math.min(64 * 1024 * 1024, Math.max(64 * 1024, Math.floor(this.maxBytes / 16)));
    this.ready = this.serial(() => this.open());
    // push() and drain() report it; stats carry it to /healthz.
    this.ready.catch((err: unknown) => {
      this.openError = err instanceof Error ? err.message : String(err);
    });
  }

  /** Lines held, waiting to be sent. */
  get lines(): number {
    return this.segments.reduce((n, s) => n + s.lines, 0);
  }

  get stats(): Readonly<SpoolStats> {
    let lines = 0;
    let records = 0;
    let bytes = 0;
    for (const s of this.segments) {
      lines += s.lines;
      records += s.records;
      bytes += s.size;
    }
    return {
      lines,
      records,
      bytes,
      oldestAt: this.segments.find((s) => s.records > 0)?.firstAt,
      ...this.counters,
      openError: this.openError,
    };
  }

  /** Resolves once the batch is written as the fsync policy says (failing: the batch is not held). */
  push(batch: LineBatch): Promise<void> {
    return this.serial(() => this.append(batch));
  }

  /**
   * Yields held batches, oldest first. A batch is removed only when the consumer asks for the next
   * one: a consumer that stops iterating (the database failed again) leaves the batch it was given
   * at the head, to be yielded first next time. One drain at a time.
   */
  async *drain(): AsyncIterable<LineBatch> {
    await this.ready;
    if (this.draining) return;
    this.draining = true;
    try {
      for (;;) {
        const head = await this.serial(() => this.readHead());
        if (!head) return;
        yield { body: head.body, lines: head.lines };
        // Asked for the next batch: this one is sent.
        await this.serial(() => this.consume(head));
      }
    } finally {
      this.draining = false;
    }
  }

  /** Waits for pending pushes, syncs and closes the files; what is held stays for the next start. */
  close(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return;
      this.closed = true;
      clearInterval(this.syncTimer);
      try {
        await this.closeActive();
        await this.closeReader();
        if (this.cursorFile) {
          if (this.opts.fsync !== 'never') await this.cursorFile.datasync();
          await this.cursorFile.close();
          this.cursorFile = undefined;
        }
      } finally {
        this.releaseLock();
      }
      const held = this.stats;
      if (held.lines > 0)
        this.log.info(
          { lines: held.lines, bytes: held.bytes },
          `${this.opts.what} closed; what it holds waits for the next start`,
        );
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async open(): Promise<void> {
    const { dir } = this.opts;
    await privateDir(dir);
    // Before anything is read: a second writer would replay and append the same segments.
    this.lock = lockDir(dir, { what: this.opts.what, setting: this.opts.setting, logger: this.log });
    try {
      await this.load();
    } catch (err) {
      await this.cursorFile?.close().catch(() => undefined);
      this.cursorFile = undefined;
      this.releaseLock();
      throw err;
    }
  }

  /** Finds and counts what an earlier run left, and starts the sync timer. */
  private async load(): Promise<void> {
    const { dir } = this.opts;
    const seqs = await listSegments(dir);
    this.cursorFile = await openPrivate(join(dir, CURSOR_FILE), 'r+');
    const saved = await readCursor(this.cursorFile);
    for (const seq of seqs) {
      const path = segmentPath(dir, seq);
      if (saved && seq < saved.seq) {
        await rm(path, { force: true }); // sent to its end before the last stop or crash
        continue;
      }
      const start = saved?.seq === seq ? saved.offset : 0;
      try {
        this.segments.push(await scanSegment(seq, path, start, this.log, this.counters));
      } catch (err) {
        // Left in place for a person to look at; the rest of the spool still works.
        this.log.error({ err, segment: path }, 'spool segment unreadable; skipped');
      }
      this.nextSeq = seq + 1;
    }
    // New segments must sort after the cursor's, or the next open would take them as sent.
    if (saved) this.nextSeq = Math.max(this.nextSeq, saved.seq);
    const first = this.segments[0];
    if (first) this.cursor = { seq: first.seq, offset: saved?.seq === first.seq ? saved.offset : 0 };
    await this.enforceBound();
    if (this.opts.fsync === 'interval') {
      this.syncTimer = setInterval(
        () => void this.serial(() => this.sync()).catch(this.syncFailed),
        this.opts.fsyncIntervalMs,
      );
      this.syncTimer.unref();
    }
    const held = this.stats;
    if (held.records > 0)
      this.log.info(
        { lines: held.lines, records: held.records, bytes: held.bytes },
        `${this.opts.what} holds what an earlier run left; it is sent before anything new`,
      );
  }

  private async append(batch: LineBatch): Promise<void> {
    await this.ready;
    if (this.closed) throw new Error('spool is closed');
    const active = this.active ?? (await this.openActive());
    const at = Date.now();
    const header = encodeHeader(batch.body, batch.lines, at);
    const seg = active.seg;
    try {
      await writeAll(active.fh, [header, batch.body], seg.size);
      if (this.opts.fsync === 'always') await active.fh.datasync();
    } catch (err) {
      // Whatever part was written lies past seg.size: never read, cut off at the next open.
      await this.closeActive();
      throw err;
    }
    seg.size += HEADER_BYTES + batch.body.byteLength;
    seg.lines += batch.lines;
    seg.records++;
    seg.firstAt ??= at;
    this.dirty = true;
    if (seg.size >= this.segmentBytes) await this.closeActive();
    await this.enforceBound();
  }

  private async openActive(): Promise<{ seg: Segment; fh: File }> {
    const seq = this.nextSeq++;
    const path = segmentPath(this.opts.dir, seq);
    const fh = await openPrivate(path, 'wx');
    const seg: Segment = { seq, path, size: 0, lines: 0, records: 0, firstAt: undefined, found: false };
    this.segments.push(seg);
    if (this.segments.length === 1) this.cursor = { seq, offset: 0 };
    this.active = { seg, fh };
    return this.active;
  }

  private async closeActive(): Promise<void> {
    const active = this.active;
    if (!active) return;
    this.active = undefined;
    if (this.opts.fsync !== 'never') await active.fh.datasync().catch(this.syncFailed);
    await active.fh.close();
  }

  /** Oldest segments go while the files take more than maxBytes. */
  private async enforceBound(): Promise<void> {
    let bytes = this.segments.reduce((n, s) => n + s.size, 0);
    while (bytes > this.maxBytes && this.segments.length > 0) {
      const oldest = await this.removeOldest();
      bytes -= oldest.size;
      this.counters.droppedLines += oldest.lines;
      this.log.warn(
        { lines: oldest.lines, records: oldest.records, oldestAt: oldest.firstAt, maxMB: this.opts.maxMB },
        `${this.opts.what} full: oldest entries dropped`,
      );
    }
  }

  /** The next batch to send, read from the cursor; undefined when all is sent. */
  private async readHead(): Promise<(LineBatch & { seq: number; end: number }) | undefined> {
    if (this.closed) return undefined;
    for (;;) {
      const seg = this.segments[0];
      if (!seg) return undefined;
      if (this.cursor.seq !== seg.seq) this.cursor = { seq: seg.seq, offset: 0 };
      if (this.reader?.seq !== seg.seq) {
        await this.closeReader();
        const fh = await openPrivate(seg.path, 'r');
        this.reader = { seq: seg.seq, fh, r: new SegmentReader(fh, () => seg.size) };
      }
      const got = await this.reader.r.read(this.cursor.offset);
      if (got.kind === 'record') {
        seg.firstAt = got.record.at;
        // A copy: the reader's buffer is reused by the next read.
        return {
          body: Buffer.from(got.record.payload),
          lines: got.record.lines,
          seq: seg.seq,
          end: got.record.end,
        };
      }
      if (got.kind === 'corrupt') {
        // Damage in a segment found at open was counted by scanSegment(); in this run's own, count it now.
        if (!seg.found) this.counters.corruptRecords++;
        this.cursor.offset = got.next;
        continue;
      }
      // End of the segment (a torn tail was cut off at open, or lies past size): retired. Every
      // record appended is readable by now (appends and reads take turns), so records it still
      // counts were damaged after this run wrote them, and skipped above: their lines are lost.
      if (seg.records > 0) {
        this.counters.droppedLines += seg.lines;
        this.log.error(
          { lines: seg.lines, records: seg.records },
          `${this.opts.what}: damaged records dropped`,
        );
      }
      await this.removeOldest();
    }
  }

  private async consume(head: { seq: number; end: number; lines: number }): Promise<void> {
    const seg = this.segments[0];
    // Dropped while it was being sent (the spool filled up meanwhile): already counted.
    if (!seg || seg.seq !== head.seq || this.closed) return;
    this.cursor.offset = head.end;
    seg.lines -= head.lines;
    seg.records--;
    if (seg.records === 0) seg.firstAt = undefined;
    if (seg.records === 0 && this.active?.seg !== seg) await this.removeOldest();
    else await this.saveCursor();
  }

  /** The oldest segment (sent to its end, or dropped) is deleted, and the cursor moves to the next. */
  private async removeOldest(): Promise<Segment> {
    const seg = this.segments.shift() as Segment;
    if (this.active?.seg === seg) await this.closeActive();
    if (this.reader?.seq === seg.seq) await this.closeReader();
    this.cursor = { seq: this.segments[0]?.seq ?? this.nextSeq, offset: 0 };
    await this.saveCursor();
    await rm(seg.path, { force: true });
    return seg;
  }

  private async saveCursor(): Promise<void> {
    if (!this.cursorFile) return;
    // The cursor is not synced here: a lost update means a batch sent twice, never one lost.
    await writeCursor(this.cursorFile, this.cursor);
    this.dirty = true;
  }

  private async closeReader(): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    await reader?.fh.close();
  }

  private async sync(): Promise<void> {
    if (!this.dirty || this.closed) return;
    this.dirty = false;
    await this.active?.fh.datasync();
    await this.cursorFile?.datasync();
  }

  private readonly syncFailed = (err: unknown): void => {
    this.log.error({ err }, 'spool fsync failed');
  };

  private releaseLock(): void {
    this.lock?.release();
    this.lock = undefined;
  }
}
