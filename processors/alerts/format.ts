/** One-line renderings of alert events for terminals and logs. */
import type { AlertEvent } from './event.js';

/**
 * `2026-07-01T08:00:00.000Z  RED     alert.firing     <zh> / <en>  [snapshot cam-1 <url>]`.
 * `baseUrl` makes snapshot paths openable (they are relative to the gateway's HTTP API).
 */
export function formatAlertLine(e: AlertEvent, opts: { baseUrl?: string } = {}): string {
  const extra = e.reason ? ` (${e.reason})` : '';
  const evidence = e.evidence
    .map((ev) =>
      ev.url !== undefined
        ? `  [${ev.kind} ${ev.camera ?? ''} ${ev.url.startsWith('/') ? (opts.baseUrl ?? '') : ''}${ev.url}]`
        : `  [${ev.kind} ${ev.camera ?? ''} failed: ${ev.error ?? 'unknown'}]`,
    )
    .join('');
  return `${e.at}  ${e.severity.toUpperCase().padEnd(6)}  ${e.type.padEnd(15)}  ${e.summary.zh} / ${e.summary.en}${extra}${evidence}`;
}
