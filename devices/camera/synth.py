"""Synthetic document-camera scenes with known page corners.

One generator serves three users: the pipeline tests and benchmark (a seeded set of pages, ID cards,
household-register booklets and certificates warped onto dark pads, wood, light grey and patterned
backgrounds, with shadows, uneven light, blur, noise and MJPG-like JPEG artefacts), and the
``sim://`` camera (documents that slide in, settle, and leave). Everything is derived from a seed, so a
failing case can be regenerated exactly.

Corners follow the warpPerspective convention (pixel centres at integer coordinates), so a document
whose pixels span columns 0..w-1 has its outer edge at x = -0.5 and x = w - 0.5.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from devices.camera.documents import KINDS, SIZES_MM, document_mask, render_document

BACKGROUNDS = ("dark_pad", "wood", "light_grey", "patterned")

# Share of the frame's area the document covers (min, max).
_COVERAGE = {"a4": (0.22, 0.62), "certificate": (0.22, 0.6), "id_card": (0.04, 0.12), "booklet": (0.2, 0.5)}


@dataclass(frozen=True)
class Scene:
    """A rendered frame and its truth: ``corners`` (TL, TR, BR, BL of the document) or None."""

    image: np.ndarray
    corners: np.ndarray | None
    kind: str
    background: str
    seed: int
    doc_size: tuple[int, int] | None = None  # (width, height) of the flat document in its own pixels
    homography: np.ndarray | None = None     # flat document -> frame


# ---------------------------------------------------------------------------------------------
# Backgrounds and light

def _soft(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur for wide, smooth masks, done at reduced size (a wide blur at full size is slow)."""
    f = max(1, int(sigma / 3))
    if f == 1:
        return cv2.GaussianBlur(mask, (0, 0), sigma)
    h, w = mask.shape[:2]
    small = cv2.resize(mask, (max(2, w // f), max(2, h // f)), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), sigma / f), (w, h), interpolation=cv2.INTER_LINEAR)


def _gauss(rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(sigma)


def _smooth_noise(h, w, cells, rng) -> np.ndarray:
    """Low-frequency noise in [-1, 1] with about ``cells`` bumps across the width."""
    gw = max(2, int(cells))
    gh = max(2, int(cells * h / w))
    small = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def render_background(name: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    if name == "dark_pad":
        tint = rng.choice([(1.0, 1.0, 1.0), (1.1, 1.15, 0.9), (1.25, 1.0, 0.9), (1.0, 1.05, 1.0)])
        base = rng.uniform(18, 48)
        tex = base + _smooth_noise(h, w, 6, rng) * 5 + _gauss(rng, (h, w), 2.5)
        img = tex[..., None] * np.array(tint, np.float32)
    elif name == "light_grey":
        base = rng.uniform(150, 205)
        tex = base + _smooth_noise(h, w, 5, rng) * 6 + _gauss(rng, (h, w), 1.5)
        img = tex[..., None] * np.array([1.0, rng.uniform(0.98, 1.02), rng.uniform(0.97, 1.04)], np.float32)
    elif name == "wood":
        ang = rng.uniform(0, math.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        u = xx * math.cos(ang) + yy * math.sin(ang)
        v = -xx * math.sin(ang) + yy * math.cos(ang)
        period = w * rng.uniform(0.015, 0.04)
        grain = np.sin(2 * math.pi * v / period + 4 * _smooth_noise(h, w, 4, rng) + 0.003 * u)
        grain = (grain + 1) / 2
        light = np.array([rng.uniform(70, 110), rng.uniform(115, 155), rng.uniform(165, 210)], np.float32)
        dark = light * rng.uniform(0.55, 0.75)
        img = light * (1 - grain[..., None]) + dark * grain[..., None]
        plank = w * rng.uniform(0.25, 0.5)  # seams between planks: long straight dark lines
        seam = np.abs(((v + rng.uniform(0, plank)) % plank) - plank / 2) > plank / 2 - 1.5
        img[seam] *= 0.5
        img += _gauss(rng, (h, w, 1), 3)
    else:  # patterned cloth or mat, mid-toned (a pattern whose ground is paper-white hides the page)
        style = rng.integers(3)
        c1 = rng.uniform(30, 200, 3).astype(np.float32)
        c2 = rng.uniform(30, 200, 3).astype(np.float32)
        cell = w * rng.uniform(0.012, 0.035)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ang = rng.uniform(0, math.pi / 2)
        u = xx * math.cos(ang) + yy * math.sin(ang)
        v = -xx * math.sin(ang) + yy * math.cos(ang)
        if style == 0:  # gingham
            a = ((u // cell) % 2).astype(np.float32)
            b = ((v // cell) % 2).astype(np.float32)
            t = ((a + b) / 2)[..., None]
        elif style == 1:  # stripes
            t = ((u // cell) % 2).astype(np.float32)[..., None]
        else:  # dots
            t = (((u % (2 * cell)) - cell) ** 2 + ((v % (2 * cell)) - cell) ** 2 < (cell * 0.55) ** 2)
            t = t.astype(np.float32)[..., None]
        img = c1 * (1 - t) + c2 * t
        img = cv2.GaussianBlur(img, (0, 0), 0.8)
        img += _gauss(rng, (h, w, 1), 3)
    return img.astype(np.float32)


def _lighting(h, w, rng) -> np.ndarray:
    """Multiplicative light: a gradient, vignetting, and sometimes the soft shadow of the camera arm."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = rng.uniform(-1, 1, 2)
    grad = 1 - rng.uniform(0.0, 0.25) * ((xx / w - 0.5) * gx + (yy / h - 0.5) * gy + 0.5)
    r2 = ((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2
    light = grad * (1 - rng.uniform(0.0, 0.5) * r2)
    if rng.random() < 0.6:
        mask = np.zeros((h, w), np.float32)
        edge = rng.integers(4)
        pts = rng.uniform(0, 1, (4, 2)) * [w, h]
        if edge == 0:
            pts[:2, 1] = -10
        elif edge == 1:
            pts[:2, 1] = h + 10
        elif edge == 2:
            pts[:2, 0] = -10
        else:
            pts[:2, 0] = w + 10
        hull = cv2.convexHull(np.float32(pts)).astype(np.int32)
        cv2.fillPoly(mask, [hull], 1.0)
        mask = _soft(mask, w * rng.uniform(0.01, 0.05))
        light *= 1 - rng.uniform(0.15, 0.45) * mask
    return light


# ---------------------------------------------------------------------------------------------
# Geometry

def _project(doc_w, doc_h, scale, roll, pitch, yaw, focal, cx, cy) -> np.ndarray:
    """Image corners of a doc_w x doc_h rectangle seen by a pinhole camera, centred at (cx, cy)."""
    hw, hh = doc_w * scale / 2, doc_h * scale / 2
    pts = np.array([[-hw, -hh, 0], [hw, -hh, 0], [hw, hh, 0], [-hw, hh, 0]], np.float64)
    cr, sr = math.cos(roll), math.sin(roll)
    cp, sp = math.cos(pitch), math.sin(pitch)
    cyw, syw = math.cos(yaw), math.sin(yaw)
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    ry = np.array([[cyw, 0, syw], [0, 1, 0], [-syw, 0, cyw]])
    p = pts @ (ry @ rx @ rz).T
    z = p[:, 2] + focal
    return np.stack([cx + focal * p[:, 0] / z, cy + focal * p[:, 1] / z], axis=1)


def _camera_effects(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = rng.uniform(0.0, 1.5)
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    img = img + _gauss(rng, img.shape[:2] + (1,), rng.uniform(1.0, 5.0))  # luminance noise
    out = np.clip(img, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 95))])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _place(rng, kind, w, h, doc_aspect) -> np.ndarray:
    """Pick a pose that keeps the whole document inside the frame with a margin."""
    lo, hi = _COVERAGE[kind]
    area = rng.uniform(lo, hi) * w * h
    doc_h_unit = 1.0
    doc_w_unit = doc_aspect
    scale = math.sqrt(area / (doc_w_unit * doc_h_unit))
    roll = rng.uniform(-0.5, 0.5) if rng.random() < 0.85 else rng.uniform(-math.pi, math.pi)
    pitch, yaw = rng.uniform(-0.18, 0.18, 2)
    focal = w * rng.uniform(1.0, 1.6)
    margin = 0.03 * min(w, h)
    for _ in range(60):
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        quad = _project(doc_w_unit, doc_h_unit, scale, roll, pitch, yaw, focal, cx, cy)
        x0, y0 = quad.min(axis=0)
        x1, y1 = quad.max(axis=0)
        if x1 - x0 > w - 2 * margin or y1 - y0 > h - 2 * margin:
            scale *= 0.93
            continue
        quad += [max(0, margin - x0) - max(0, x1 - (w - margin)), max(0, margin - y0) - max(0, y1 - (h - margin))]
        return quad
    return quad


# ---------------------------------------------------------------------------------------------
# Scenes

def compose(background: np.ndarray, doc: np.ndarray, mask: np.ndarray, quad: np.ndarray,
            rng: np.random.Generator | None = None, shadow: float = 0.35) -> tuple[np.ndarray, np.ndarray]:
    """Paste ``doc`` onto a float32 background so its outer corners land on ``quad``; returns image and H."""
    h, w = background.shape[:2]
    dh, dw = doc.shape[:2]
    src = np.float32([[-0.5, -0.5], [dw - 0.5, -0.5], [dw - 0.5, dh - 0.5], [-0.5, dh - 0.5]])
    H = cv2.getPerspectiveTransform(src, np.float32(quad))
    cover = cv2.warpPerspective(mask, H, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if shadow > 0:
        dx, dy = (rng.uniform(-1, 1, 2) * w * 0.006) if rng is not None else (w * 0.003, w * 0.004)
        shifted = cv2.warpAffine(cover, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h))
        soft = _soft(shifted, w * 0.006)
        background = background * (1 - shadow * soft)[..., None]
    paper = cv2.warpPerspective(doc, H, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    c = cover[..., None]
    return background * (1 - c) + paper.astype(np.float32) * c, H


def _scatter_objects(img: np.ndarray, rng: np.random.Generator) -> None:
    """Small things that are not documents: a pen, a coin."""
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(0, 3))):
        if rng.random() < 0.5:
            c = (float(rng.uniform(w * 0.2, w * 0.8)), float(rng.uniform(h * 0.2, h * 0.8)))
            box = cv2.boxPoints((c, (w * rng.uniform(0.15, 0.3), w * 0.012), float(rng.uniform(0, 180))))
            cv2.fillPoly(img, [np.int32(box)], tuple(float(v) for v in rng.uniform(20, 200, 3)), cv2.LINE_AA)
        else:
            cv2.circle(img, (int(rng.uniform(0.2, 0.8) * w), int(rng.uniform(0.2, 0.8) * h)), int(w * 0.018),
                       tuple(float(v) for v in rng.uniform(120, 210, 3)), -1, cv2.LINE_AA)


def make_scene(seed: int, size: tuple[int, int] = (1280, 960), *, kind: str | None = None,
               background: str | None = None) -> Scene:
    """One frame: ``kind`` is a document kind, ``"none"`` for an empty pad, or None to draw one."""
    rng = np.random.default_rng(seed)
    w, h = size
    kind = kind or str(rng.choice(KINDS))
    background = background or str(rng.choice(BACKGROUNDS))
    img = render_background(background, h, w, rng)
    corners = H = doc_size = None
    if kind == "none":
        _scatter_objects(img, rng)
    else:
        landscape = None if kind != "a4" else bool(rng.random() < 0.25)
        wmm, hmm = SIZES_MM[kind]
        if landscape is not None and (wmm > hmm) != landscape:
            wmm, hmm = hmm, wmm
        quad = _place(rng, kind, w, h, wmm / hmm)
        footprint = max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3]))
        doc = render_document(kind, int(footprint * rng.uniform(1.0, 1.4)), rng, landscape=landscape)
        mask = document_mask(kind, doc.shape[1], doc.shape[0])
        img, H = compose(img, doc, mask, quad, rng, shadow=float(rng.uniform(0.1, 0.5)))
        corners = quad.astype(np.float64)
        doc_size = (doc.shape[1], doc.shape[0])
    img = img * _lighting(h, w, rng)[..., None]
    return Scene(_camera_effects(img, rng), corners, kind, background, seed, doc_size, H)


# The set the pipeline tests assert on and the benchmark reports: 48 documents (every kind on every
# background, three times over) and 8 empty pads, at a moderate resolution so the suite stays fast.
EVALUATION_SET = {"count": 48, "seed": 2015, "size": (1024, 768), "empty": 8}


def evaluation_set() -> list[Scene]:
    return make_set(**EVALUATION_SET)


def make_set(count: int, *, seed: int = 2015, size: tuple[int, int] = (1280, 960),
             empty: int = 0) -> list[Scene]:
    """``count`` scenes cycling through every kind × background, plus ``empty`` scenes without a page."""
    scenes = []
    combos = [(k, b) for b in BACKGROUNDS for k in KINDS]
    for i in range(count):
        k, b = combos[i % len(combos)]
        scenes.append(make_scene(seed * 1000 + i, size, kind=k, background=b))
    for i in range(empty):
        scenes.append(make_scene(seed * 1000 + 500 + i, size, kind="none", background=BACKGROUNDS[i % len(BACKGROUNDS)]))
    return scenes


# ---------------------------------------------------------------------------------------------
# The sim:// camera: documents that slide onto a dark pad, rest, and leave

class SimulatedDesk:
    """Frames of a document camera looking at a dark pad, as a pure function of time.

    A cycle: the document rests for ``rest_s``, slides out (``move_s``), the pad stays empty for
    ``empty_s``, the next document slides in (``move_s``) and rests. Time 0 is the start of the first
    rest, so the first frame already shows a page. Same seed and time, same frame.
    """

    def __init__(self, seed: int = 1, size: tuple[int, int] = (1280, 960), *, rest_s: float = 3.0,
                 move_s: float = 1.2, empty_s: float = 0.6) -> None:
        self.seed = seed
        self.size = size
        self.rest_s, self.move_s, self.empty_s = rest_s, move_s, empty_s
        self._cycle_s = rest_s + 2 * move_s + empty_s
        w, h = size
        rng = np.random.default_rng([seed, 0])
        self._background = render_background("dark_pad", h, w, rng)
        self._light = _lighting(h, w, rng)[..., None]
        self._noise = []  # sensor noise as (add, subtract) pairs for saturating uint8 arithmetic
        for i in range(3):
            n = np.round(_gauss(np.random.default_rng([seed, 1, i]), (h, w), 2.0))
            n = np.repeat(n[..., None], 3, axis=2)
            self._noise.append((np.clip(n, 0, 255).astype(np.uint8), np.clip(-n, 0, 255).astype(np.uint8)))
        self._docs: dict[int, tuple] = {}
        self._still: tuple | None = None  # (cycle, composed frame) while a document rests

    def _document(self, cycle: int):
        if cycle not in self._docs:
            if len(self._docs) > 2:
                self._docs.pop(min(self._docs))
            rng = np.random.default_rng([self.seed, 2, cycle])
            w, h = self.size
            kind = KINDS[(cycle + self.seed) % len(KINDS)]
            wmm, hmm = SIZES_MM[kind]
            rest = _place(rng, kind, w, h, wmm / hmm)
            footprint = max(np.linalg.norm(rest[1] - rest[0]), np.linalg.norm(rest[2] - rest[3]))
            doc = render_document(kind, int(footprint), rng)
            angle = rng.uniform(0, 2 * math.pi)
            away = np.array([math.cos(angle), math.sin(angle)]) * math.hypot(w, h)
            self._docs[cycle] = (kind, doc, document_mask(kind, doc.shape[1], doc.shape[0]), rest, away,
                                 rng.uniform(-0.3, 0.3))
        return self._docs[cycle]

    def corners_at(self, t: float) -> np.ndarray | None:
        """Where the document's corners are at time ``t`` (None while the pad is empty)."""
        pose = self._pose(t)
        return None if pose is None else pose[1]

    def _pose(self, t: float):
        cycle, into = divmod(max(0.0, t), self._cycle_s)
        cycle = int(cycle)
        if into < self.rest_s:
            away = 0.0
        elif into < self.rest_s + self.move_s:
            p = (into - self.rest_s) / self.move_s
            away = p * p                      # eases out of rest
        elif into < self.rest_s + self.move_s + self.empty_s:
            return None
        else:
            cycle += 1                        # the next document arriving
            p = (into - self.rest_s - self.move_s - self.empty_s) / self.move_s
            away = (1 - p) ** 2               # eases into rest
        kind, doc, mask, rest, shift, turn = self._document(cycle)
        centre = rest.mean(axis=0)
        a = turn * away
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        quad = (rest - centre) @ rot.T + centre + shift * away
        return cycle, quad

    def _composed(self, pose) -> np.ndarray:
        img = self._background.copy()
        if pose is not None:
            kind, doc, mask, *_ = self._document(pose[0])
            img, _ = compose(img, doc, mask, pose[1], None, shadow=0.3)
        return np.clip(img * self._light, 0, 255).astype(np.uint8)

    def frame(self, t: float) -> np.ndarray:
        pose = self._pose(t)
        resting = pose is not None and np.allclose(pose[1], self._document(pose[0])[3])
        if resting and self._still is not None and self._still[0] == pose[0]:
            base = self._still[1]
        else:
            base = self._composed(pose)
            if resting:
                self._still = (pose[0], base)
        add, sub = self._noise[int(t * 30) % len(self._noise)]
        return cv2.subtract(cv2.add(base, add), sub)
