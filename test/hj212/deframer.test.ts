import { describe, expect, it } from 'vitest';
import { type DeframeItem, Hj212Deframer } from '../../processors/hj212/deframer.js';
import { buildFrame } from '../../processors/hj212/frame.js';
import { createRng } from '../../simulators/prng.js';
import { PUBLISHED } from './published.js';

const SEG_A =
  'QN=20260101080000000;ST=22;CN=2011;PW=123456;MN=DUST0001;Flag=5;CP=&&DataTime=20260101080000;a34002-Rtd=80,a34002-Flag=N&&';
const SEG_B =
  'QN=20260101080100000;ST=22;CN=2011;PW=123456;MN=DUST0002;Flag=5;CP=&&DataTime=20260101080100;a34002-Rtd=95.5,a34002-Flag=N&&';
const A = buildFrame(SEG_A);
const B = buildFrame(SEG_B);

function frames(items: DeframeItem[]): string[] {
  return items.flatMap((i) => (i.kind === 'frame' ? [i.data.toString('latin1')] : []));
}
function errors(items: DeframeItem[]): string[] {
  return items.flatMap((i) => (i.kind === 'error' ? [i.reason] : []));
}
function feed(d: Hj212Deframer, ...chunks: (Buffer | string)[]): DeframeItem[] {
  return chunks.flatMap((c) => d.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c));
}

describe('Hj212Deframer', () => {
  it('accepts every published frame, upper- or lower-case CRC', () => {
    const d = new Hj212Deframer();
    const items = feed(d, ...PUBLISHED.map((p) => p.frame));
    expect(errors(items)).toEqual([]);
    expect(frames(items)).toHaveLength(PUBLISHED.length);
    expect(d.buffered).toBe(0);
  });

  it('reassembles a frame split at every byte position', () => {
    const both = Buffer.concat([A, B]);
    for (let cut = 1; cut < both.length; cut++) {
      const d = new Hj212Deframer();
      const items = feed(d, both.subarray(0, cut), both.subarray(cut));
      expect(errors(items), `cut at ${cut}`).toEqual([]);
      expect(frames(items), `cut at ${cut}`).toEqual([SEG_A, SEG_B]);
    }
  });

  it('reassembles a frame fed one byte at a time', () => {
    const d = new Hj212Deframer();
    const items: DeframeItem[] = [];
    for (const b of A) items.push(...d.push(Buffer.from([b])));
    expect(frames(items)).toEqual([SEG_A]);
    expect(errors(items)).toEqual([]);
  });

  it('splits several frames in one segment', () => {
    const d = new Hj212Deframer();
    const items = feed(d, Buffer.concat([A, B, A]));
    expect(frames(items)).toEqual([SEG_A, SEG_B, SEG_A]);
  });

  it('skips garbage between frames, reporting it once per run', () => {
    const d = new Hj212Deframer();
    const items = feed(d, Buffer.concat([Buffer.from('\x00\xffhello#'), A, Buffer.from('AT+CSQ\r\n'), B]));
    expect(frames(items)).toEqual([SEG_A, SEG_B]);
    expect(errors(items)).toEqual(['malformed', 'malformed']);
  });

  it('rejects a bad CRC and keeps the next frame', () => {
    const bad = Buffer.from(A);
    bad[bad.length - 3] = bad[bad.length - 3] === 0x30 ? 0x31 : 0x30; // last CRC digit
    const items = feed(new Hj212Deframer(), Buffer.concat([bad, B]));
    expect(errors(items)).toEqual(['bad_crc']);
    expect(frames(items)).toEqual([SEG_B]);
  });

  it('rejects a length field shorter than the segment', () => {
    const wrong = Buffer.from(A);
    wrong.write(String(SEG_A.length - 5).padStart(4, '0'), 2, 'latin1');
    const items = feed(new Hj212Deframer(), Buffer.concat([wrong, B]));
    expect(errors(items)).toEqual(['bad_length']);
    expect(frames(items)).toEqual([SEG_B]);
  });

  it('rejects a length field longer than the segment without waiting for the next frame', () => {
    const wrong = Buffer.from(A);
    wrong.write(String(SEG_A.length + 300).padStart(4, '0'), 2, 'latin1');
    const d = new Hj212Deframer();
    const first = feed(d, wrong);
    expect(errors(first)).toEqual(['bad_length']);
    expect(frames(feed(d, B))).toEqual([SEG_B]);
  });

  it('drops a truncated frame and recovers the frame that follows it', () => {
    const items = feed(new Hj212Deframer(), Buffer.concat([A.subarray(0, 60), B]));
    expect(errors(items)).toEqual(['malformed']);
    expect(frames(items)).toEqual([SEG_B]);
  });

  it('reports a frame still open at end of stream', () => {
    const d = new Hj212Deframer();
    expect(feed(d, A.subarray(0, 40))).toEqual([]);
    expect(errors(d.end())).toEqual(['malformed']);
    expect(d.buffered).toBe(0);
  });

  it('refuses a declared length above the cap, without buffering its body', () => {
    const d = new Hj212Deframer();
    const body = 'x'.repeat(3000);
    const items = feed(d, `##3000${body}`);
    expect(errors(items)).toEqual(['bad_length']); // the body is not reported again as garbage
    expect(d.buffered).toBeLessThanOrEqual(1);
    expect(frames(feed(d, '0000\r\n', B))).toEqual([SEG_B]);
  });

  it('honours a configurable cap', () => {
    const d = new Hj212Deframer({ maxDataLength: 64 });
    const items = feed(d, A, buildFrame('QN=1;ST=22;CN=2011;PW=1;MN=X;CP=&&&&'));
    expect(errors(items)).toEqual(['bad_length']);
    expect(frames(items)).toEqual(['QN=1;ST=22;CN=2011;PW=1;MN=X;CP=&&&&']);
  });

  it('never holds more than one maximal frame, whatever it is fed', () => {
    const d = new Hj212Deframer();
    const noise = Buffer.alloc(50_000, 0x41);
    feed(d, '##1000', noise);
    expect(d.buffered).toBeLessThanOrEqual(1036 + 6);
    feed(d, Buffer.alloc(100_000, 0x23)); // '#' flood
    expect(d.buffered).toBeLessThanOrEqual(1036 + 6);
    expect(frames(feed(d, '\r\n', A))).toEqual([SEG_A]);
  });

  it('rejects a non-numeric length and resyncs one byte on ("###0…")', () => {
    const items = feed(new Hj212Deframer(), Buffer.concat([Buffer.from('#'), A]));
    expect(frames(items)).toEqual([SEG_A]);
    expect(errors(items)).toEqual(['malformed']);
  });
});

describe('Hj212Deframer under random chunking and noise', () => {
  it('recovers every intact frame, in order, from a noisy stream cut at random points', () => {
    const rng = createRng(20170101);
    for (let round = 0; round < 30; round++) {
      const parts: Buffer[] = [];
      const expected: string[] = [];
      for (let i = 0; i < 20; i++) {
        const s = `QN=${round}${i};ST=22;CN=2011;PW=1;MN=M${i};CP=&&a34002-Rtd=${rng.int(0, 999)}&&`;
        expected.push(s);
        parts.push(buildFrame(s));
        if (rng.chance(0.5)) {
          // Noise that may hold '#' (also right before a header), digits and CR LF, but never '##' itself.
          const noise = Buffer.from(
            Array.from({ length: rng.int(1, 30) }, () =>
              rng.pick([0x23, 0x30, 0x0d, 0x0a, 0x41, 0xff, 0x00]),
            ),
          );
          for (let k = 1; k < noise.length; k++)
            if (noise[k] === 0x23 && noise[k - 1] === 0x23) noise[k] = 0x41;
          parts.push(noise);
        }
      }
      const stream = Buffer.concat(parts);
      const d = new Hj212Deframer();
      const got: string[] = [];
      for (let off = 0; off < stream.length; ) {
        const n = rng.int(1, 200);
        got.push(...frames(d.push(stream.subarray(off, off + n))));
        off += n;
      }
      expect(got, `round ${round}`).toEqual(expected);
    }
  });
});
