import type { Socket } from 'node:net';
import type { Logger } from 'pino';

export interface AddressLimitOptions {
  /** Open connections allowed from one remote address (config limits.maxConnectionsPerIp). */
  max: number;
  logger: Logger;
  /** Called per refused connection; returns the running total (for the log line). */
  onRefuse(): number;
}

/**
 * Open TCP connections per remote address, checked on accept before any byte is parsed. An address
 * leaves the map with its last connection, so the map holds only addresses with open connections.
 */
export class AddressLimit {
  readonly #open = new Map<string, number>();

  constructor(private readonly opts: AddressLimitOptions) {}

  /** Counts the socket against its address; false (socket destroyed) when the address is at its limit. */
  admit(socket: Socket): boolean {
    const ip = socket.remoteAddress ?? 'unknown';
    const open = this.#open.get(ip) ?? 0;
    if (open >= this.opts.max) {
      const n = this.opts.onRefuse();
      // Once per power of two: a connection flood does not become a log flood.
      if ((n & (n - 1)) === 0) {
        this.opts.logger.warn(
          { remote: ip, max: this.opts.max, refused: n },
          'too many mqtt connections from one address',
        );
      }
      socket.destroy();
      return false;
    }
    this.#open.set(ip, open + 1);
    socket.once('close', () => {
      const left = (this.#open.get(ip) ?? 1) - 1;
      if (left <= 0) this.#open.delete(ip);
      else this.#open.set(ip, left);
    });
    return true;
  }
}
