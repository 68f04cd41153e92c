import { Command } from 'commander';
import type { Rejection } from '../../processors/errors.js';
import { type ApiOptions, apiOptions, apiRequest } from './api-client.js';

interface DeadLetterResponse {
  counts: Record<string, number>;
  items: Rejection[];
}

/** `gridgate deadletters`: what the gateway refused, and why — for installers checking a device. */
export function deadlettersCommand(): Command {
  return apiOptions(
    new Command('deadletters')
      .description('list rejected messages (newest last) and totals by reason, from a running gateway')
      .option('--device <id>', 'only this device')
      .option('--reason <reason>', 'only this reason (e.g. out_of_range, unknown_device)')
      .option('-n, --limit <n>', 'how many', '50'),
  ).action(async (o: ApiOptions & { device?: string; reason?: string; limit: string }) => {
    const q = new URLSearchParams({ limit: o.limit });
    if (o.device) q.set('device', o.device);
    if (o.reason) q.set('reason', o.reason);
    const res = await apiRequest<DeadLetterResponse>(o, `/deadletters?${q}`);
    if (o.json) return console.log(JSON.stringify(res, null, 2));
    const totals = Object.entries(res.counts).filter(([, n]) => n > 0);
    console.log(
      totals.length
        ? `totals: ${totals.map(([r, n]) => `${r}=${n}`).join('  ')}`
        : 'nothing rejected since start',
    );
    for (const r of res.items) {
      const who = r.deviceId ?? r.topic ?? '-';
      const field = r.field ? ` ${r.field}` : '';
      console.log(`${new Date(r.at).toISOString()}  ${r.reason.padEnd(16)} ${who}${field}: ${r.detail}`);
      if (r.payloadPreview) console.log(`    payload: ${r.payloadPreview}`);
    }
  });
}
