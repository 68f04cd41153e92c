import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { stringify as toYaml } from 'yaml';
import type { DeviceModel } from '../../../processors/devices/define.js';
import type { Rejection } from '../../../processors/errors.js';
import { GridgateError } from '../../../processors/errors.js';
import type { LatestEntry } from '../../../processors/latest.js';
import { commissioningChecks } from '../../../processors/registry/commissioning.js';
import { devicesToCsv } from '../../../processors/registry/csv.js';
import {
  type DeviceInput,
  type DeviceRecord,
  redactDevice,
  withoutSecrets,
} from '../../../processors/registry/device-schema.js';
import type { DeviceFilter, DevicePatch, DeviceRegistry } from '../../../processors/registry/types.js';
import type { LocatedRow } from '../../../processors/registry/validate.js';
import { parseDeviceYaml } from '../../../processors/registry/yaml.js';
import { FAMILIES, INSTALL_STATES, type Transport } from '../../../processors/types.js';
import { documentRows, parseDeviceCsvStream } from '../../device-import.js';
import { actorOf } from '../auth.js';

export interface DeviceRoutesOptions {
  registry: DeviceRegistry;
  /** Per-device MQTT secrets; without it, add/rotate return no secret. */
  credentials?: { rotate(id: string): Promise<string>; revoke(id: string): Promise<void> };
  unknown?: {
    list(limit?: number): Promise<unknown[]>;
    forget?(transport: Transport, id: string): Promise<void>;
  };
  /** Who is making the change, for the audit log. Default the request's token name (actorOf). */
  actor?: (req: FastifyRequest) => string;
  /** The installer's on-site view (`/devices/:id/latest`, `/status`, `/watch`); off without it. */
  watch?: WatchSources;
  /** Largest import body (config http.importLimitMiB). Default DEFAULT_IMPORT_LIMIT. */
  importLimitBytes?: number;
}

/** 64 MiB: some 300,000 devices as CSV. */
export const DEFAULT_IMPORT_LIMIT = 64 * 1024 * 1024;

export interface WatchSources {
  latest: { get(id: string): LatestEntry | undefined };
  models: { get(id: string): DeviceModel | undefined };
  /** The device's recent rejections, e.g. `id => deadLetters.list({ deviceId: id, limit: 100 })`. */
  rejects?: (id: string) => readonly Rejection[];
  /** How often `watch` sends a snapshot. Default 2000 ms. */
  intervalMs?: number;
}

const FILTER_KEYS = ['district', 'street', 'community', 'grid', 'family', 'model', 'state'] as const;
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/**
 * The device registry over HTTP (issue 4): the same operations as `gridgate devices`. Register it
 * under /api/v1 with no extra prefix; routes are /devices... . No response carries a secret, except
 * the one-time MQTT secret of add and credentials/rotate.
 */
export const devicesPlugin: FastifyPluginAsync<DeviceRoutesOptions> = async (app, opts) => {
  const { registry, credentials, unknown } = opts;
  const actor = opts.actor ?? actorOf;

  app.get<{ Querystring: Record<string, string | undefined> }>('/devices', async (req) => {
    const devices = registry.list(filterFrom(req.query)).map(redactDevice);
    return { count: devices.length, devices };
  });

  app.get<{ Querystring: { format?: string } }>('/devices/export', async (req, reply) => {
    const format = req.query.format ?? 'yaml';
    const devices = registry.export().map(withoutSecrets);
    if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(devicesToCsv(devices));
    if (format === 'yaml')
      return reply
        .type('application/yaml; charset=utf-8')
        .send(toYaml({ devices }, { aliasDuplicateObjects: false }));
    if (format === 'json') return { devices };
    throw new GridgateError('GG_ERR_BAD_REQUEST', `format must be csv, yaml or json, got '${format}'`);
  });

  app.get<{ Querystring: { limit?: string } }>('/devices/unknown', async (req) => {
    if (!unknown) throw new GridgateError('GG_ERR_NOT_FOUND', 'unknown-device tracking is not enabled');
    return { unknown: await unknown.list(limitFrom(req.query.limit, 100)) };
  });

  // The import is the one route with a large body, and the only one that takes CSV or YAML: its
  // parsers live in a child context so every other route refuses those types (415).
  const importLimit = opts.importLimitBytes ?? DEFAULT_IMPORT_LIMIT;
  await app.register(async (imp) => {
    // CSV is handed over as the request stream and parsed as it arrives (parseDeviceCsvStream).
    imp.addContentTypeParser('text/csv', (req, payload, done) => {
      if (Number(req.headers['content-length']) > importLimit) done(tooLarge(importLimit), undefined);
      else done(null, payload);
    });
    imp.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_req, body, done) => done(null, body));
    imp.post<{ Body: unknown; Querystring: { source?: string } }>(
      '/devices/import',
      { bodyLimit: importLimit },
      async (req) => {
        const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
        const source = req.query.source ?? 'import';
        const rows = await importRowsFrom(type, req.body, source, importLimit);
        const result = await registry.importRows(rows, actor(req), source);
        return { ...result, rows: rows.length };
      },
    );
  });

  app.post<{ Body: DeviceInput }>('/devices', async (req, reply) => {
    const device = await registry.add(req.body, actor(req));
    // A camera never logs in over MQTT (the gateway pulls its RTSP stream), so it gets no secret.
    const secret =
      credentials && device.family !== 'camera' ? await credentials.rotate(device.id) : undefined;
    await unknown?.forget?.('mqtt', device.id);
    if (device.hj212) await unknown?.forget?.('hj212', device.hj212.mn);
    reply.status(201);
    return { device: redactDevice(device), ...(secret !== undefined ? { secret } : {}) };
  });

  app.get<{ Params: { id: string } }>('/devices/:id', async (req) =>
    redactDevice(found(registry, req.params.id)),
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: string } }>('/devices/:id/audit', async (req) => {
    found(registry, req.params.id);
    return { audit: await registry.audit({ id: req.params.id, count: limitFrom(req.query.limit, 50) }) };
  });

  app.patch<{ Params: { id: string }; Body: DevicePatch }>('/devices/:id', async (req) => {
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
      throw new GridgateError('GG_ERR_BAD_REQUEST', 'body must be a JSON merge patch object (RFC 7396)');
    }
    return redactDevice(await registry.update(req.params.id, req.body, actor(req)));
  });

  app.post<{ Params: { id: string } }>('/devices/:id/retire', async (req) => {
    const device = await registry.retire(req.params.id, actor(req));
    // A retired device must not connect any more.
    await credentials?.revoke(device.id);
    return redactDevice(device);
  });

  // The device's newest values since start, whether or not it is registered (it may have been retired).
  app.get<{ Params: { id: string } }>('/devices/:id/latest', async (req) => {
    const e = opts.watch?.latest.get(req.params.id);
    if (!e) throw new GridgateError('GG_ERR_NOT_FOUND', `no reading from '${req.params.id}' since start`);
    return e;
  });

  app.get<{ Params: { id: string } }>('/devices/:id/status', async (req) =>
    snapshot(found(registry, req.params.id).id),
  );

  // Server-sent events: a snapshot now and every intervalMs until the client goes away.
  app.get<{ Params: { id: string } }>('/devices/:id/watch', async (req, reply) => {
    const id = found(registry, req.params.id).id;
    // Before the stream starts: a view that is off, or a device that is not there, is a plain 404.
    const first = snapshot(id);
    const every = opts.watch?.intervalMs ?? 2000;
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const send = (event: 'status' | 'gone', data: unknown) =>
      reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('status', first);
    const timer = setInterval(() => {
      try {
        send('status', snapshot(id));
      } catch (err) {
        // The device was deleted while watched: the stream says so and ends (a throw here would be
        // uncaught, in a timer).
        clearInterval(timer);
        const e = err instanceof GridgateError ? err : new GridgateError('GG_ERR_NOT_FOUND', String(err));
        send('gone', { code: e.code, message: e.message });
        reply.raw.end();
      }
    }, every);
    req.raw.on('close', () => clearInterval(timer));
  });

  app.post<{ Params: { id: string } }>('/devices/:id/credentials/rotate', async (req) => {
    if (!credentials) throw new GridgateError('GG_ERR_NOT_FOUND', 'device credentials are not enabled');
    const device = found(registry, req.params.id);
    if (device.state === 'retired') {
      throw new GridgateError('GG_ERR_BAD_REQUEST', `device '${device.id}' is retired; set its state first`);
    }
    if (device.family === 'camera') {
      throw new GridgateError(
        'GG_ERR_BAD_REQUEST',
        `device '${device.id}' is a camera: it has no MQTT secret (the gateway pulls its RTSP stream)`,
        ['set its RTSP login with rtsp.username / rtsp.password instead'],
      );
    }
    return { id: device.id, secret: await credentials.rotate(device.id) };
  });

  function snapshot(id: string): DeviceSnapshot {
    const w = opts.watch;
    if (!w) throw new GridgateError('GG_ERR_NOT_FOUND', 'the installer view is not enabled on this gateway');
    const device = registry.get(id);
    if (!device) throw new GridgateError('GG_ERR_NOT_FOUND', `no device '${id}'`);
    const latest = w.latest.get(id);
    const now = Date.now();
    return {
      device: redactDevice(device),
      at: now,
      connected: latest?.online ?? null,
      lastSeen: latest?.seenAt ?? null,
      values: latest?.values ?? {},
      lastEvent: latest?.lastEvent ?? null,
      checks: commissioningChecks({
        device,
        model: w.models.get(device.model),
        latest,
        rejects: w.rejects?.(id) ?? [],
        now,
      }),
    };
  }
};

export interface DeviceSnapshot {
  /** Secrets redacted. */
  device: DeviceRecord;
  /** Epoch ms of the snapshot. */
  at: number;
  connected: boolean | null;
  lastSeen: number | null;
  values: LatestEntry['values'];
  lastEvent: LatestEntry['lastEvent'] | null;
  checks: ReturnType<typeof commissioningChecks>;
}

function found(registry: DeviceRegistry, id: string) {
  const d = registry.get(id);
  if (!d) throw new GridgateError('GG_ERR_NOT_FOUND', `no device '${id}'; see gridgate devices list`);
  return d;
}

function filterFrom(q: Record<string, string | undefined>): DeviceFilter {
  const f: Record<string, string> = {};
  for (const k of FILTER_KEYS) {
    const v = q[k];
    if (v !== undefined && v !== '') f[k] = v;
  }
  for (const [key, allowed] of [
    ['family', FAMILIES],
    ['state', INSTALL_STATES],
  ] as const) {
    const v = f[key];
    if (v !== undefined && !(allowed as readonly string[]).includes(v))
      throw new GridgateError('GG_ERR_BAD_REQUEST', `${key} must be one of ${allowed.join(', ')}`);
  }
  return f as DeviceFilter;
}

function limitFrom(raw: string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new GridgateError('GG_ERR_BAD_REQUEST', `limit must be an integer 1..10000, got '${raw}'`);
  }
  return n;
}

function tooLarge(limit: number): GridgateError {
  return GridgateError.of('GG_ERR_BODY_TOO_LARGE', [
    limit,
    'POST /api/v1/devices/import (http.importLimitMiB)',
  ]);
}

/** An import body -> located rows: CSV from the request stream, YAML text, or a JSON list. */
async function importRowsFrom(
  type: string,
  body: unknown,
  source: string,
  limit: number,
): Promise<LocatedRow[]> {
  if (type === 'text/csv') {
    const stream = body as NodeJS.ReadableStream;
    const parsed = await parseDeviceCsvStream(stream, { maxBytes: limit, tooLarge: () => tooLarge(limit) });
    return documentRows(parsed, source);
  }
  if (YAML_TYPES.includes(type)) return documentRows(parseDeviceYaml(String(body)), source);
  // JSON: a list of devices or { devices: [...] }; "line" is the 1-based item number.
  const b = body as { devices?: unknown } | unknown[];
  const list = Array.isArray(b) ? b : b?.devices;
  if (!Array.isArray(list)) throw new GridgateError('GG_ERR_BAD_REQUEST', 'body must be a list of devices');
  return list.map((input, i) => ({ line: i + 1, input }));
}
