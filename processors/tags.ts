import type { Device } from './types.js';

/** Tags on every point: the device, its model and family, and its location path. */
export function baseTags(device: Device): Record<string, string> {
  return {
    device: device.id,
    model: device.model,
    family: device.family,
    district: device.location.district,
    street: device.location.street,
    community: device.location.community,
    grid: device.location.grid,
  };
}
