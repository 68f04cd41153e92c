/** One-line renderings of alert events for terminals and logs. */
import type { AlertEvent } from './event.js';

/** `2026-07-01T08:00:00.000Z  RED     alert.firing     <zh> / <en>` */
export function formatAlertLine(e: AlertEvent): string {
  const extra = e.reason ? ` (${e.reason})` : '';
  return `${e.at}  ${e.severity.toUpperCase().padEnd(6)}  ${e.type.padEnd(15)}  ${e.summary.zh} / ${e.summary.en}${extra}`;
}
