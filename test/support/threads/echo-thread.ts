/** A thread for the channel's tests: answers calls, takes and sends batches, logs, and dies on request. */
import { serveThread } from '../../../adapters/threads/serve.js';

export type EchoCalls = {
  echo: [string, string];
  refuse: [string, undefined];
  hang: [undefined, undefined];
  exit: [number, undefined];
  /** Sends `n` batches, each as credit allows; answers with the most it ever had unprocessed. */
  produce: [number, { most: number; creditMessages: number }];
  log: [undefined, undefined];
  /** The sum of every number in the `nums` batches taken so far. */
  summed: [undefined, number];
  stop: [undefined, string];
};
export type EchoAsks = { double: [number, number] };

const thread = serveThread<EchoAsks, EchoCalls, { failStart?: boolean }>();
const { endpoint, logger } = thread;
if (thread.data.failStart) {
  thread.fail(Object.assign(new Error('cannot open the thing'), { code: 'EBADTHING' }));
} else {
  let summed = 0;
  endpoint.onItem = (name, v) => {
    if (name === 'nums') {
      for (const x of new Float64Array(v as ArrayBuffer)) summed += x;
      endpoint.event('sum', summed);
    }
  };
  endpoint.handle('echo', async (s) => `${s}:${await endpoint.call('double', s.length)}`);
  endpoint.handle('refuse', (why) => {
    throw Object.assign(new Error(why), { code: 'EREFUSED' });
  });
  endpoint.handle('hang', () => new Promise<undefined>(() => {}));
  endpoint.handle('exit', (code) => {
    setImmediate(() => process.exit(code));
  });
  endpoint.handle(
    'produce',
    (n) =>
      new Promise<{ most: number; creditMessages: number }>((resolve) => {
        let sent = 0;
        let credited = 0;
        let most = 0;
        let creditMessages = 0;
        const more = () => {
          while (sent < n && endpoint.canSend) {
            endpoint.batch('n', sent++);
            most = Math.max(most, sent - credited);
          }
          if (sent === n) resolve({ most, creditMessages });
        };
        endpoint.onCredit = (k) => {
          credited += k;
          creditMessages++;
          more();
        };
        more();
      }),
  );
  endpoint.handle('summed', () => summed);
  endpoint.handle('log', () => {
    logger.warn({ password: 'hunter2', thing: 42 }, 'hello from the thread');
  });
  endpoint.handle('stop', () => {
    setImmediate(thread.close);
    return 'stopped cleanly';
  });
  thread.ready({ pid: process.pid });
}
