import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parse } from 'yaml';
import { compileExpr, evalBool } from '../../processors/rules/expr.js';

/** Polls `fn` until it returns a value other than undefined/false, or throws after `ms`. */
export async function until<T>(what: string, fn: () => T | undefined | false, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A pino logger writing JSON lines into an array (to assert on what would be logged). */
export function capturedLogger(level = 'debug') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

/** The shipped camera rules' conditions (config/rules/camera.yaml), evaluated on a reading's fields. */
export function cameraRules(): Map<string, (fields: Record<string, number>) => boolean> {
  const file = parse(readFileSync(new URL('../../config/rules/camera.yaml', import.meta.url), 'utf8')) as {
    rules: { id: string; condition: string }[];
  };
  return new Map(
    file.rules.map((r) => {
      const e = compileExpr(r.condition);
      return [r.id, (fields: Record<string, number>) => evalBool(e, fields) === true] as const;
    }),
  );
}

export interface Reading {
  fields: Record<string, number>;
  at: number;
}

/** Collects the supervisor's readings per camera. */
export class Readings {
  readonly byCamera = new Map<string, Reading[]>();
  readonly onReading = (id: string, fields: Record<string, number>, at: number) => {
    const list = this.byCamera.get(id) ?? [];
    list.push({ fields, at });
    if (list.length > 500) list.shift();
    this.byCamera.set(id, list);
  };
  of(id: string): Reading[] {
    return this.byCamera.get(id) ?? [];
  }
  /** The first reading of `id` at or after `since` that satisfies `pred`. */
  find(id: string, since: number, pred: (f: Record<string, number>) => boolean): Reading | undefined {
    return this.of(id).find((r) => r.at >= since && pred(r.fields));
  }
}

/** Whether a process exists (signal 0 probes without sending). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
