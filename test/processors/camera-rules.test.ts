import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RuleSet } from '../../processors/rules/parse.js';
import { parseRuleFiles } from '../../processors/rules/parse.js';
import { device, engine, reading, T0 } from '../rules/helpers.js';

/**
 * The shipped camera rules (config/rules/camera.yaml) against reading sequences shaped like the
 * supervisor's: one `camera` reading every 2 s. Fault pictures follow the camera simulator's faults
 * (simulators/rtsp/scenes.py): black is video black, covered a flat dark grey, dark keeps some
 * contrast, bright is clipped near white, blur is a strong box blur.
 */

const FILE = 'config/rules/camera.yaml';
const STEP = 2_000;

function cameraRules(): RuleSet {
  const { set, errors } = parseRuleFiles([{ path: FILE, text: readFileSync(FILE, 'utf8') }]);
  expect(errors).toEqual([]);
  return set;
}

type Fields = Record<string, number>;

const NORMAL: Fields = {
  online: 1,
  fps: 25,
  bitrate_kbps: 1024,
  motion_pct: 3.2,
  luma_avg: 118,
  luma_std: 52,
  flat_pct: 12,
  sharpness_ratio: 0.97,
  scene_ssim: 0.88,
  cast_level: 4,
};

/** A live scene: brightness, motion and likeness vary a little from reading to reading. */
function normal(i: number): Fields {
  const w = Math.sin(i / 3);
  return {
    ...NORMAL,
    motion_pct: 2 + 1.5 * (1 + w),
    luma_avg: 118 + 20 * w,
    luma_std: 50 + 5 * w,
    flat_pct: 12 + 4 * w,
    sharpness_ratio: 0.95 + 0.05 * w,
    scene_ssim: 0.85 + 0.05 * w,
    cast_level: 5 + 2 * w,
  };
}

const PICTURE = { online: 1, fps: 25, bitrate_kbps: 300 };

const FAULTS: Record<string, { rule: string; fields: Fields }> = {
  offline: { rule: 'camera.offline', fields: { online: 0 } },
  frozen: { rule: 'camera.frozen', fields: { ...NORMAL, motion_pct: 0 } },
  black: {
    rule: 'camera.black',
    fields: {
      ...PICTURE,
      motion_pct: 0,
      luma_avg: 16,
      luma_std: 0.4,
      flat_pct: 100,
      sharpness_ratio: 0.01,
      scene_ssim: 0.04,
      cast_level: 0,
    },
  },
  covered: {
    rule: 'camera.covered',
    fields: {
      ...PICTURE,
      motion_pct: 0,
      luma_avg: 48,
      luma_std: 0.8,
      flat_pct: 100,
      sharpness_ratio: 0.02,
      scene_ssim: 0.1,
      cast_level: 0.5,
    },
  },
  turned: {
    rule: 'camera.displaced',
    fields: { ...NORMAL, luma_avg: 104, luma_std: 41, flat_pct: 18, sharpness_ratio: 0.83, scene_ssim: 0.21 },
  },
  blur: {
    rule: 'camera.blurred',
    fields: {
      ...NORMAL,
      motion_pct: 0.3,
      luma_std: 44,
      flat_pct: 93,
      sharpness_ratio: 0.12,
      scene_ssim: 0.38,
    },
  },
  bright: {
    rule: 'camera.too-bright',
    fields: {
      ...PICTURE,
      motion_pct: 0.1,
      luma_avg: 241,
      luma_std: 4.5,
      flat_pct: 97,
      sharpness_ratio: 0.09,
      scene_ssim: 0.2,
      cast_level: 0,
    },
  },
  dark: {
    rule: 'camera.too-dark',
    fields: {
      ...PICTURE,
      motion_pct: 0.1,
      luma_avg: 30,
      luma_std: 7,
      flat_pct: 91,
      sharpness_ratio: 0.14,
      scene_ssim: 0.3,
      cast_level: 0.5,
    },
  },
  'dark, textured': {
    rule: 'camera.too-dark',
    fields: { ...PICTURE, motion_pct: 1.5, luma_avg: 38, luma_std: 15, flat_pct: 60, sharpness_ratio: 0.5 },
  },
  cast: { rule: 'camera.colour-cast', fields: { ...NORMAL, cast_level: 67 } },
};

describe('config/rules/camera.yaml', () => {
  it('has one rule per diagnosis, all on family camera', () => {
    const set = cameraRules();
    expect(set.rules.map((r) => r.id).sort()).toEqual(
      [
        'camera.black',
        'camera.blurred',
        'camera.colour-cast',
        'camera.covered',
        'camera.displaced',
        'camera.frozen',
        'camera.offline',
        'camera.too-bright',
        'camera.too-dark',
      ].sort(),
    );
    for (const r of set.rules) {
      expect(r.spec.selector.family, r.id).toEqual(['camera']);
      expect(r.clear, `${r.id} has hysteresis`).toBeDefined();
    }
  });

  it('a normal camera raises nothing over an hour of readings', async () => {
    const { e, sink } = await engine(cameraRules());
    const cam = device({ id: 'cam-1', family: 'camera', model: 'rtsp-camera', attrs: {} });
    for (let i = 0; i < 1800; i++) e.write(reading(cam, T0 + i * STEP, normal(i)), cam);
    e.tick(T0 + 1800 * STEP);
    await e.drain();
    expect(sink.events).toEqual([]);
  });

  for (const [fault, { rule, fields }] of Object.entries(FAULTS)) {
    it(`${fault}: fires ${rule} alone within 10 s, and resolves when the fault ends`, async () => {
      const { e, sink } = await engine(cameraRules());
      const cam = device({ id: 'cam-1', family: 'camera', model: 'rtsp-camera', attrs: {} });
      let i = 0;
      const feed = (n: number, f: (i: number) => Fields) => {
        for (const end = i + n; i < end; i++) e.write(reading(cam, T0 + i * STEP, f(i)), cam);
      };
      feed(30, normal);
      // The fault starts just after the last normal reading; the next reading is the first to show it.
      const start = T0 + (i - 1) * STEP + 1;
      feed(30, () => fields);
      feed(30, normal);
      e.tick(T0 + i * STEP);
      await e.drain();

      expect(sink.types()).toEqual([
        `alert.firing:${sink.events[0]?.severity}`,
        `alert.resolved:${sink.events[0]?.severity}`,
      ]);
      expect(new Set(sink.events.map((x) => x.rule.id))).toEqual(new Set([rule]));
      const fired = Date.parse(sink.events[0]!.at);
      expect(fired - start).toBeLessThanOrEqual(10_000);
      expect(Date.parse(sink.events[1]!.at)).toBeGreaterThan(T0 + 60 * STEP);
    });
  }

  it('a single odd keyframe (a flash, a passing lorry) raises nothing', async () => {
    const { e, sink } = await engine(cameraRules());
    const cam = device({ id: 'cam-1', family: 'camera', model: 'rtsp-camera', attrs: {} });
    for (let i = 0; i < 60; i++) {
      const odd = i % 10 === 5;
      e.write(reading(cam, T0 + i * STEP, odd ? FAULTS.bright!.fields : normal(i)), cam);
    }
    await e.drain();
    expect(sink.events).toEqual([]);
  });

  it('hysteresis: a colour cast hovering at the threshold is one incident', async () => {
    const { e, sink } = await engine(cameraRules());
    const cam = device({ id: 'cam-1', family: 'camera', model: 'rtsp-camera', attrs: {} });
    const casts = [4, 4, 30, 30, 30, 30, 22, 27, 22, 27, 22, 27, 23, 26, 4, 4, 4, 4];
    casts.forEach((c, i) => {
      e.write(reading(cam, T0 + i * STEP, { ...NORMAL, cast_level: c }), cam);
    });
    await e.drain();
    expect(sink.types()).toEqual(['alert.firing:blue', 'alert.resolved:blue']);
    expect(Date.parse(sink.events[1]!.at)).toBeGreaterThanOrEqual(T0 + 14 * STEP);
  });

  it('a black picture that goes offline is not reported as frozen, covered or dark meanwhile', async () => {
    const { e, sink } = await engine(cameraRules());
    const cam = device({ id: 'cam-1', family: 'camera', model: 'rtsp-camera', attrs: {} });
    let t = T0;
    for (let i = 0; i < 10; i++, t += STEP) e.write(reading(cam, t, NORMAL), cam);
    for (let i = 0; i < 10; i++, t += STEP) e.write(reading(cam, t, FAULTS.black!.fields), cam);
    for (let i = 0; i < 10; i++, t += STEP) e.write(reading(cam, t, { online: 0 }), cam);
    await e.drain();
    expect(new Set(sink.events.map((x) => x.rule.id))).toEqual(new Set(['camera.black', 'camera.offline']));
  });
});
