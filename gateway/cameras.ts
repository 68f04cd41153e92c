import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RedisReferenceStore } from '../adapters/redis/camera-references.js';
import { SnapshotStore } from '../adapters/rtsp/snapshot-store.js';
import { CameraSupervisor } from '../adapters/rtsp/supervisor.js';
import type { GridgateConfig } from '../config/schema.js';
import { camerasForEvent, type EvidenceSinkOptions } from '../processors/alerts/evidence.js';
import { CameraIndex, cameraStream, cameraStreams } from '../processors/registry/camera.js';
import type { DeviceReader } from '../processors/registry/types.js';
import type { InboundMessage } from '../processors/types.js';
import { cameraRoutes } from './http/routes/cameras.js';
import { snapshotRoutes } from './http/routes/snapshots.js';

/** What the camera edge needs of the registry: reads, a change feed and a version to cache by. */
export interface CameraRegistry extends DeviceReader {
  onChange(listener: (ids: readonly string[]) => void): () => void;
  readonly version: number;
}

export interface CameraEdgeDeps {
  config: Readonly<GridgateConfig>;
  registry: CameraRegistry;
  redis: Redis;
  /** The pipeline's entry: camera readings are decoded by the rtsp-camera model like any payload. */
  handle(msg: InboundMessage): void;
  logger: Logger;
}

/**
 * The RTSP edge, built in one place: the supervisor (one analysis ffmpeg per camera), the snapshot
 * store behind alert evidence, and the HTTP routes for live view, reference frames and snapshots.
 * The registry is the source of truth: every change to a camera re-syncs the supervisor.
 */
export class CameraEdge {
  readonly supervisor: CameraSupervisor;
  readonly snapshots: SnapshotStore;
  private index?: { version: number; index: CameraIndex };
  private unsubscribe?: () => void;

  /** Opens the snapshot store at once: alerts restored at start may already want snapshots. */
  static async open(deps: CameraEdgeDeps): Promise<CameraEdge> {
    const edge = new CameraEdge(deps);
    await edge.snapshots.start();
    return edge;
  }

  private constructor(private readonly deps: CameraEdgeDeps) {
    const { config: cfg, logger } = deps;
    this.supervisor = new CameraSupervisor({
      ...cfg.cameras,
      references: new RedisReferenceStore(deps.redis, { prefix: cfg.redis.prefix }),
      onReading: (id, fields, at) =>
        deps.handle({
          transport: 'rtsp',
          kind: 'telemetry',
          deviceId: id,
          topic: `rtsp/${id}`,
          payload: Buffer.from(JSON.stringify(fields)),
          receivedAt: at,
        }),
      logger,
    });
    // The store and the live routes name their own component (`snapshots`, `live`).
    this.snapshots = new SnapshotStore({ ...cfg.cameras.snapshots, logger });
  }

  /** What the alerting subsystem needs to attach snapshots to alert events. */
  evidence(): Omit<EvidenceSinkOptions, 'inner' | 'logger'> {
    return {
      source: (id, ms) => this.supervisor.snapshot(id, ms),
      store: (id, jpeg, at) => this.snapshots.save(id, jpeg, at),
      camerasFor: (event) => camerasForEvent(event, this.cameraIndex()),
      waitMs: this.deps.config.cameras.snapshots.waitMs,
    };
  }

  /** Live view and reference frames (root: the page lives outside /api). */
  rootRoutes(): FastifyPluginAsync {
    const { config: cfg, registry, logger } = this.deps;
    return cameraRoutes({
      camera: (id) => {
        const d = registry.get(id);
        return d ? cameraStream(d) : undefined;
      },
      budget: this.supervisor,
      refreshReference: (id) => this.supervisor.refreshReference(id),
      ...cfg.cameras.live,
      tokens: cfg.auth.tokens,
      authRequired: cfg.auth.required,
      ffmpeg: cfg.cameras.ffmpeg,
      logger,
    });
  }

  /** GET /api/v1/snapshots/:file */
  apiRoutes(): FastifyPluginAsync {
    return snapshotRoutes(this.snapshots);
  }

  /** Starts supervising the registry's cameras; their readings go to `handle` from now on. */
  async start(): Promise<void> {
    this.sync();
    this.unsubscribe = this.deps.registry.onChange(() => this.sync());
    await this.supervisor.start();
  }

  /** Stops supervision (every ffmpeg it started); the snapshot store is stopped by its owner after alerting. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.supervisor.stop();
  }

  private sync(): void {
    this.supervisor.sync(cameraStreams(this.deps.registry.list({ family: 'camera' })));
  }

  /** Rebuilt only when the registry changed: an alert asks per event, the registry changes rarely. */
  private cameraIndex(): CameraIndex {
    const { registry } = this.deps;
    if (this.index?.version !== registry.version) {
      this.index = { version: registry.version, index: new CameraIndex(registry.list()) };
    }
    return this.index.index;
  }
}
