"""Pictures of the camera simulator: I420 frames drawn with numpy, and faults as per-frame transforms.

Every camera has a static background (drawn once, seeded by its name so cameras differ), a small
moving object and an on-screen clock (OSD, as real cameras burn one in), so an analysed keyframe
changes a few percent of its pixels from the previous one. A fault replaces or transforms the
composed frame; frozen reuses the previous frame byte for byte.
"""

import zlib

import numpy as np

W, H = 640, 360  # main stream; the sub stream is this decimated by 2 (320x180)
U8 = np.uint8


def _rng(name, salt):
    return np.random.default_rng(zlib.crc32(f"{name}:{salt}".encode()))


def _planes(y, u_val=128, v_val=128):
    return y, np.full((H // 2, W // 2), u_val, U8), np.full((H // 2, W // 2), v_val, U8)


def city(name):
    """Street scene: sky, buildings with lit and dark windows, a road with lane marks."""
    r = _rng(name, "city")
    y = np.empty((H, W), U8)
    y[:] = np.linspace(185, 150, H, dtype=np.float32)[:, None].astype(U8)  # sky
    sky = np.ones((H, W), bool)
    x = 0
    while x < W:
        bw = int(r.integers(50, 110))
        top = int(r.integers(40, 170))
        grey = int(r.integers(70, 130))
        y[top : H - 70, x : x + bw] = grey
        sky[top:, x : x + bw] = False
        y[top : top + 3, x : x + bw] = 40  # roof edge
        for wy in range(top + 10, H - 80, 18):
            for wx in range(x + 6, min(x + bw - 10, W - 10), 16):
                y[wy : wy + 9, wx : wx + 7] = 215 if r.random() < 0.35 else 35
        y[top : H - 70, x : x + 2] = 30  # gap between buildings
        x += bw
    y[H - 70 :, :] = 85  # road
    y[H - 70 : H - 67, :] = 200  # kerb
    for lx in range(0, W, 60):
        y[H - 38 : H - 34, lx : lx + 30] = 225  # lane marks
    yy, u, v = _planes(y)
    sky2 = sky[::2, ::2]
    u[sky2] = 134  # faintly blue sky; the rest neutral
    v[sky2] = 124
    return yy, u, v


def park(name):
    """Another place entirely (the camera turned away): lawn, tree trunks, hedge, a fence."""
    r = _rng(name, "park")
    y = np.empty((H, W), U8)
    y[:] = np.linspace(120, 165, H, dtype=np.float32)[:, None].astype(U8)
    ii, jj = np.mgrid[0:H, 0:W]
    lawn = ii > 200
    y[lawn] = (95 + 30 * (((ii[lawn] + 2 * jj[lawn]) // 9) % 2)).astype(U8)  # mowed diagonal stripes
    for _ in range(9):
        tx = int(r.integers(0, W - 24))
        tw = int(r.integers(10, 24))
        y[60:230, tx : tx + tw] = 45  # trunk
        cy, cx, rad = int(r.integers(40, 110)), tx + tw // 2, int(r.integers(30, 55))
        crown = (ii - cy) ** 2 + (jj - cx) ** 2 < rad * rad
        y[crown] = (60 + 40 * (((ii[crown] // 5) + (jj[crown] // 7)) % 2)).astype(U8)
    y[230:236, :] = 210  # fence rail
    for fx in range(5, W, 22):
        y[215:262, fx : fx + 5] = 200  # fence posts
    return _planes(y, 126, 126)


def _rect(plane, y0, x0, h, w, val):
    plane[max(y0, 0) : max(y0 + h, 0), max(x0, 0) : max(x0 + w, 0)] = val


# Segments a..g of a 7-segment digit (cell 12x22): (y, x, h, w).
_SEGS = {
    "a": (0, 2, 3, 8), "b": (2, 9, 9, 3), "c": (11, 9, 9, 3), "d": (19, 2, 3, 8),
    "e": (11, 0, 9, 3), "f": (2, 0, 9, 3), "g": (9, 2, 3, 8),
}
_DIGITS = ["abcdef", "bc", "abdeg", "abcdg", "bcfg", "acdfg", "acdefg", "abc", "abcdefg", "abcdfg"]


def draw_clock(y, seconds):
    """OSD clock MM:SS in the top-left corner, like a camera's burnt-in time stamp."""
    _rect(y, 8, 8, 34, 86, 25)
    m, s = divmod(int(seconds) % 3600, 60)
    x = 14
    for i, ch in enumerate(f"{m:02d}{s:02d}"):
        for seg in _DIGITS[int(ch)]:
            sy, sx, sh, sw = _SEGS[seg]
            _rect(y, 14 + sy, x + sx, sh, sw, 235)
        x += 17
        if i == 1:
            _rect(y, 19, x - 2, 3, 3, 235)
            _rect(y, 29, x - 2, 3, 3, 235)
            x += 5
    return [(8, 8, 34, 86)]


def _bounce(t, speed, width):
    span = W - width
    pos = int(t * speed) % (2 * span)
    return pos if pos < span else 2 * span - pos


def draw_traffic(y, t):
    """A bus (96x40, 110 px/s) on the far lane and a car (48x28, 80 px/s) on the near lane."""
    bx = x = W - 96 - _bounce(t, 110, 96)
    _rect(y, H - 78, x, 40, 96, 175)
    for wx in range(x + 6, x + 90, 14):
        _rect(y, H - 73, wx, 12, 10, 45)  # bus windows
    x = _bounce(t, 80, 48)
    _rect(y, H - 52, x, 28, 48, 215)
    _rect(y, H - 48, x + 8, 9, 32, 50)  # windows
    _rect(y, H - 26, x + 4, 4, 8, 20)  # wheels
    _rect(y, H - 26, x + 36, 4, 8, 20)
    return [(H - 78, bx, 40, 96), (H - 52, x, 30, 48)]


def draw_walker(y, t):
    """Someone walking along the fence in the park (turned scene), 40 px/s."""
    x = _bounce(t, 40, 16)
    _rect(y, 240, x, 40, 16, 35)
    _rect(y, 228, x + 3, 12, 10, 180)


BLUR_R = 10  # box radius; two passes, so a pixel spreads over 2 * BLUR_R each side


def box_blur(f):
    """Separable box blur of a float32 plane (two passes approximate a Gaussian): a defocused lens."""
    k = 2 * BLUR_R + 1
    for _ in range(2):
        c = np.cumsum(np.pad(f, ((0, 0), (BLUR_R + 1, BLUR_R)), mode="edge"), axis=1)
        f = (c[:, k:] - c[:, :-k]) / k
        c = np.cumsum(np.pad(f, ((BLUR_R + 1, BLUR_R), (0, 0)), mode="edge"), axis=0)
        f = (c[k:, :] - c[:-k, :]) / k
    return f


def blur_frame(y, bg, bg_blur, rects):
    """Blurs a composed frame cheaply: blur is linear, so blur(frame) = blur(background) + blur of
    what was drawn over it, and the latter is computed only in a window around each drawn rect
    (a whole-frame blur per frame costs tens of ms in numpy here; this costs well under one)."""
    out = bg_blur.copy()
    taken = np.zeros((H, W), bool)  # rects may overlap: each drawn pixel is counted once
    m = 2 * BLUR_R + 1
    for ry, rx, rh, rw in rects:
        y0, x0 = max(ry - m, 0), max(rx - m, 0)
        y1, x1 = min(ry + rh + m, H), min(rx + rw + m, W)
        d = np.zeros((y1 - y0, x1 - x0), np.float32)
        ry0, rx0 = max(ry, 0), max(rx, 0)
        ry1, rx1 = min(ry + rh, H), min(rx + rw, W)
        inner = y[ry0:ry1, rx0:rx1].astype(np.float32) - bg[ry0:ry1, rx0:rx1]
        inner[taken[ry0:ry1, rx0:rx1]] = 0
        taken[ry0:ry1, rx0:rx1] = True
        d[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0] = inner
        out[y0:y1, x0:x1] += box_blur(d)
    return np.clip(out, 0, 255).astype(U8)


def _lut(fn):
    return np.clip(np.array([fn(v) for v in range(256)], dtype=np.float32), 0, 255).astype(U8)


class Scenes:
    """Frames of one camera; compose(t, fault) returns (Y, U, V) at main resolution."""

    def __init__(self, name):
        self.city = city(name)
        self.city_blur = box_blur(self.city[0].astype(np.float32))
        self.park = park(name)
        mean = float(self.city[0].mean())
        k = 14.0 / max(mean - 16.0, 1.0)  # dark: mean luma ≈ 30, texture kept
        self.dark_lut = _lut(lambda v: 16 + (v - 16) * k)
        self.bright_lut = _lut(lambda v: 232 + v * 0.09)  # over-exposed: nearly all Y in 232..255
        self.black = _planes(np.full((H, W), 16, U8))
        self.neutral_uv = self.black[1:]  # exposure faults wash the colour out, as a sensor does
        cov = (48 + _rng(name, "covered").integers(-1, 2, (H, W))).astype(U8)  # lens covered: dark grey
        self.covered = _planes(cov)
        # Sodium-lamp orange cast: U down, V up (cast_level ≈ 67).
        self.cast_uv = (np.clip(self.city[1].astype(np.int16) - 45, 0, 255).astype(U8),
                        np.clip(self.city[2].astype(np.int16) + 50, 0, 255).astype(U8))

    def compose(self, t, fault):
        if fault == "black":
            return self.black
        if fault == "covered":
            return self.covered
        if fault == "turned":
            y = self.park[0].copy()
            draw_walker(y, t)
            draw_clock(y, t)
            return y, self.park[1], self.park[2]
        y = self.city[0].copy()
        rects = draw_traffic(y, t) + draw_clock(y, t)
        u, v = self.city[1], self.city[2]
        if fault == "blur":
            y = blur_frame(y, self.city[0], self.city_blur, rects)
        elif fault == "bright":
            y = self.bright_lut[y]
            u, v = self.neutral_uv
        elif fault == "dark":
            y = self.dark_lut[y]
            u, v = self.neutral_uv
        elif fault == "cast":
            u, v = self.cast_uv
        return y, u, v


def i420(planes, sub):
    """Raw I420 bytes, main resolution or decimated by 2 for the sub stream."""
    if sub:
        planes = [np.ascontiguousarray(p[::2, ::2]) for p in planes]
    return b"".join(p.tobytes() for p in planes)
