/**
 * V8 flags the gateway process runs with: the `gridgate` bin's shebang carries them, and whatever
 * starts `dist/gateway/cli/main.js` with `node` directly (the demo, the benchmarks) passes these.
 *
 * A larger young generation: at tens of thousands of messages per second nearly every object (a
 * packet, a parsed payload, a reading, a line) dies young, but with the default 16 MB semi-spaces
 * scavenges come so often that many are still alive and get copied, then promoted. 64 MB cut GC
 * and raised scenario 2 of bench/ from 61k to 67k msg/s (bench/README.md), for ~100 MB more RSS.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
