import { z } from 'zod';

/** `cameras`: RTSP cameras: ffmpeg processes, picture supervision, alert snapshots, live view. */
export const camerasSchema = z
  .strictObject({
    ffmpeg: z.string().min(1).default('ffmpeg').describe('ffmpeg binary (5.1 or newer)'),
    maxProcesses: z
      .number()
      .int()
      .min(1)
      .default(200)
      .describe(
        'ffmpeg processes gridgate may run at once (one analysis per camera, plus live relays and snapshots); cameras past it are refused with GG_ERR_CAMERA_CAP',
      ),
    statsIntervalS: z
      .number()
      .min(0.5)
      .max(60)
      .default(2)
      .describe('how often each camera reports its `camera` reading (fps, bitrate, picture measures)'),
    stallS: z
      .number()
      .min(2)
      .max(300)
      .default(8)
      .describe('an analysis process with no progress for this long is killed and restarted'),
    connectTimeoutS: z.number().min(1).max(120).default(5).describe('RTSP connect and read timeout'),
    backoff: z
      .strictObject({
        initialS: z.number().min(0.1).default(1),
        maxS: z.number().min(1).default(60),
      })
      .prefault({})
      .describe('restart delay after a stream drops: doubles from initialS up to maxS'),
    snapshots: z
      .strictObject({
        dir: z
          .string()
          .min(1)
          .default('data/snapshots')
          .describe('where alert snapshots are kept (mode 0700)'),
        maxAgeH: z.number().min(1).default(168).describe('snapshots older than this are deleted'),
        maxMB: z.number().min(1).default(1024).describe('total size kept; the oldest go first'),
        waitMs: z
          .number()
          .int()
          .min(0)
          .max(30_000)
          .default(2000)
          .describe('how long an alert event may wait for its snapshots before it is sent without them'),
      })
      .prefault({}),
    live: z
      .strictObject({
        roles: z
          .array(z.enum(['reader', 'installer', 'engineer', 'admin']))
          .default(['installer', 'engineer', 'admin'])
          .describe('API token roles allowed to open a live view (admin always may)'),
        idleStopS: z
          .number()
          .min(0)
          .default(5)
          .describe('a relay stops this long after its last viewer leaves'),
      })
      .prefault({}),
  })
  .prefault({})
  .describe('RTSP cameras: picture supervision, alert snapshots, live view');
