import type { TestProject } from 'vitest/node';
import { startServices } from '../../scripts/services.js';

/**
 * One real Redis and one real VictoriaMetrics for the whole run, on free loopback ports.
 * Tests isolate themselves with random key prefixes / queue names / measurement tags.
 * Tests that need mosquitto start their own (its configuration is part of what they test).
 */
export default async function setup(project: TestProject) {
  const svc = await startServices({ redis: true, vm: true });
  project.provide('redisUrl', svc.redis!.url);
  project.provide('vmUrl', svc.vm!.url);
  return async () => {
    await svc.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    vmUrl: string;
  }
}
