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

/** After its answer to stop, how long a thread has to end on its own before it is terminated. */
const EXIT_GRACE_MS = 1000;

/**
 * Ends a worker thread: sends the request that asks it to finish (its reply, the thread's exit or
 * `timeoutMs`, whichever comes first), gives it a moment to end on its own (so its exit code says
 * whether it stopped cleanly), then terminates it. A thread that hangs is cut off, not waited for.
 * Resolves true when the thread ended by itself.
 */
export async function endThread(
  worker: Worker,
  ask: () => Promise<unknown>,
  timeoutMs: number,
): Promise<boolean> {
  let ended = false;
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      ended = true;
      resolve();
    }),
  );
  const within = async (ms: number, p: Promise<unknown>) => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  };
  await within(timeoutMs, Promise.race([ask().catch(() => undefined), exited]));
  await within(EXIT_GRACE_MS, exited);
  if (!ended) await worker.terminate();
  return ended;
}
