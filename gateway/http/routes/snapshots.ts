import type { FastifyPluginAsync } from 'fastify';

/** What the route needs from the snapshot store (adapters/rtsp/snapshot-store.ts). */
export interface SnapshotReader {
  /** The JPEG; GG_ERR_BAD_REQUEST for a malformed name, GG_ERR_NOT_FOUND for one not stored. */
  read(file: string): Promise<Buffer>;
}

/**
 * GET /snapshots/:file : an alert snapshot, by the name in the event's evidence URL. The bearer
 * token check is the auth hook's (PERMISSIONS `GET /snapshots/:file`): pictures of people and places
 * are never served anonymously when auth is on.
 */
export function snapshotRoutes(store: SnapshotReader): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Params: { file: string } }>('/snapshots/:file', async (req, reply) => {
      const jpeg = await store.read(req.params.file);
      return (
        reply
          .header('content-type', 'image/jpeg')
          // Behind a token: no shared cache may keep a copy, and no browser may guess another type.
          .header('cache-control', 'no-store')
          .header('x-content-type-options', 'nosniff')
          .send(jpeg)
      );
    });
  };
}
