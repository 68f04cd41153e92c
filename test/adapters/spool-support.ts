import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiskSpoolConfig } from '../../adapters/fs/disk-spool.js';

/** A disk spool in a fresh folder of its own under the system's temp dir (never the checkout's data/). */
export function testSpool(extra: Partial<DiskSpoolConfig> = {}): DiskSpoolConfig {
  return {
    dir: join(mkdtempSync(join(tmpdir(), 'gg-spool-')), 'spool'),
    maxMB: 16,
    fsync: 'always',
    fsyncIntervalMs: 1000,
    ...extra,
  };
}
