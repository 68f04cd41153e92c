import { randomUUID } from 'node:crypto';
import { type Device, LOCATION_KEYS, type LocationPath } from '../types.js';

/**
 * A silence / maintenance window: matching incidents evolve as usual, but while it is active they
 * raise no new firings, escalations or reminders. An incident already dispatched still sends its
 * alert.resolved (see delivery.ts for the whole contract).
 */
export interface Silence {
  id: string;
  /** All given matchers must match. Location levels accept `*` and a trailing `*`. */
  ruleId?: string;
  deviceId?: string;
  location?: Partial<LocationPath>;
  /** Epoch ms. */
  startsAt: number;
  endsAt: number;
  reason: string;
  createdBy?: string;
  /** Epoch ms; absent on silences stored before it was recorded. */
  createdAt?: number;
}

export type SilenceInput = Omit<Silence, 'id'> & { id?: string };

/** Durable copy of the silences (Redis in the gateway); the in-memory list is authoritative at runtime. */
export interface SilencePersistence {
  load(): Promise<Silence[]>;
  put(s: Silence): Promise<void>;
  delete(id: string): Promise<void>;
}

export class SilenceStore {
  private readonly items = new Map<string, Silence>();

  constructor(private readonly persistence?: SilencePersistence) {}

  async start(now: number): Promise<void> {
    if (!this.persistence) return;
    for (const s of await this.persistence.load()) if (s.endsAt > now) this.items.set(s.id, s);
  }

  async add(input: SilenceInput): Promise<Silence> {
    if (!(input.endsAt > input.startsAt)) throw new RangeError('a silence must end after it starts');
    if (!input.reason.trim()) throw new RangeError('a silence needs a reason');
    if (!input.ruleId && !input.deviceId && !input.location)
      throw new RangeError('a silence needs a rule, device or location');
    const s: Silence = { ...input, id: input.id ?? randomUUID() };
    this.items.set(s.id, s);
    await this.persistence?.put(s);
    return s;
  }

  async remove(id: string): Promise<boolean> {
    const had = this.items.delete(id);
    if (had) await this.persistence?.delete(id);
    return had;
  }

  get(id: string): Silence | undefined {
    return this.items.get(id);
  }

  /** Active and future silences; expired ones are dropped as a side effect. */
  list(now: number): Silence[] {
    for (const [id, s] of this.items) if (s.endsAt <= now) this.items.delete(id);
    return [...this.items.values()];
  }

  /** The active silence covering this rule at this device/location, if any. */
  match(
    ruleId: string,
    device: Device | undefined,
    location: LocationPath,
    now: number,
  ): Silence | undefined {
    for (const s of this.items.values()) {
      if (now < s.startsAt || now >= s.endsAt) continue;
      if (s.ruleId !== undefined && s.ruleId !== ruleId) continue;
      if (s.deviceId !== undefined && s.deviceId !== device?.id) continue;
      if (s.location && !locationMatches(s.location, location)) continue;
      return s;
    }
    return undefined;
  }
}

function locationMatches(pattern: Partial<LocationPath>, loc: LocationPath): boolean {
  for (const k of LOCATION_KEYS) {
    const p = pattern[k];
    if (p === undefined || p === '*') continue;
    if (p.endsWith('*') ? !loc[k].startsWith(p.slice(0, -1)) : loc[k] !== p) return false;
  }
  return true;
}
