import { Command } from 'commander';
import type { Rejection } from '../../processors/errors.js';
import { apiRequest, targetFrom } from './api-client.js';

interface DeadLetterResponse {
  counts: Record<string, number>;
  items: Rejection[];
}

/** `gridgate deadletters`: what the gateway refused, and why — for installers checking a device. */
export function deadlettersCommand(): Command {
  return new Command('deadletters')
    .description('list rejected messages (newest last) and totals by reason, from a running gateway')
    .option('--device <id>', 'only this device')
    .option('--reason <reason>', 'only this reason (e.g. out_of_range, unknown_device)')
    .option('-n, --limit <n>', 'how many', '50')
    .option('--json', 'print JSON')
    .option('--url <url>', 'gateway HTTP API (default http://127.0.0.1:8080 or GRIDGATE_URL)')
    .option('--token <token>', 'API token (or GRIDGATE_TOKEN)')
    .action(
      async (opts: {
        device?: string;
        reason?: string;
        limit: string;
        json?: boolean;
        url?: string;
        token?: string;
      }) => {
        const q = new URLSearchParams({ limit: opts.limit });
        if (opts.device) q.set('device', opts.device);
        if (opts.reason) q.set('reason', opts.reason);
        const res = await apiRequest<DeadLetterResponse>(targetFrom(opts), `/deadletters?${q}`);
        if (opts.json) {
          console.log(JSON.stringify(res, null, 2));
          return;
        }
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
      },
    );
}
