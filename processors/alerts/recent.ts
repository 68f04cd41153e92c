import type { AlertEvent, AlertSink } from './event.js';

/**
 * A bounded list of recent alert events, newest last: the installer view of commissioning devices'
 * alerts (they must not page the command centre) and a quick look for people at the API.
 */
export class RecentAlerts implements AlertSink {
  private readonly items: AlertEvent[] = [];

  constructor(private readonly capacity = 500) {}

  async emit(event: AlertEvent): Promise<void> {
    this.items.push(event);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
  }

  list(filter: { deviceId?: string; limit?: number } = {}): AlertEvent[] {
    const all = filter.deviceId ? this.items.filter((e) => e.device?.id === filter.deviceId) : this.items;
    return all.slice(-(filter.limit ?? 100));
  }
}
