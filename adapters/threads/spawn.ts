import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * A worker thread running the module `name` beside the caller (`import.meta.url`). From dist/ that
 * is the compiled .js, started as is. Only when the caller runs from TypeScript source (the test
 * suite, tsx) does the thread go through ts-entry.mjs, which registers the dev dependency tsx: the
 * built package never loads it.
 */
export function spawnSibling(callerUrl: string, name: string, workerData: unknown): Worker {
  const ext = extname(fileURLToPath(callerUrl));
  const target = new URL(`./${name}${ext}`, callerUrl);
  if (ext !== '.ts') return new Worker(target, { workerData });
  const tsEntry = new URL('./ts-entry.mjs', import.meta.url);
  const boot = `import(${JSON.stringify(tsEntry.href)}).then((m) => m.run(${JSON.stringify(target.href)}))`;
  return new Worker(boot, { eval: true, workerData });
}

/**
 * Ends a worker thread: sends the request that asks it to finish (its reply, the thread's exit or
 * `timeoutMs`, whichever comes first), then terminates it. A thread that hangs is cut off, not
 * waited for.
 */
export async function endThread(
  worker: Worker,
  ask: () => Promise<unknown>,
  timeoutMs: number,
): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([ask().catch(() => undefined), exited, timeout]);
  clearTimeout(timer);
  // The reply came after the thread's last messages; let the port deliver what is queued before it.
  await new Promise((resolve) => setImmediate(resolve));
  await worker.terminate();
}
