import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resultsBlock, spliceReadme } from '../../bench/lib/record.js';

describe('the README benchmark table is generated', () => {
  const run = { machine: 'm', when: 'w', devices: 10, durationS: 1, offeredRate: 5 };

  it('replaces only what stands between the markers', () => {
    const readme = 'intro\n<!-- bench:begin -->\nold table\n<!-- bench:end -->\noutro\n';
    const block = resultsBlock([{ scenario: 's', system: 'gridgate', msgsPerS: 42 }], ['t MET'], run);
    const out = spliceReadme(readme, block);
    expect(out).not.toContain('old table');
    expect(out.startsWith('intro\n<!-- bench:begin -->\nRun on m, w;')).toBe(true);
    expect(out).toContain('- t MET\n<!-- bench:end -->\noutro\n');
    expect(spliceReadme(out, block)).toBe(out);
  });

  it('refuses a README without the markers rather than appending somewhere', () => {
    expect(() => spliceReadme('no markers', 'x')).toThrow(/bench:begin/);
  });

  it('the shipped README has exactly one generated block', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme.split('<!-- bench:begin -->').length).toBe(2);
    expect(readme.split('<!-- bench:end -->').length).toBe(2);
  });
});
