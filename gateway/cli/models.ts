import { readFile } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import { Command, Option } from 'commander';
import { loadModelsDir } from '../../adapters/models/load-dir.js';
import { loadConfig } from '../../config/load.js';
import type { ModelOrigin } from '../../processors/devices/index.js';
import { decodeSample } from '../../processors/devices/sample.js';
import { formatModelError } from '../../processors/devices/yaml.js';
import { GridgateError } from '../../processors/errors.js';
import type { MessageKind } from '../../processors/types.js';
import { summarizeModel } from '../http/routes/models.js';
import { reportErrors, table } from './output.js';

/**
 * `gridgate models list|validate|test`: everything works on files, without a running gateway, so
 * an installer can check a vendor's model file and sample message before any device connects.
 */
export function modelsCommand(): Command {
  const cmd = new Command('models').description(
    'list, validate and try device models (YAML files and shipped)',
  );
  cmd
    .command('list')
    .description('every model with its origin: a shipped TypeScript file or a YAML file (file:line)')
    .option('--models <dir>', 'models folder (default: models.dir of --config)')
    .option('-c, --config <file>', 'config file whose models.dir to read')
    .option('--json', 'print JSON')
    .action(async (opts: { models?: string; config?: string; json?: boolean }) => {
      const r = await loadModelsDir(modelsDir(opts));
      if (!reportErrors(r.errors.map(formatModelError), 'model files')) return;
      const summaries = r.set.models.map((m) => summarizeModel(m, r.set.origins.get(m.id)!));
      if (opts.json) return console.log(JSON.stringify(summaries, null, 2));
      const rows = table(['id', 'family', 'format', 'vendor', 'origin']);
      for (const m of summaries) rows.push([m.id, m.family, m.format, m.vendor, originText(m.origin)]);
      console.log(rows.toString());
    });
  cmd
    .command('validate')
    .argument('<dir>', 'models folder')
    .description(
      'check every model file in DIR against the schema and the shipped models; every error with file:line and model id; exit 1 on any',
    )
    .action(async (dir: string) => {
      const r = await loadModelsDir(dir);
      if (!reportErrors(r.errors.map(formatModelError), 'model files')) return;
      const files = r.set.models.filter((m) => r.set.origins.get(m.id)?.kind === 'file');
      for (const o of r.overrides) console.log(`note: ${o.file} model ${o.id} replaces the shipped model`);
      console.log(`${dir}: ${files.length} model(s) valid`);
    });
  cmd
    .command('test')
    .argument('<model>', 'model id')
    .description(
      'decode a sample payload with MODEL through the real decoder; print the canonical readings and any reject reasons (exit 1 on a reject)',
    )
    .requiredOption(
      '--payload <file>',
      "the payload as the device sends it (JSON, or an HJ 212 data segment or frame); '-' reads stdin",
    )
    .option('--models <dir>', 'a models folder to take MODEL from as well (e.g. a file not installed yet)')
    .option('-c, --config <file>', 'config file whose models.dir to read')
    .addOption(
      new Option('--kind <kind>', 'message kind (which topic the device sends it on)')
        .choices(['telemetry', 'event', 'status'])
        .default('telemetry'),
    )
    .option('--received-at <time>', 'receive time (ISO 8601) for payloads without a timestamp; default now')
    .option('--json', 'print JSON')
    .action(
      async (
        id: string,
        opts: {
          payload: string;
          models?: string;
          config?: string;
          kind: MessageKind;
          receivedAt?: string;
          json?: boolean;
        },
      ) => {
        const r = await loadModelsDir(modelsDir(opts));
        if (!reportErrors(r.errors.map(formatModelError), 'model files')) return;
        const model = r.set.models.find((m) => m.id === id);
        if (!model) {
          throw new GridgateError('GG_ERR_NOT_FOUND', `model '${id}' not found`, [
            'gridgate models list shows the known ids; --models DIR adds a folder',
          ]);
        }
        const receivedAt = opts.receivedAt === undefined ? Date.now() : Date.parse(opts.receivedAt);
        if (!Number.isFinite(receivedAt)) {
          throw new GridgateError(
            'GG_ERR_BAD_REQUEST',
            `--received-at '${opts.receivedAt}' is not an ISO 8601 time`,
          );
        }
        const raw = opts.payload === '-' ? await buffer(process.stdin) : await readFile(opts.payload);
        const payload = model.format === 'hj212' ? hj212Text(raw) : raw;
        const result = decodeSample(model, payload, { kind: opts.kind, receivedAt });
        if (result.rejects.length) process.exitCode = 1;
        if (opts.json) {
          const rejects = result.rejects.map(({ reason, field, detail }) => ({ reason, field, detail }));
          const readings = result.readings.map((x) => ({ ...x, tags: ownTags(x.tags) }));
          return console.log(JSON.stringify({ model: id, readings, rejects }, null, 2));
        }
        console.log(`${model.id} (${originText(r.set.origins.get(model.id)!)}), ${opts.kind}:`);
        if (result.readings.length) {
          const rows = table(['measurement', 'time', 'fields', 'tags']);
          for (const x of result.readings) {
            rows.push([
              x.measurement,
              new Date(x.time).toISOString(),
              pairs(x.fields),
              pairs(ownTags(x.tags)),
            ]);
          }
          console.log(rows.toString());
        } else console.log('no readings');
        for (const x of result.rejects) {
          console.log(`rejected: ${x.reason}${x.field ? ` (${x.field})` : ''}: ${x.detail}`);
        }
      },
    );
  return cmd;
}

function modelsDir(opts: { models?: string; config?: string }): string | undefined {
  if (opts.models !== undefined) return opts.models;
  // models.dir of --config, or of GRIDGATE_CONFIG / GRIDGATE_MODELS__DIR, as `gridgate start` reads it.
  return loadConfig({ file: opts.config }).models.dir;
}

function originText(o: ModelOrigin): string {
  if (o.kind === 'shipped') return `shipped ${o.file}`;
  return `${o.file}:${o.line}${o.overrides ? ` (replaces shipped ${o.overrides})` : ''}`;
}

/** The reading's own tags: the base tags of the placeholder device say nothing about the model. */
function ownTags(tags: Readonly<Record<string, string>>): Record<string, string> {
  const base = new Set(['device', 'model', 'family', 'district', 'street', 'community', 'grid']);
  return Object.fromEntries(Object.entries(tags).filter(([k]) => !base.has(k)));
}

/** `key=value`, one a line (a table cell). */
function pairs(o: Readonly<Record<string, unknown>>): string {
  return Object.entries(o)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

/** A saved HJ 212 sample: a data segment loses the file's trailing newline; a whole frame ends in CR LF, as HJ 212-2017 frames do. */
function hj212Text(raw: Buffer): Buffer {
  const text = raw.toString('latin1').replace(/\s+$/, '');
  return Buffer.from(text.startsWith('##') ? `${text}\r\n` : text, 'latin1');
}
