import { createReadStream } from 'node:fs';
import { Command } from 'commander';
import { loadRulesDir, loadRulesDirOrThrow } from '../../adapters/rules/load-dir.js';
import { formatRuleError, type RuleSet } from '../../processors/rules/parse.js';
import { Replay, type ReplayReport, type RuleReplayStats } from '../../processors/rules/replay.js';
import { reportErrors, table } from './output.js';

/** `gridgate rules validate DIR` and `gridgate rules test --rules DIR --replay FILE [--against DIR]`. */
export function rulesCommand(): Command {
  const cmd = new Command('rules').description('validate rule files, and test rules on recorded readings');
  cmd
    .command('validate')
    .argument('<dir>', 'rules folder')
    .description('check every rule file in DIR; list every error with file, line and rule id; exit 1 on any')
    .action(async (dir: string) => {
      const { set, errors } = await loadRulesDir(dir);
      if (!reportErrors(errors.map(formatRuleError), dir)) return;
      console.log(`${dir}: ${set.rules.length} rule(s) valid`);
    });
  cmd
    .command('test')
    .description('replay a capture (gridgate start --capture FILE) through the rules and report per rule')
    .requiredOption('--rules <dir>', 'rules folder to test')
    .requiredOption('--replay <file>', 'NDJSON capture of normalized readings')
    .option('--against <dir>', 'another rules folder to compare with (e.g. the rules in production)')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { rules: string; replay: string; against?: string; json?: boolean }) => {
      const report = await replayFile(opts.replay, await loadRulesDirOrThrow(opts.rules));
      const against = opts.against
        ? await replayFile(opts.replay, await loadRulesDirOrThrow(opts.against))
        : undefined;
      if (opts.json) return console.log(JSON.stringify({ report, against }, null, 2));
      console.log(renderReport(report, against));
    });
  return cmd;
}

async function replayFile(file: string, set: RuleSet): Promise<ReplayReport> {
  const replay = await Replay.open(set);
  let rest = '';
  // Large chunks split by hand: a line-at-a-time async iterator costs more than the rules do.
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const lines = (rest + (chunk as string)).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) replay.line(l);
  }
  if (rest) replay.line(rest);
  return replay.finish();
}

/** The per-rule table, with a "vs against" column when comparing two folders. */
function renderReport(report: ReplayReport, against?: ReplayReport): string {
  const head = ['rule', 'mode', 'incidents', 'escalations', 'time firing', 'flaps', 'first', 'last'];
  if (against) head.push('vs --against');
  const rows = table(head);
  const other = new Map((against?.rules ?? []).map((r) => [r.ruleId, r]));
  for (const r of report.rules) {
    const row = [
      r.ruleId,
      r.mode,
      r.incidents,
      r.escalations,
      formatSpan(r.firingMs),
      r.flaps,
      time(r.first),
      time(r.last),
    ];
    if (against) row.push(diff(r, other.get(r.ruleId)));
    rows.push(row.map(String));
  }
  if (against) {
    for (const r of against.rules) {
      if (report.rules.some((x) => x.ruleId === r.ruleId)) continue;
      rows.push([r.ruleId, r.mode, '-', '-', '-', '-', '-', '-', `removed (had ${r.incidents} incidents)`]);
    }
  }
  const span = report.from !== undefined ? ` from ${time(report.from)} to ${time(report.to)}` : '';
  const bad = report.malformed ? `, ${report.malformed} malformed line(s) skipped` : '';
  return `${report.readings} readings${span}${bad}\n${rows.toString()}`;
}

function diff(r: RuleReplayStats, o: RuleReplayStats | undefined): string {
  if (!o) return 'new rule';
  const parts: string[] = [];
  const d = r.incidents - o.incidents;
  if (d) parts.push(`${d > 0 ? '+' : ''}${d} incidents`);
  const f = r.flaps - o.flaps;
  if (f) parts.push(`${f > 0 ? '+' : ''}${f} flaps`);
  const t = r.firingMs - o.firingMs;
  if (t) parts.push(`${t > 0 ? '+' : '-'}${formatSpan(Math.abs(t))} firing`);
  return parts.length ? parts.join(', ') : 'same';
}

function formatSpan(ms: number): string {
  const min = Math.round(ms / 60_000);
  if (min <= 0) return ms > 0 ? '<1m' : '0';
  const h = Math.floor(min / 60);
  return h ? `${h}h${min % 60 ? `${min % 60}m` : ''}` : `${min}m`;
}

function time(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z');
}
