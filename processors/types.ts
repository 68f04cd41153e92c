/**
 * The narrow, typed contract between adapters and processors.
 * Adapters turn wire traffic into InboundMessage; processors turn those into Readings;
 * sinks (time series, rules, capture) consume Readings. Processors never import an adapter.
 */

/**
 * Families whose devices send their own readings (MQTT, HJ 212). Cameras are not among them: the
 * gateway's RTSP supervisor measures a camera's stream and hands the pipeline its readings, so MQTT
 * simulators and fleets draw from this list, not from FAMILIES.
 */
export const SENSOR_FAMILIES = ['flood', 'dust', 'air', 'access'] as const;
export const FAMILIES = [...SENSOR_FAMILIES, 'camera'] as const;
/** Families whose devices send their own readings (over MQTT or HJ 212); cameras are measured by the gateway. */
export type SensorFamily = (typeof SENSOR_FAMILIES)[number];
export type Family = (typeof FAMILIES)[number];

/** The "one centre, four platforms" location path: district (区县) / street (街道乡镇) / community (社区) / grid (网格). */
export interface LocationPath {
  district: string;
  street: string;
  community: string;
  grid: string;
}
export const LOCATION_KEYS = ['district', 'street', 'community', 'grid'] as const;

export const INSTALL_STATES = ['commissioning', 'active', 'maintenance', 'retired'] as const;
export type InstallState = (typeof INSTALL_STATES)[number];

export type AttrValue = string | number | boolean;

export interface Device {
  id: string;
  model: string;
  family: Family;
  location: LocationPath;
  lat?: number;
  lon?: number;
  address?: string;
  state: InstallState;
  /** Values rules may read, e.g. a flood gauge's warning_level_m and danger_level_m. */
  attrs: Record<string, AttrValue>;
  labels: Record<string, string>;
  /** Camera ids bound to this device, for alert evidence. */
  cameras: string[];
  /** Cameras only: where and how to pull the stream (processors/registry/camera.ts reads it). */
  rtsp?: RtspSettings;
  /** Cameras only: ids of the devices this camera sees, for alert evidence (the reverse of `cameras`). */
  covers?: string[];
  /**
   * Per-metric calibration, versioned: steps sorted by `from` (ISO time); a reading gets the step in
   * force at its own time, so re-reading history applies the calibration of the day.
   */
  calibration?: Readonly<Record<string, readonly { scale: number; offset: number; from: string }[]>>;
}

/** A camera's stream. The URLs never carry credentials: validation moves them to username/password. */
export interface RtspSettings {
  url: string;
  /** Sub-stream for analysis; the main stream when absent. */
  subUrl?: string;
  username?: string;
  /** SECRET: see DEVICE_SECRET_PATHS in processors/registry/device-schema.ts. */
  password?: string;
  transport: 'tcp' | 'udp';
}

/** Read side of the device registry: the only thing the pipeline needs. */
export interface DeviceDirectory {
  get(id: string): Device | undefined;
}

/** `rtsp`: readings the gateway's camera supervisor measured on a camera's stream (topic `rtsp/<id>`). */
export type Transport = 'mqtt' | 'hj212' | 'rtsp';
export type MessageKind = 'telemetry' | 'event' | 'status';

/** One message off the wire, before any decoding. */
export interface InboundMessage {
  transport: Transport;
  kind: MessageKind;
  deviceId: string;
  topic: string;
  payload: Buffer;
  /** Epoch milliseconds at which the gateway received it. */
  receivedAt: number;
  clientId?: string;
}

/** Canonical measurements. `device` carries online/battery/rssi of any family. */
export type Measurement = Family | 'device' | `${Family}_agg`;

/** A canonical, unit-explicit point. Field names carry their unit (`water_level_m`). */
export interface Reading {
  device: string;
  measurement: Measurement;
  /** Epoch milliseconds. */
  time: number;
  fields: Record<string, number>;
  /**
   * device, model, family, district, street, community, grid, plus measurement-specific tags (event,
   * door, method, quality, agg). Read-only: telemetry readings of a device share its frozen base tags.
   */
  tags: Readonly<Record<string, string>>;
}

export interface ReadingSink {
  /**
   * Must not throw; a sink's own failure is its own to count and log. `at`: when the gateway
   * handled the reading (its clock, read once per message by the pipeline), for sinks that keep a
   * "last seen"; absent from callers outside the pipeline.
   */
  write(reading: Reading, device: Device, at?: number): void;
}

export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
