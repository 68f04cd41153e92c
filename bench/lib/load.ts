import { type Child, DIST, spawnNode } from './proc.js';

/** One load worker (bench/load-worker.ts): `rate` msg/s for `durationS`, or `count` messages as fast as it can. */
export function spawnLoad(o: {
  url: string;
  devices: number;
  qos: 0 | 1;
  rate?: number;
  durationS?: number;
  count?: number;
  connections?: number;
  seed?: number;
}): Child {
  const args = ['--url', o.url, '--devices', String(o.devices), '--qos', String(o.qos)];
  if (o.count !== undefined) args.push('--count', String(o.count));
  if (o.rate !== undefined) args.push('--rate', String(o.rate));
  if (o.durationS !== undefined) args.push('--duration', String(o.durationS));
  if (o.connections !== undefined) args.push('--connections', String(o.connections));
  if (o.seed !== undefined) args.push('--seed', String(o.seed));
  return spawnNode([`${DIST}/bench/load-worker.js`, ...args]);
}
