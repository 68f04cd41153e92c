/**
 * When a spooled batch is forced to the disk (fdatasync):
 * - `always`: before push() resolves, for every batch — a crash or power cut loses nothing pushed.
 * - `interval`: every fsyncIntervalMs — a power cut may lose that much; a process crash loses nothing
 *   (the kernel holds what was written).
 * - `never`: when the kernel decides — a process crash loses nothing, a power cut may lose more.
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';

/** The `tsdb.spool` config section. */
export interface DiskSpoolConfig {
  /** Folder of the segment files (made 0700). */
  dir: string;
  /** Bytes on disk at most, in MiB; past it the oldest segment is dropped. */
  maxMB: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** Size at which a segment is closed and the next begun; default maxMB / 16, 64 kB to 64 MB. */
  segmentBytes?: number;
}
