/**
 * The gateway's per-message work on its ingest thread, without the broker, the network, the
 * database or the other threads, on one core: topic routing -> Pipeline (limits, device, model,
 * JSON decode, normalize, time check) -> the readings handed to the writer thread, taken apart
 * (ReadingBatchWriter; the thread writes the line protocol), the installer view, and the rule engine
 * with the shipped rules (config/rules).
 * Over the load fleet's own vendor payloads (all families and JSON models). Used to measure
 * hot-path changes before/after with less noise than the end-to-end scenarios. Prints one line of
 * JSON; asserts nothing.
 *
 *   node dist/bench/pipeline-micro.js [--seconds 3] [--devices 1000]
 *
 * --devices sets the fleet size, and with it the per-device state the hot path walks (mostly the
 * rule engine's): the cost per message grows with it, which is why the gateway inside a busy box
 * costs more than this shows.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LineBuffer } from '../adapters/tsdb/line-buffer.js';
import { ReadingBatchReader, ReadingBatchWriter } from '../adapters/tsdb/reading-batch.js';
import { DeadLetterStore } from '../processors/deadletters.js';
import { MODELS, ModelIndex } from '../processors/devices/index.js';
import { LatestReadings } from '../processors/latest.js';
import { Pipeline } from '../processors/pipeline.js';
import { RuleEngine } from '../processors/rules/engine.js';
import { parseRuleFiles } from '../processors/rules/parse.js';
import { MemoryIncidentStore } from '../processors/rules/store.js';
import { TopicRouter } from '../processors/topics.js';
import type { Device, Reading, ReadingSink } from '../processors/types.js';
import { encodeEvent, encodeTelemetry, topicFor } from '../simulators/encode.js';
import { buildFleet } from '../simulators/fleet.js';
import { nominalValues } from '../simulators/load.js';
import { createRng } from '../simulators/prng.js';
import { argMap } from './lib/baseline-sink.js';
import { ROOT } from './lib/proc.js';

const args = argMap(process.argv.slice(2));
const seconds = Number(args.get('seconds') ?? 3);
const fleet = buildFleet({ devices: Number(args.get('devices') ?? 1000), models: MODELS });
const byId = new Map<string, Device>(fleet.map((f) => [f.device.id, f.device]));
const models = new ModelIndex();
const router = new TopicRouter(models.all());
const now = Date.now();
// Each device's values as the load worker sends them (simulators/load.ts): random per device,
// rounded as its vendor rounds them, so unit conversions and number formatting cost what they do
// under the benchmark's load.
const rng = createRng(1);
const messages = fleet.map((f) => {
  const access = f.device.family === 'access';
  const payload = access
    ? encodeEvent(f.model, { event: 'granted', door: '1', method: 'card' }, now)
    : encodeTelemetry(f.model, nominalValues(f, rng.fork(f.device.id)), now);
  return {
    topic: topicFor(f.model, access ? 'event' : 'telemetry', f.device.id),
    payload: Buffer.from(JSON.stringify(payload)),
  };
});

let lines = 0;
const batches = new ReadingBatchWriter();
/** The first pass's readings, written out as lines at the end for avgLineBytes. */
const captured: Reading[] = [];
let capture = true;
const lineSink: ReadingSink = {
  write(r: Reading) {
    if (capture) captured.push(r);
    if (!batches.append(r)) return;
    lines++;
    // Handed over every 2,000 lines, as ThreadedInfluxWriter does (the writer thread makes the bytes).
    if (batches.lines >= 2000) batches.take();
  },
};
const rulesDir = join(ROOT, 'config', 'rules');
const files = await Promise.all(
  (await readdir(rulesDir))
    .filter((f) => f.endsWith('.yaml'))
    .map(async (f) => ({ path: f, text: await readFile(join(rulesDir, f), 'utf8') })),
);
const { set, errors } = parseRuleFiles(files);
if (errors.length > 0) throw new Error(`config/rules: ${errors.map((e) => e.message).join('; ')}`);
const engine = new RuleEngine({
  rules: set,
  sink: { emit: async () => {} },
  store: new MemoryIncidentStore(),
  directory: { get: (id) => byId.get(id) },
  flushIntervalMs: 0,
});
await engine.start();
const deadLetters = new DeadLetterStore({ capacity: 100, logIntervalMs: 60_000 });
const pipeline = new Pipeline({
  devices: { get: (id) => byId.get(id) },
  models,
  sinks: [lineSink, new LatestReadings(), engine],
  rejects: deadLetters,
});

function pass(): void {
  for (const m of messages) {
    const r = router.match(m.topic);
    if (!r) continue;
    pipeline.handle({
      transport: 'mqtt',
      kind: r.kind,
      deviceId: r.deviceId,
      topic: m.topic,
      payload: m.payload,
      receivedAt: Date.now(),
    });
  }
}

pass();
capture = false;
for (let i = 0; i < 199; i++) pass(); // warm-up
const rejectsBefore = pipeline.stats().rejected;
let n = 0;
const t0 = process.hrtime.bigint();
const budget = BigInt(Math.round(seconds * 1e9));
while (process.hrtime.bigint() - t0 < budget) {
  pass();
  n += messages.length;
}
const s = Number(process.hrtime.bigint() - t0) / 1e9;
// The line bytes the writer thread makes of these readings (not timed): one pass, written out.
const sample = new ReadingBatchWriter();
const encoder = new LineBuffer();
for (const reading of captured) sample.append(reading);
new ReadingBatchReader().read(sample.take(), encoder);
const rejected = Object.values(pipeline.stats().rejected).reduce((a, b) => a + b, 0);
console.log(
  JSON.stringify({
    msgsPerS: Math.round(n / s),
    usPerMsg: Number(((s * 1e6) / n).toFixed(3)),
    linesPerMsg: Number((lines / (n + 200 * messages.length)).toFixed(2)),
    avgLineBytes: Math.round(encoder.bytes / Math.max(1, encoder.lines)),
    ruleEvaluations: engine.stats.evaluations,
    rejected: rejected - Object.values(rejectsBefore).reduce((a, b) => a + b, 0),
  }),
);
