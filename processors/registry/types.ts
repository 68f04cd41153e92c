import type { DeviceDirectory, Family, InstallState } from '../types.js';
import type { DeviceInput, DeviceRecord } from './device-schema.js';

/**
 * The registry's interfaces, narrowest first. The pipeline needs only `DeviceDirectory.get`
 * (synchronous, served from memory); the HJ 212 listener needs `byHj212Mn`; installers' tools
 * (CLI, HTTP) need the write side. The YAML file registry implements the read side, the Redis
 * registry both; one contract suite (test/registry/contract.ts) runs against each.
 */

export interface DeviceFilter {
  district?: string;
  street?: string;
  community?: string;
  grid?: string;
  family?: Family;
  model?: string;
  state?: InstallState;
}

export interface DeviceReader extends DeviceDirectory {
  get(id: string): DeviceRecord | undefined;
  /** HJ 212-2017 §6.3.2: stations identify themselves by MN. */
  byHj212Mn(mn: string): DeviceRecord | undefined;
  /** Sorted by id. Includes retired devices unless the filter says otherwise. */
  list(filter?: DeviceFilter): DeviceRecord[];
  readonly size: number;
}

/** RFC 7396 JSON merge patch of a device: objects merge key-wise, `null` deletes, arrays replace. */
export type DevicePatch = Record<string, unknown>;

export interface ImportRow {
  /** 1-based line (CSV) or line of the list item (YAML) the row came from, for error reports. */
  line: number;
  input: unknown;
}

export interface RowProblem {
  line: number;
  id?: string;
  /** `path: message`, each with the line it is on (the field's line where the source knows it). */
  problems: { line: number; message: string }[];
}

export interface ImportResult {
  created: number;
  updated: number;
  unchanged: number;
}

export type ChangeAction = 'add' | 'update' | 'retire' | 'import';

export interface DeviceChange {
  action: ChangeAction;
  id: string;
  by: string;
  /** ISO time. */
  at: string;
  before: DeviceRecord | null;
  after: DeviceRecord | null;
}

export interface DeviceRegistry extends DeviceReader {
  add(input: DeviceInput, by: string): Promise<DeviceRecord>;
  update(id: string, patch: DevicePatch, by: string): Promise<DeviceRecord>;
  retire(id: string, by: string): Promise<DeviceRecord>;
  /** Validates every row first; imports nothing if any row is bad (throws with each bad row's line). */
  importRows(rows: readonly ImportRow[], by: string, source?: string): Promise<ImportResult>;
  export(): DeviceRecord[];
  /** Audit log entries, newest first. Secrets redacted. */
  audit(opts?: { id?: string; count?: number }): Promise<DeviceChange[]>;
}
