import { filterCovers, stripShare } from './auth-topic-filter.js';

/** How long a publish of ours waits for its echo before it is forgotten. */
const ECHO_TTL_MS = 60_000;
/** Publishes remembered at most (a broker that never echoes must not make this grow). */
const MAX_PENDING = 10_000;

/**
 * MQTT 3.1.1 has no No Local (MQTT 5.0 §3.8.3.1): a client subscribed to a filter that covers a
 * topic it publishes to gets its own message back. This remembers what the client published on
 * topics its own filters cover, and recognises the copy when it arrives (same topic, same bytes).
 * Topics no filter covers, the usual case, cost one match per publish and nothing per message.
 */
export class OwnEchoFilter {
  readonly #filters: readonly string[];
  readonly #pending = new Map<string, { payload: Buffer; at: number }[]>();
  #count = 0;
  #swept = 0;

  constructor(
    filters: readonly string[],
    private readonly now: () => number = Date.now,
  ) {
    this.#filters = filters.map(stripShare);
  }

  published(topic: string, payload: Buffer | string): void {
    if (!this.#filters.some((f) => filterCovers(f, topic))) return;
    const at = this.now();
    // A full sweep at most once per TTL: pending entries stay few and short-lived.
    if (at - this.#swept >= ECHO_TTL_MS) {
      this.#forgetBefore(at - ECHO_TTL_MS);
      this.#swept = at;
    }
    if (this.#count >= MAX_PENDING) return;
    const list = this.#pending.get(topic) ?? [];
    list.push({ payload: Buffer.from(payload), at });
    this.#pending.set(topic, list);
    this.#count++;
  }

  /** True when this message is the echo of a publish of ours (which is then forgotten). */
  isEcho(topic: string, payload: Buffer): boolean {
    if (this.#count === 0) return false;
    const list = this.#pending.get(topic);
    if (!list) return false;
    const cutoff = this.now() - ECHO_TTL_MS;
    // Never match an entry older than the TTL: its echo is not coming (a broker may drop a 3.1.1
    // publish its ACL denies, silently), and a device's identical message must go through.
    const i = list.findIndex((p) => p.at >= cutoff && p.payload.equals(payload));
    if (i < 0) return false;
    list.splice(i, 1);
    if (list.length === 0) this.#pending.delete(topic);
    this.#count--;
    return true;
  }

  #forgetBefore(cutoff: number): void {
    for (const [topic, list] of this.#pending) {
      const keep = list.filter((p) => p.at >= cutoff);
      this.#count -= list.length - keep.length;
      if (keep.length === 0) this.#pending.delete(topic);
      else this.#pending.set(topic, keep);
    }
  }
}
