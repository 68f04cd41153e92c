import type { DeviceRecord } from './device-schema.js';
import type { DeviceFilter } from './types.js';

export function matchesFilter(d: DeviceRecord, f: DeviceFilter): boolean {
  if (f.family !== undefined && d.family !== f.family) return false;
  if (f.model !== undefined && d.model !== f.model) return false;
  if (f.state !== undefined && d.state !== f.state) return false;
  if (f.district !== undefined && d.location.district !== f.district) return false;
  if (f.street !== undefined && d.location.street !== f.street) return false;
  if (f.community !== undefined && d.location.community !== f.community) return false;
  if (f.grid !== undefined && d.location.grid !== f.grid) return false;
  return true;
}

/** Filtered and sorted by id. */
export function filterDevices(all: Iterable<DeviceRecord>, f: DeviceFilter = {}): DeviceRecord[] {
  const out: DeviceRecord[] = [];
  for (const d of all) if (matchesFilter(d, f)) out.push(d);
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
