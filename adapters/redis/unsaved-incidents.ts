import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Incident } from '../../processors/rules/incident.js';
import type { IncidentChanges } from '../../processors/rules/store.js';
import type { WindowSnapshot } from '../../processors/rules/windows.js';

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Changes by key, the latest winning; null = removed. */
interface Pending {
  incidents: Record<string, Incident | null>;
  lastSeen: Record<string, number>;
  windows: Record<string, Record<string, WindowSnapshot> | null>;
}

/**
 * Incident state changes Redis did not take (unreachable), kept in one local file until it does.
 * The alert events of those changes still go out (to the dispatcher's disk outbox, while Redis is
 * away), so without this a stop or crash during the outage would restart from the state before
 * it: an incident whose resolve was sent still open, one whose firing was sent unknown and fired
 * again. Written whole (temporary file, fsync, rename), so a crash leaves the old file or the new.
 * Every save the engine makes carries all changes not yet saved, so once Redis takes one, the file
 * holds nothing Redis lacks and is removed.
 */
export class UnsavedIncidents {
  private pending: Pending | undefined;
  /** Whether the file may exist: an earlier run's, until the first clear(); then only after keep(). */
  private onDisk = true;

  constructor(
    private readonly file: string,
    private readonly logger?: Logger,
  ) {}

  /** Add the changes of a save Redis refused, and write the file (a disk that fails is logged). */
  keep(c: IncidentChanges): void {
    this.pending ??= this.read() ?? { incidents: {}, lastSeen: {}, windows: {} };
    const p = this.pending;
    for (const i of c.put) p.incidents[i.key] = i;
    for (const k of c.remove) p.incidents[k] = null;
    for (const [d, at] of c.lastSeen) p.lastSeen[d] = at;
    for (const [d, w] of c.windows?.put ?? []) p.windows[d] = w;
    for (const d of c.windows?.remove ?? []) p.windows[d] = null;
    try {
      mkdirSync(dirname(this.file), { recursive: true, mode: DIR_MODE });
      const tmp = `${this.file}.tmp`;
      const fd = openSync(tmp, 'w', FILE_MODE);
      try {
        writeSync(fd, JSON.stringify(p));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      this.onDisk = true;
      renameSync(tmp, this.file);
    } catch (err) {
      this.logger?.error({ err, file: this.file }, 'unsaved incident state could not be written to disk');
    }
  }

  /** Redis has everything the file held. */
  clear(): void {
    this.pending = undefined;
    if (!this.onDisk) return;
    try {
      rmSync(this.file, { force: true });
      this.onDisk = false;
    } catch (err) {
      // Harmless but for a restart reading it: Redis has all of it already.
      this.logger?.warn({ err, file: this.file }, 'unsaved incident state file could not be removed');
    }
  }

  /** What the file holds (an earlier run's, or this run's), as one save; undefined when nothing. */
  changes(): IncidentChanges | undefined {
    const p = this.pending ?? this.read();
    if (!p) return undefined;
    const incidents = Object.entries(p.incidents);
    const windows = Object.entries(p.windows);
    return {
      put: incidents.flatMap(([, i]) => (i ? [i] : [])),
      remove: incidents.flatMap(([k, i]) => (i ? [] : [k])),
      lastSeen: Object.entries(p.lastSeen),
      windows: {
        put: windows.flatMap(([d, w]) => (w ? [[d, w] as [string, Record<string, WindowSnapshot>]] : [])),
        remove: windows.flatMap(([d, w]) => (w ? [] : [d])),
      },
    };
  }

  private read(): Pending | undefined {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return undefined;
    }
    // A file cut short cannot happen (rename); one edited by hand into nonsense is not trusted.
    try {
      return JSON.parse(text) as Pending;
    } catch (err) {
      this.logger?.error(
        { err, file: this.file },
        'unsaved incident state file is not JSON; ignored, the state in Redis is used',
      );
      return undefined;
    }
  }
}
