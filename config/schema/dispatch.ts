import { z } from 'zod';
import { FAMILIES } from '../../processors/types.js';

/** `dispatch`: Alert events out: BullMQ queues, routing by district/family/severity, and the durable outbox. */
export const dispatchSchema = z
  .strictObject({
    queue: z.string().min(1).default('gridgate-alerts'),
    prefix: z
      .string()
      .min(1)
      .default('bull')
      .describe('BullMQ key prefix; consumers must use the same (BullMQ default: bull)'),
    routes: z
      .array(
        z.strictObject({
          match: z.strictObject({
            district: z.string().optional(),
            family: z.enum(FAMILIES).optional(),
            severity: z.enum(['blue', 'yellow', 'orange', 'red']).optional(),
          }),
          queue: z.string().min(1),
        }),
      )
      .default([]),
    outbox: z
      .strictObject({
        dir: z
          .string()
          .min(1)
          .default('data/outbox')
          .describe('where alert events wait while Redis is unreachable (mode 0700); one gateway per folder'),
        maxMB: z
          .number()
          .min(1)
          .default(64)
          .describe('size bound of the outbox; when full, its oldest events are dropped, logged and counted'),
      })
      .prefault({})
      .describe('durable outbox: alert events that could not be enqueued, sent in order when Redis is back'),
  })
  .prefault({});
