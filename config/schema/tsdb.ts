import { z } from 'zod';

/** `tsdb`: The time-series database readings are written to, and the disk spool that holds them while it is down. */
export const tsdbSchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^https?:\/\/[^/]/, 'must be an http:// or https:// URL like http://127.0.0.1:8428')
      .url()
      .default('http://127.0.0.1:8428')
      .describe('InfluxDB 2/3 or VictoriaMetrics base URL'),
    token: z.string().default('').describe('API token (VictoriaMetrics ignores it)'),
    org: z.string().default('gridgate'),
    bucket: z.string().default('gridgate'),
    batchSize: z.number().int().min(1).max(100_000).default(5000),
    flushIntervalMs: z.number().int().min(10).max(600_000).default(1000),
    gzip: z.boolean().default(true),
    spool: z
      .strictObject({
        dir: z
          .string()
          .min(1)
          .default('data/spool')
          .describe(
            'folder of the disk spool (mode 0700, files 0600); what it holds is sent after a restart',
          ),
        maxMB: z
          .number()
          .min(1)
          .default(1024)
          .describe('disk the spool may take; past it the oldest lines are dropped and counted'),
        fsync: z
          .enum(['always', 'interval', 'never'])
          .default('always')
          .describe(
            'always: each spooled batch is synced to disk before it counts as held; interval: every fsyncIntervalMs; never: when the OS decides',
          ),
        fsyncIntervalMs: z.number().int().min(10).max(60_000).default(1000),
      })
      .prefault({})
      .describe('where batches go when the database stays down past the retries'),
  })
  .prefault({});
