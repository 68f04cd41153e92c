import type { Logger } from 'pino';

/**
 * What start() added, stopped in reverse (ingress first, then the sinks flush). Each component gets
 * a bounded time: a dead Redis or database must not hold the process forever.
 */
export class StopList {
  private readonly stoppers: { name: string; stop: () => Promise<void>; boundMs: number }[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly stepMs: number,
  ) {}

  add(name: string, stop: () => Promise<void>, boundMs = this.stepMs): void {
    this.stoppers.push({ name, stop, boundMs });
  }

  /** The longest a stop of everything added so far can take (a service manager's stop timeout must exceed it). */
  worstMs(): number {
    return this.stoppers.reduce((sum, s) => sum + s.boundMs, 0);
  }

  /** Safe to call twice. Resolves with the names of those that did not stop in their time. */
  async stopAll(): Promise<string[]> {
    const late: string[] = [];
    for (const { name, stop, boundMs } of this.stoppers.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), boundMs);
      });
      try {
        if ((await Promise.race([stop(), timedOut])) === 'late') {
          late.push(name);
          this.logger.error(
            { component: name, waitedMs: boundMs },
            'component did not stop in time; going on without it',
          );
        }
      } catch (err) {
        this.logger.warn({ err, component: name }, 'error while stopping');
      } finally {
        clearTimeout(timer);
      }
    }
    return late;
  }
}
