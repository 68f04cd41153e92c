import type { RoutedTopic } from './types.js';

/** Topics whose routing is remembered (device topics: a few per device); past this it starts over. */
const MAX_ROUTES = 200_000;

/** The router's answer per topic, remembered (topics that route nowhere too) until `clear()`. */
export class RouteMemo {
  private readonly routes = new Map<string, RoutedTopic | null>();

  constructor(private readonly route: (topic: string) => RoutedTopic | undefined) {}

  get(topic: string): RoutedTopic | undefined {
    let r = this.routes.get(topic);
    if (r === undefined) {
      r = this.route(topic) ?? null;
      if (this.routes.size >= MAX_ROUTES) this.routes.clear();
      this.routes.set(topic, r);
    }
    return r ?? undefined;
  }

  clear(): void {
    this.routes.clear();
  }
}
