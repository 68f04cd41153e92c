import type { Logger } from 'pino';
import type { TsdbWriter } from '../../adapters/tsdb/influx-writer.js';
import { ThreadedInfluxWriter } from '../../adapters/tsdb/threaded-writer.js';
import type { GridgateConfig } from '../../config/schema.js';
import { CaptureFormatter } from '../../processors/rules/capture-format.js';
import { CaptureSink } from '../capture.js';
import type { StopList } from './stops.js';

/** Past the writer's own 30 s flush: stop() waits this long for the last batches. */
const WRITER_STOP_MS = 35_000;

/** The time-series writer, on its own thread. */
export async function openWriter(
  cfg: Readonly<GridgateConfig>,
  stops: StopList,
  logger: Logger,
): Promise<TsdbWriter> {
  const threaded = new ThreadedInfluxWriter({ ...cfg.tsdb, logger });
  stops.add('tsdb writer', () => threaded.stop(), WRITER_STOP_MS);
  await threaded.ready;
  return threaded;
}

/** ingest.capture: every reading, as the rule engine's capture line, to a file. */
export function openCapture(cfg: Readonly<GridgateConfig>, stops: StopList): CaptureSink | undefined {
  if (!cfg.ingest.capture) return undefined;
  const format = new CaptureFormatter();
  const capture = new CaptureSink(cfg.ingest.capture, (r, d) => format.line(r, d).trimEnd());
  stops.add('capture', () => capture.stop());
  return capture;
}
