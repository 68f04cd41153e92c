import { describe, expect, it } from 'vitest';
import { analyseKeyframe, isGoodReference, referenceFrom } from '../../processors/camera/analyse.js';
import { castLevel, flatPct, lumaStats, motionPct, sharpness } from '../../processors/camera/measures.js';
import {
  chromaMeans,
  downsampleLuma,
  type SmallLuma,
  yuvFromPlanes,
} from '../../processors/camera/picture.js';
import { ssim } from '../../processors/camera/ssim.js';
import { seededRandom } from '../support/random.js';

/** A synthetic 320x180 frame from a luma function and constant chroma. */
function frame(fy: (x: number, y: number) => number, u = 128, v = 128, w = 320, h = 180) {
  const y = new Uint8Array(w * h);
  for (let r = 0; r < h; r++)
    for (let c = 0; c < w; c++) y[r * w + c] = Math.max(0, Math.min(255, Math.round(fy(c, r))));
  const cu = new Uint8Array((w / 2) * (h / 2)).fill(u);
  const cv = new Uint8Array((w / 2) * (h / 2)).fill(v);
  return yuvFromPlanes(w, h, y, cu, cv);
}

const checker = (size: number) => (x: number, y: number) =>
  (Math.floor(x / size) + Math.floor(y / size)) % 2 ? 200 : 50;

/** Box blur of a luma function by sampling (2r+1)² neighbours. */
const blurred = (f: (x: number, y: number) => number, r: number) => (x: number, y: number) => {
  let s = 0;
  for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) s += f(x + dx, y + dy);
  return s / (2 * r + 1) ** 2;
};

const small = (f: (x: number, y: number) => number): SmallLuma => downsampleLuma(frame(f));

describe('picture', () => {
  it('downsamples 320x180 to 160x90 by averaging 2x2 blocks', () => {
    const s = downsampleLuma(frame((x, y) => (x % 2) * 100 + (y % 2) * 20));
    expect([s.width, s.height]).toEqual([160, 90]);
    expect(new Set(s.y)).toEqual(new Set([60])); // mean of 0, 100, 20, 120
  });

  it('keeps the aspect of a 4:3 picture and does not upscale', () => {
    expect(downsampleLuma(frame(() => 1, 128, 128, 640, 480))).toMatchObject({ width: 160, height: 120 });
    expect(downsampleLuma(frame(() => 1, 128, 128, 100, 60))).toMatchObject({ width: 100, height: 60 });
  });

  it('reads chroma means from the interleaved U|V rows', () => {
    expect(chromaMeans(frame(() => 0, 90, 170))).toEqual({ u: 90, v: 170 });
  });
});

describe('measures', () => {
  it('luma mean and deviation', () => {
    expect(lumaStats(small(() => 16))).toEqual({ avg: 16, std: 0 });
    const s = lumaStats(small((x) => (x < 160 ? 0 : 200)));
    expect(s.avg).toBeCloseTo(100, 0);
    expect(s.std).toBeCloseTo(100, 0);
  });

  it('motion: none for the same picture or noise below the threshold, the moved area otherwise', () => {
    const rnd = seededRandom(7);
    const base = small(checker(16));
    const noisy = small((x, y) => checker(16)(x, y) + (rnd() - 0.5) * 12);
    expect(motionPct(base, base)).toBe(0);
    expect(motionPct(noisy, base)).toBe(0);
    // A 64x64 box (a quarter of it in the small image's pixels: 32x32 of 160x90) turned white.
    const moved = small((x, y) => (x < 64 && y < 64 ? 255 : checker(16)(x, y)));
    expect(motionPct(moved, base)).toBeGreaterThan(5);
    expect(motionPct(moved, base)).toBeLessThan(100 * ((32 * 32) / (160 * 90)) + 0.01);
  });

  it('flat blocks: a covered lens is all flat, a textured scene none', () => {
    const rnd = seededRandom(3);
    expect(flatPct(small(() => 30))).toBe(100);
    expect(flatPct(small(() => 60 + rnd() * 4))).toBe(100); // sensor noise behind a cover
    expect(flatPct(small(checker(6)))).toBe(0);
  });

  it('sharpness falls below half for a blurred scene, stays for the same one', () => {
    const ref = sharpness(frame(checker(12)));
    expect(sharpness(frame(checker(12))) / ref).toBe(1);
    expect(sharpness(frame(blurred(checker(12), 3))) / ref).toBeLessThan(0.5);
    expect(sharpness(frame(blurred(checker(12), 1))) / ref).toBeGreaterThan(
      sharpness(frame(blurred(checker(12), 3))) / ref,
    );
  });

  it('cast level is the chroma distance from grey', () => {
    expect(castLevel(128, 128)).toBe(0);
    expect(castLevel(128 + 3, 128 + 4)).toBe(5);
  });

  it('ssim: 1 for the same scene, near 1 under noise, low for another scene', () => {
    const rnd = seededRandom(11);
    const scene = (x: number, y: number) => 40 + ((x * 7 + y * 13) % 160) + (y > 90 ? 30 : 0);
    const a = small(scene);
    expect(ssim(a, a)).toBeCloseTo(1, 6);
    expect(
      ssim(
        small((x, y) => scene(x, y) + (rnd() - 0.5) * 6),
        a,
      ),
    ).toBeGreaterThan(0.9);
    expect(ssim(small(checker(10)), a)).toBeLessThan(0.3);
    expect(ssim(a, downsampleLuma(frame(scene, 128, 128, 640, 480)))).toBe(0); // sizes differ
  });
});

describe('analyseKeyframe', () => {
  it('gives scene measures only against a reference, motion only after a first keyframe', () => {
    const f = frame(checker(12));
    const first = analyseKeyframe(f);
    expect(first.fields.motion_pct).toBeUndefined();
    expect(first.fields.scene_ssim).toBeUndefined();
    const ref = referenceFrom(first, 1);
    const again = analyseKeyframe(f, first.small, ref);
    expect(again.fields).toMatchObject({ motion_pct: 0, sharpness_ratio: 1, scene_ssim: 1, cast_level: 0 });
  });

  it('takes a reference automatically only from a picture that shows a scene', () => {
    expect(isGoodReference(analyseKeyframe(frame(checker(12))).fields)).toBe(true);
    expect(isGoodReference(analyseKeyframe(frame(() => 16)).fields)).toBe(false); // black
    expect(isGoodReference(analyseKeyframe(frame(() => 240)).fields)).toBe(false); // blown out
    expect(isGoodReference(analyseKeyframe(frame((x, y) => (x < 300 || y < 170 ? 90 : 200))).fields)).toBe(
      false,
    ); // almost all flat
  });
});
