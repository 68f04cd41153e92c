/**
 * The pictures the camera measures work on. A decoded keyframe arrives as ffmpeg's `pgmyuv`
 * layout (planar YUV 4:2:0 in one grey image: `height` rows of Y, then `height / 2` rows each
 * holding one U row followed by one V row), so no plane is copied before it is measured.
 */
export interface YuvFrame {
  /** Luma width and height, both even. */
  width: number;
  height: number;
  /** width × height × 3 / 2 bytes in the pgmyuv layout. */
  data: Uint8Array;
}

/** A downsampled luma image (the size scene comparisons and motion are measured on). */
export interface SmallLuma {
  width: number;
  height: number;
  y: Uint8Array;
}

/** Width of the analysis image; the height keeps the aspect (160x90 for 16:9, 160x120 for 4:3). */
export const SMALL_WIDTH = 160;

export function frameBytes(width: number, height: number): number {
  return width * height + (width >> 1) * (height >> 1) * 2;
}

/** A YuvFrame from planes (tests and synthetic pictures); U and V are (width/2)×(height/2). */
export function yuvFromPlanes(
  width: number,
  height: number,
  y: Uint8Array,
  u: Uint8Array,
  v: Uint8Array,
): YuvFrame {
  const data = new Uint8Array(frameBytes(width, height));
  data.set(y.subarray(0, width * height));
  const cw = width >> 1;
  for (let r = 0; r < height >> 1; r++) {
    const at = width * height + r * width;
    data.set(u.subarray(r * cw, r * cw + cw), at);
    data.set(v.subarray(r * cw, r * cw + cw), at + cw);
  }
  return { width, height, data };
}

/**
 * Box-average downsampling of the luma plane to `outWidth` wide (aspect kept): each output pixel is
 * the mean of the source pixels it covers, which also averages away most sensor/coding noise.
 */
export function downsampleLuma(frame: YuvFrame, outWidth = SMALL_WIDTH): SmallLuma {
  const { width: w, height: h, data } = frame;
  const ow = Math.min(outWidth, w);
  const oh = Math.max(1, Math.min(h, Math.round((ow * h) / w)));
  const colOf = new Uint16Array(w);
  const colCount = new Uint32Array(ow);
  for (let x = 0; x < w; x++) {
    const c = Math.min(ow - 1, Math.floor((x * ow) / w));
    colOf[x] = c;
    colCount[c] = (colCount[c] ?? 0) + 1;
  }
  const out = new Uint8Array(ow * oh);
  const sums = new Uint32Array(ow);
  let srcRow = 0;
  for (let oy = 0; oy < oh; oy++) {
    const rowEnd = oy === oh - 1 ? h : Math.floor(((oy + 1) * h) / oh);
    sums.fill(0);
    const rows = rowEnd - srcRow;
    for (; srcRow < rowEnd; srcRow++) {
      const base = srcRow * w;
      for (let x = 0; x < w; x++) {
        const c = colOf[x] as number;
        sums[c] = (sums[c] as number) + (data[base + x] as number);
      }
    }
    const o = oy * ow;
    for (let c = 0; c < ow; c++)
      out[o + c] = Math.round((sums[c] as number) / ((colCount[c] as number) * rows));
  }
  return { width: ow, height: oh, y: out };
}

/** Mean U and V over the chroma planes (every other row and column: a mean needs no more). */
export function chromaMeans(frame: YuvFrame): { u: number; v: number } {
  const { width: w, height: h, data } = frame;
  const cw = w >> 1;
  const ch = h >> 1;
  let su = 0;
  let sv = 0;
  let n = 0;
  for (let r = 0; r < ch; r += 2) {
    const base = w * h + r * w;
    for (let c = 0; c < cw; c += 2) {
      su += data[base + c] as number;
      sv += data[base + cw + c] as number;
      n++;
    }
  }
  return n === 0 ? { u: 128, v: 128 } : { u: su / n, v: sv / n };
}
