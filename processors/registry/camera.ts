import { type Device, LOCATION_KEYS, type LocationPath } from '../types.js';

/**
 * Cameras in the registry (issue 17): the stream the supervisor pulls, and which cameras' pictures
 * belong with an incident. Pure functions of device records; the gateway hands them the registry.
 */

/** What the camera supervisor needs of a camera. URLs carry no credentials (validation moved them). */
export interface CameraStream {
  id: string;
  url: string;
  subUrl?: string;
  username?: string;
  /** SECRET: for the RTSP handshake only; never log or relay it. */
  password?: string;
  transport: 'tcp' | 'udp';
}

/** The stream to supervise: undefined for a device that is not a camera, or a retired camera. */
export function cameraStream(device: Device): CameraStream | undefined {
  if (device.family !== 'camera' || device.state === 'retired' || !device.rtsp) return undefined;
  const r = device.rtsp;
  return {
    id: device.id,
    url: r.url,
    ...(r.subUrl !== undefined ? { subUrl: r.subUrl } : {}),
    ...(r.username !== undefined ? { username: r.username } : {}),
    ...(r.password !== undefined ? { password: r.password } : {}),
    transport: r.transport,
  };
}

/** Every camera to supervise, sorted by id (what `CameraSupervisor.sync()` takes). */
export function cameraStreams(devices: Iterable<Device>): CameraStream[] {
  const out: CameraStream[] = [];
  for (const d of devices) {
    const s = cameraStream(d);
    if (s) out.push(s);
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function isLiveCamera(d: Device | undefined): d is Device {
  return d !== undefined && d.family === 'camera' && d.state !== 'retired';
}

/**
 * Cameras whose picture belongs with an incident of `device`: the device itself when it is a
 * camera, then its `cameras` binding, then every camera whose `covers` lists it; without repeats.
 * A bound id that is not registered stays in, so the evidence says the camera is unknown rather
 * than silently showing nothing; ids registered as retired cameras or as other devices drop out.
 */
export function camerasFor(device: Device, devices: Iterable<Device>): string[] {
  const byId = new Map<string, Device>();
  const covering: string[] = [];
  for (const d of devices) {
    byId.set(d.id, d);
    if (isLiveCamera(d) && d.covers?.includes(device.id)) covering.push(d.id);
  }
  const out = new Set<string>();
  if (isLiveCamera(device)) out.add(device.id);
  for (const id of device.cameras) {
    const c = byId.get(id);
    if (c === undefined || isLiveCamera(c)) out.add(id);
  }
  for (const id of covering.sort()) out.add(id);
  return [...out];
}

/**
 * Cameras at a location, sorted by id: every level of `location` that is set must match, and a
 * blank level matches anything, so a grid-keyed incident gets the grid's cameras and a
 * community-scoped correlation incident (grid blank) the community's.
 */
export function camerasAt(location: LocationPath, devices: Iterable<Device>): string[] {
  const out: string[] = [];
  for (const d of devices) {
    if (isLiveCamera(d) && sameLocation(location, d.location)) out.push(d.id);
  }
  return out.sort();
}

function sameLocation(want: LocationPath, have: LocationPath): boolean {
  for (const k of LOCATION_KEYS) if (want[k] !== '' && want[k] !== have[k]) return false;
  return true;
}

/**
 * The same answers from one pass over the registry, for callers that ask per incident: cameras by
 * covered device and by grid. Rebuild it when the registry changes (it is cheap: one pass).
 */
export class CameraIndex {
  readonly #devices: ReadonlyMap<string, Device>;
  readonly #coveredBy = new Map<string, string[]>();
  readonly #cameras: Device[] = [];

  constructor(devices: Iterable<Device>) {
    const byId = new Map<string, Device>();
    for (const d of devices) {
      byId.set(d.id, d);
      if (!isLiveCamera(d)) continue;
      this.#cameras.push(d);
      for (const covered of d.covers ?? []) {
        const list = this.#coveredBy.get(covered);
        if (list) list.push(d.id);
        else this.#coveredBy.set(covered, [d.id]);
      }
    }
    for (const list of this.#coveredBy.values()) list.sort();
    this.#devices = byId;
  }

  device(id: string): Device | undefined {
    return this.#devices.get(id);
  }

  /** Cameras whose `covers` lists this device, sorted by id. */
  coveringDevice(deviceId: string): readonly string[] {
    return this.#coveredBy.get(deviceId) ?? [];
  }

  /** Cameras at this location (see camerasAt). */
  coveringLocation(location: LocationPath): readonly string[] {
    return camerasAt(location, this.#cameras);
  }

  /** camerasFor() without the pass over every device. */
  camerasFor(device: Device): string[] {
    const out = new Set<string>();
    if (isLiveCamera(device)) out.add(device.id);
    for (const id of device.cameras) {
      const c = this.#devices.get(id);
      if (c === undefined || isLiveCamera(c)) out.add(id);
    }
    for (const id of this.coveringDevice(device.id)) out.add(id);
    return [...out];
  }
}
