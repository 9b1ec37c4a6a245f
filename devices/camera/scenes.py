"""Full-resolution synthetic captures for scoring page detection, with the truth of every page.

What a document camera over a kiosk's desk sees at 3264×2448: A4 forms with ruled tables, boxed
fields, stamps and handwriting; ID cards; open household-register booklets; till receipts; two
documents side by side; large pages that reach one or two edges of the field of view; on dark pads,
light desks, wood and patterned cloth; with glare spots, shadow bands across the desk, a hand holding
the page down, rotations to ±20° (and pages that lie upside down or sideways), perspective, blur,
noise and JPEG artefacts.

Two disjoint splits, each a family of layouts and a seed of its own:

* ``tune``: the captures detection is developed on;
* ``holdout``: different form layouts (a printed frame close to the paper's edge, double-ruled and
  underlined tables, check-box grids, narrow margins), different card and booklet colours, narrower
  receipts, other desks (felt, near-white desks and cutting mats, dark and pale wood, plaid) and
  different shadow, glare and hand shapes. Scored, never tuned on.

Truth: ``corners`` is the visible page (TL, TR, BR, BL of the document itself, so ``corners[0]`` is
the document's upright top-left wherever it lies); where a page runs out of the frame, the frame's
edge replaces its missing side. ``score`` compares an outline with it in the document's own frame
(SmartDoc 2015 style), so large and small documents are judged alike.
"""
from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from devices.camera.documents import _seal, _text_line, document_mask, render_document
from devices.camera.quality import jaccard
from devices.camera.synth import _gauss, _lighting, _project, _smooth_noise, compose, render_background

VERSION = 2  # bump when the drawing changes, so cached captures are redrawn
SIZE = (3264, 2448)
CLASSES = ("form", "id_card", "booklet", "receipt", "two_pages", "edge", "empty")
SPLITS = {
    "tune": {"seed": 7301, "count": 112},
    "holdout": {"seed": 99017, "count": 56},
    # a second draw of the held-out layouts with a seed of its own, first scored with the final code
    "holdout2": {"seed": 55511, "count": 56},
    # a third, its seed drawn after the detector's speed work, scored once with that code
    "holdout3": {"seed": 36881, "count": 56},
    # more of the tune family, with what the held-out draws showed to be hard (a second A4 page cut
    # by the frame, a card or booklet beside the page, more fingers, larger glare and shadow bands)
    "tune_b": {"seed": 8243, "count": 56},
    # a fourth held-out draw, its seed drawn after the work on tune_b, scored once with that code
    "holdout4": {"seed": 71263, "count": 56},
    # more of the tune family again, weighted towards what is still hard: a card or booklet beside
    # a page, cards and receipts with a hand on dark or patterned ground, pages at the frame's edge
    # with a hand on cloth
    "tune_c": {"seed": 4129, "count": 140},
    # a fifth held-out draw, its seed drawn after the work on tune_c, scored once with that code
    "holdout5": {"seed": 62417, "count": 56},
    # more of the tune family, weighted towards what the fifth held-out draw still found hard: pale
    # documents on a light desk with a shadow, glare or a hand; fingers over a card's or a receipt's
    # sides; booklets with a hand on a dark pad
    "tune_d": {"seed": 6007, "count": 70},
    # a sixth held-out draw, its seed drawn after the work on tune_d, scored once with that code
    "holdout6": {"seed": 83921, "count": 56},
    # more of the tune family, weighted towards what the sixth held-out draw still found hard: pale
    # cards and receipts on a light desk with glare, a shadow band and fingers; a hand across a card
    # on a dark pad; booklets on a light desk with a shadow band; pages at the frame's edge on
    # patterned cloth with a shadow and a hand
    "tune_e": {"seed": 9137, "count": 120},
    # and towards pages at the frame's edge on cloth with a shadow band and a hand, and documents a
    # hand hides part of
    "tune_f": {"seed": 5521, "count": 90},
    # and towards cards, receipts and pages at the frame's edge under deep shadow bands and a hand,
    # on the dark pad above all
    "tune_g": {"seed": 3307, "count": 60},
    # a seventh held-out draw, its seed drawn after the work on tune_e, tune_f and tune_g, scored
    # once with that code
    "holdout7": {"seed": 29569, "count": 56},
    # more of the tune family, weighted towards what the seventh held-out draw still found hard:
    # pale cards on a light desk under a deep shadow band with glare, a second page cut by the
    # frame's edge on the dark pad with a shadow, cards on cloth under a hand and a shadow
    "tune_h": {"seed": 4817, "count": 80},
    # an eighth held-out draw, its seed drawn after the work on tune_h, scored once with that code
    "holdout8": {"seed": 41227, "count": 56},
    # more of the tune family: receipts on a light desk under a shadow band with a hand on them
    # (the hardest class the held-out draws kept showing)
    "tune_i": {"seed": 77340, "count": 40},
    # a ninth held-out draw, its seed drawn after the speed work that followed holdout8, scored
    # once with that code
    "holdout9": {"seed": 72238, "count": 56},
}
# Background families per split (the tune split uses the generator the pipeline tests use).
GROUNDS = {
    "tune": ("dark_pad", "wood", "light_grey", "patterned"),
    "holdout": ("felt", "pale_desk", "dark_wood", "plaid"),
}
GROUNDS["holdout2"] = GROUNDS["holdout3"] = GROUNDS["holdout4"] = GROUNDS["holdout5"] = GROUNDS["holdout6"] = GROUNDS["holdout"]
GROUNDS["holdout7"] = GROUNDS["holdout8"] = GROUNDS["holdout9"] = GROUNDS["holdout"]
GROUNDS["tune_b"] = GROUNDS["tune"]
GROUNDS["tune_c"] = ("dark_pad", "patterned", "wood", "patterned", "dark_pad", "light_grey")
GROUNDS["tune_d"] = ("light_grey", "dark_pad", "light_grey", "wood", "light_grey")
GROUNDS["tune_e"] = ("light_grey", "dark_pad", "light_grey", "patterned", "dark_pad")
GROUNDS["tune_f"] = ("patterned", "light_grey", "patterned", "dark_pad", "wood")
GROUNDS["tune_g"] = ("dark_pad", "patterned", "dark_pad", "light_grey")
GROUNDS["tune_h"] = ("light_grey", "dark_pad", "patterned", "light_grey")
GROUNDS["tune_i"] = ("light_grey",)
GROUND_KIND = {"dark_pad": "dark", "felt": "dark", "wood": "wood", "dark_wood": "wood",
               "light_grey": "light", "pale_desk": "light", "patterned": "cloth", "plaid": "cloth"}

# Layout parameters per split: margins of a form's content, how often each form layout appears, and
# sizes of the other documents.
LAYOUT = {
    "tune": {
        "margin": (0.07, 0.12), "forms": ("grid", "boxes", "grid_boxes", "letter", "full_grid"),
        "receipt_mm": (80.0, (120.0, 220.0)), "px_per_mm": (5.5, 9.0), "turned": 0.25,
        "second": ("a5", "receipt"), "edge_over": (-6.0, 25.0), "two_edges": 0.35,
        "shadow": (0.45, 0.72), "band": (0.06, 0.2), "glare": (0.02, 0.05), "fingers": (2, 4),
    },
    "holdout": {
        "margin": (0.03, 0.065), "forms": ("framed", "double", "underline_checks", "two_tables"),
        "receipt_mm": (58.0, (150.0, 300.0)), "px_per_mm": (5.0, 9.5), "turned": 0.3,
        "second": ("id_card", "booklet", "a4_cut"), "edge_over": (-4.0, 40.0), "two_edges": 0.5,
        "shadow": (0.5, 0.8), "band": (0.1, 0.28), "glare": (0.03, 0.07), "fingers": (1, 5),
    },
}
LAYOUT["holdout2"] = LAYOUT["holdout3"] = LAYOUT["holdout4"] = LAYOUT["holdout5"] = LAYOUT["holdout6"] = LAYOUT["holdout"]
LAYOUT["holdout7"] = LAYOUT["holdout8"] = LAYOUT["holdout9"] = LAYOUT["holdout"]
LAYOUT["tune_b"] = {**LAYOUT["tune"], "second": ("a5", "receipt", "a4_cut", "id_card", "booklet"),
                    "edge_over": (-6.0, 40.0), "band": (0.06, 0.28), "glare": (0.02, 0.07), "fingers": (1, 5)}
# tune_c: its own cycle of classes and grounds (a ground per capture, not per cycle of classes) and a
# hand on half the documents
LAYOUT["tune_c"] = {**LAYOUT["tune_b"], "second": ("id_card", "booklet", "a4_cut", "booklet", "id_card", "receipt"),
                    "classes": ("two_pages", "id_card", "receipt", "edge", "two_pages", "id_card", "booklet",
                                "receipt", "empty", "form"),
                    "hand": 0.5}

LAYOUT["tune_d"] = {**LAYOUT["tune_c"], "classes": ("id_card", "receipt", "edge", "booklet", "form", "id_card", "booklet"),
                    "hand": 0.7, "fingers": (2, 5)}
LAYOUT["tune_e"] = {**LAYOUT["tune_c"], "classes": ("id_card", "receipt", "booklet", "edge", "id_card", "receipt"),
                    "hand": 0.8, "fingers": (2, 5), "band": (0.1, 0.28), "glare": (0.03, 0.07), "shadow_p": 0.5}
LAYOUT["tune_f"] = {**LAYOUT["tune_e"], "classes": ("edge", "booklet", "edge", "receipt", "edge", "id_card"),
                    "hand": 0.9, "shadow_p": 0.6, "two_edges": 0.5}
LAYOUT["tune_g"] = {**LAYOUT["tune_e"], "classes": ("id_card", "receipt", "edge", "id_card", "receipt"),
                    "hand": 0.85, "shadow_p": 0.7, "shadow": (0.5, 0.8)}
LAYOUT["tune_h"] = {**LAYOUT["tune_g"], "classes": ("id_card", "two_pages", "id_card", "two_pages", "id_card"),
                    "second": ("a4_cut", "a4_cut", "id_card", "a4_cut", "booklet"), "shadow_p": 0.75,
                    "band": (0.1, 0.28), "glare": (0.03, 0.07), "fingers": (1, 5)}

LAYOUT["tune_i"] = {**LAYOUT["tune_h"], "classes": ("receipt",), "receipt_mm": (66.0, (130.0, 260.0)),
                    "hand": 1.0, "shadow_p": 1.0}


def family(split: str) -> str:
    """Which drawing style a split's cards, booklets and receipts have: ``tune`` or ``holdout``."""
    return "tune" if split.startswith("tune") else "holdout"
A4_MM = (210.0, 297.0)
ID_MM = (85.6, 53.98)
BOOKLET_MM = (203.0, 146.0)


@dataclass(frozen=True)
class Capture:
    """One synthetic capture (``jpeg``: as the camera sends it) and its truth.

    ``corners``: the visible document, TL, TR, BR, BL of the document itself (None: no document);
    ``homography``: flat document pixels → frame (for scoring in the document's frame);
    ``conditions``: what makes it hard (background family, shadow, glare, hand, turned, ...).
    """

    jpeg: bytes
    corners: np.ndarray | None
    cls: str
    split: str
    seed: int
    background: str
    conditions: tuple[str, ...] = ()
    homography: np.ndarray | None = None
    doc_kind: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def image(self) -> np.ndarray:
        """The frame, decoded (BGR)."""
        return cv2.imdecode(np.frombuffer(self.jpeg, np.uint8), cv2.IMREAD_COLOR)

    @property
    def turns(self) -> int | None:
        """Clockwise quarter turns the document lies at (0 upright, 1 its top to the right, ...)."""
        if self.corners is None:
            return None
        top = self.corners[1] - self.corners[0]
        ang = math.degrees(math.atan2(top[1], top[0]))  # direction of the document's top edge
        return int(round(ang / 90.0)) % 4


def score(capture: Capture, found: np.ndarray | None) -> float:
    """Jaccard index of ``found`` against the truth, both mapped into the document's own frame;
    1.0 when there is no document and nothing was found, 0.0 for a miss or a false page."""
    if capture.corners is None:
        return 1.0 if found is None else 0.0
    if found is None:
        return 0.0
    inv = np.linalg.inv(capture.homography)

    def flat(q):
        p = np.hstack([np.asarray(q, np.float64), np.ones((4, 1))]) @ inv.T
        return None if np.any(p[:, 2] <= 1e-9) else p[:, :2] / p[:, 2:3]

    t, f = flat(capture.corners), flat(found)
    return 0.0 if f is None else jaccard(t, f)


# ---------------------------------------------------------------------------------------------
# Backgrounds (rendered at half size: texture detail finer than that is lost to the lens anyway)

def _background(name: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    hh, hw = h // 2, w // 2
    if name in ("dark_pad", "wood", "light_grey", "patterned"):
        small = render_background(name, hh, hw, rng)
        if name == "light_grey" and rng.random() < 0.5:  # a paler desk, closer to the paper
            small = small * np.float32(rng.uniform(1.05, 1.12))
    elif name == "felt":
        tint = np.array(rng.choice([(0.9, 1.15, 0.9), (1.2, 1.0, 0.85), (1.0, 0.95, 1.2), (1.0, 1.0, 1.0)]), np.float32)
        fibre = cv2.GaussianBlur(_gauss(rng, (hh, hw), 12), (0, 0), 1.2)
        small = (rng.uniform(25, 62) + fibre + _smooth_noise(hh, hw, 4, rng) * 7)[..., None] * tint
    elif name == "pale_desk":
        base = rng.uniform(170, 212)
        small = (base + _smooth_noise(hh, hw, 3, rng) * 5 + _gauss(rng, (hh, hw), 1.2))[..., None] \
            * np.array([rng.uniform(0.95, 1.0), 1.0, rng.uniform(1.0, 1.05)], np.float32)
        if rng.random() < 0.5:  # a cutting mat: a faint printed grid
            step = hw * rng.uniform(0.03, 0.06)
            off = rng.uniform(0, step, 2)
            ink = rng.uniform(0.8, 0.9)
            for x in np.arange(off[0], hw, step):
                small[:, int(x)] *= ink
            for y in np.arange(off[1], hh, step):
                small[int(y), :] *= ink
    elif name == "dark_wood":
        ang = rng.uniform(0, math.pi)
        yy, xx = np.mgrid[0:hh, 0:hw].astype(np.float32)
        v = -xx * math.sin(ang) + yy * math.cos(ang)
        period = hw * rng.uniform(0.01, 0.03)
        grain = (np.sin(2 * math.pi * v / period + 6 * _smooth_noise(hh, hw, 3, rng)) + 1) / 2
        if rng.random() < 0.5:  # walnut
            light = np.array([rng.uniform(40, 60), rng.uniform(60, 85), rng.uniform(95, 130)], np.float32)
        else:                   # birch
            light = np.array([rng.uniform(120, 150), rng.uniform(160, 185), rng.uniform(190, 215)], np.float32)
        small = light * (1 - 0.35 * grain[..., None]) + _gauss(rng, (hh, hw, 1), 2.5)
    else:  # plaid: stripes of several colours both ways
        cols = rng.uniform(30, 190, (3, 3)).astype(np.float32)
        yy, xx = np.mgrid[0:hh, 0:hw].astype(np.float32)
        ang = rng.uniform(0, math.pi / 2)
        u = xx * math.cos(ang) + yy * math.sin(ang)
        v = -xx * math.sin(ang) + yy * math.cos(ang)
        p = hw * rng.uniform(0.05, 0.1)
        a = ((u % p) < p * 0.35).astype(np.float32)[..., None]
        b = ((v % p) < p * 0.35).astype(np.float32)[..., None]
        c = ((u % (p / 3)) < p * 0.04).astype(np.float32)[..., None]
        small = cols[0] * (1 - 0.5 * a - 0.5 * b) + cols[1] * 0.5 * a + cols[2] * 0.5 * b
        small = small * (1 - 0.3 * c)
        small = cv2.GaussianBlur(small, (0, 0), 0.7) + _gauss(rng, (hh, hw, 1), 2.5)
    return cv2.resize(np.asarray(small, np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


# ---------------------------------------------------------------------------------------------
# Documents

def _scribble(img, x0, y0, x1, y1, rng, ink) -> None:
    """A handwritten word: a smooth random pen path across the box."""
    n = int(rng.integers(12, 30))
    xs = np.linspace(x0, x1, n) + rng.normal(0, (x1 - x0) / n * 0.4, n)
    ys = (y0 + y1) / 2 + np.cumsum(rng.normal(0, (y1 - y0) * 0.25, n))
    ys = np.clip(ys, y0, y1)
    pts = np.stack([xs, ys], axis=1)
    k = np.array([0.25, 0.5, 0.25])
    pts[1:-1] = np.stack([np.convolve(pts[:, 0], k, "same"), np.convolve(pts[:, 1], k, "same")], 1)[1:-1]
    t = max(1, int((y1 - y0) * rng.uniform(0.06, 0.12)))
    cv2.polylines(img, [np.int32(pts)], False, ink, t, cv2.LINE_AA)


def _stamp(img, cx, cy, r, rng) -> None:
    """A red seal printed over whatever is there (multiplied, so the print shows through)."""
    layer = np.full_like(img, 255)
    _seal(layer, cx, cy, r, rng)
    cv2.circle(layer, (int(cx), int(cy)), int(r * 0.8), tuple(int(v) for v in layer[int(cy), int(cx + r) - 1]),
               max(1, int(r * 0.02)), cv2.LINE_AA)
    np.multiply(img, layer / 255.0, out=img, casting="unsafe")


def _grid(img, x0, y0, x1, rows, row_h, cols, rng, t, ink=(40, 40, 40), fill=True) -> int:
    """A ruled table; returns its bottom."""
    y1 = int(y0 + rows * row_h)
    for r in range(rows + 1):
        cv2.line(img, (int(x0), int(y0 + r * row_h)), (int(x1), int(y0 + r * row_h)), ink, t)
    xs = [x0] + sorted(rng.uniform(x0, x1, cols - 1)) + [x1] if rng.random() < 0.5 else list(np.linspace(x0, x1, cols + 1))
    for x in xs:
        cv2.line(img, (int(x), int(y0)), (int(x), y1), ink, t)
    if fill:
        for r in range(rows):
            for c in range(cols):
                cw = xs[c + 1] - xs[c]
                if c % 2 == 0 or rng.random() < 0.3:
                    _text_line(img, xs[c] + row_h * 0.2, y0 + r * row_h + row_h * 0.68, cw * 0.7, row_h * 0.38, rng)
                elif rng.random() < 0.7:
                    _scribble(img, xs[c] + cw * 0.1, y0 + r * row_h + row_h * 0.2, xs[c] + cw * 0.7,
                              y0 + (r + 1) * row_h - row_h * 0.2, rng, (140, 60, 20) if rng.random() < 0.6 else (30, 30, 30))
    return y1


def _boxes(img, x0, y, n, box, rng, t) -> None:
    """A row of boxed fields (one character each, like an ID number)."""
    for i in range(n):
        cv2.rectangle(img, (int(x0 + i * box), int(y)), (int(x0 + (i + 1) * box), int(y + box)), (50, 50, 50), t)
        if rng.random() < 0.8:
            cv2.putText(img, str(int(rng.integers(10))), (int(x0 + i * box + box * 0.22), int(y + box * 0.8)),
                        cv2.FONT_HERSHEY_SIMPLEX, box / 36.0, (140, 60, 20), max(1, int(box / 16)), cv2.LINE_AA)


def render_form(w: int, h: int, rng: np.random.Generator, layout: str, margin: float) -> np.ndarray:
    """A government form ``w``×``h`` px: title, then a layout of ruled tables and boxed fields."""
    tone = int(rng.integers(228, 252))
    img = np.empty((h, w, 3), np.uint8)
    img[:] = (tone - int(rng.integers(0, 8)), tone - int(rng.integers(0, 4)), tone)
    m = int(w * margin)
    line_h = w * rng.uniform(0.026, 0.036)
    t = max(1, int(w * rng.uniform(0.0012, 0.0025)))
    y = m
    if layout == "framed":  # a printed frame close to the paper's edge, around everything
        inset = int(w * rng.uniform(0.02, 0.035))
        cv2.rectangle(img, (inset, inset), (w - inset, h - inset), (40, 40, 40), max(2, 2 * t))
        if rng.random() < 0.5:
            cv2.rectangle(img, (inset + 3 * t, inset + 3 * t), (w - inset - 3 * t, h - inset - 3 * t), (40, 40, 40), t)
    _text_line(img, w * 0.3, y + line_h, w * 0.4, line_h * 1.0, rng, (20, 20, 20), max(1, int(line_h / 9)))
    y += int(line_h * 2.0)
    _text_line(img, m, y, (w - 2 * m) * 0.9, line_h * 0.45, rng)
    y += int(line_h * 0.8)
    if layout in ("boxes", "grid_boxes", "underline_checks"):
        box = (w - 2 * m) / 22.0
        _text_line(img, m, y + box * 0.7, box * 3.5, line_h * 0.4, rng)
        _boxes(img, m + box * 4, y, 18, box, rng, t)
        y += int(box * 1.6)
    if layout == "full_grid":  # a table filling the page nearly to the paper's edge
        m = int(w * rng.uniform(0.035, 0.06))
    if layout in ("grid", "grid_boxes", "double", "framed", "two_tables", "full_grid"):
        rows = int(rng.integers(6, 14))
        row_h = line_h * rng.uniform(1.4, 2.0)
        rows = max(3, min(rows, int((h - m - y - line_h * 6) / row_h)))
        if layout == "double":
            cv2.rectangle(img, (m - 4 * t, y - 4 * t), (w - m + 4 * t, int(y + rows * row_h) + 4 * t), (40, 40, 40), t)
        bottom = _grid(img, m, y, w - m, rows, row_h, int(rng.integers(2, 6)), rng, max(t, 2 * t if layout == "double" else t))
        y = bottom + int(line_h)
        if layout == "two_tables":
            rows2 = max(2, min(int(rng.integers(3, 7)), int((h - m - y - line_h * 4) / row_h)))
            y = _grid(img, m + (w - 2 * m) * 0.5, y, w - m, rows2, row_h, 2, rng, t) + int(line_h)
    if layout == "underline_checks":
        for _ in range(int(rng.integers(5, 10))):
            if y > h - m - line_h * 4:
                break
            _text_line(img, m, y + line_h * 0.7, (w - 2 * m) * 0.25, line_h * 0.4, rng)
            cv2.line(img, (int(m + (w - 2 * m) * 0.3), int(y + line_h * 0.8)), (w - m, int(y + line_h * 0.8)), (60, 60, 60), t)
            _scribble(img, m + (w - 2 * m) * 0.32, y, m + (w - 2 * m) * 0.7, y + line_h * 0.75, rng, (140, 60, 20))
            y += int(line_h * 1.3)
        box = line_h * 0.7
        for i in range(int(rng.integers(3, 7))):
            bx = m + i * (w - 2 * m) / 6
            cv2.rectangle(img, (int(bx), int(y)), (int(bx + box), int(y + box)), (50, 50, 50), t)
            if rng.random() < 0.4:
                cv2.line(img, (int(bx + box * 0.2), int(y + box * 0.5)), (int(bx + box * 0.45), int(y + box * 0.85)), (140, 60, 20), 2 * t)
                cv2.line(img, (int(bx + box * 0.45), int(y + box * 0.85)), (int(bx + box * 0.9), int(y + box * 0.1)), (140, 60, 20), 2 * t)
            _text_line(img, bx + box * 1.3, y + box * 0.85, (w - 2 * m) / 6 - box * 1.6, box * 0.6, rng)
        y += int(box * 2)
    if layout == "letter" or y < h * 0.5:  # body text
        fill = rng.uniform(0.3, 0.8)
        yy = y + line_h
        while yy < y + (h - m - y) * fill:
            _text_line(img, m, yy, (w - 2 * m) * (rng.uniform(0.4, 0.8) if rng.random() < 0.15 else 1.0),
                       line_h * 0.5, rng, thickness=max(1, int(line_h / 20)))
            yy += line_h
        y = int(yy)
    # signature and date at the bottom, a stamp over them
    sy = min(h - m - line_h * 2, max(y + line_h, h * 0.8))
    _text_line(img, w * 0.55, sy, w * 0.15, line_h * 0.45, rng)
    _scribble(img, w * 0.72, sy - line_h * 0.9, w - m, sy + line_h * 0.2, rng, (30, 30, 30) if rng.random() < 0.5 else (140, 60, 20))
    if rng.random() < 0.75:
        _stamp(img, w * rng.uniform(0.6, 0.78), min(h - m, sy + line_h * rng.uniform(-1, 1)), w * rng.uniform(0.07, 0.1), rng)
    return img


def render_receipt(w: int, h: int, rng: np.random.Generator, split: str) -> np.ndarray:
    """A thermal till receipt: centred header, item lines, total, a barcode or a QR-like block."""
    img = np.empty((h, w, 3), np.uint8)
    tone = int(rng.integers(236, 252))
    img[:] = (tone, tone, tone - int(rng.integers(0, 5)))
    m = int(w * 0.06)
    lh = w * rng.uniform(0.055, 0.075)
    y = m + lh
    _text_line(img, w * 0.2, y, w * 0.6, lh * 0.8, rng, (25, 25, 25), max(1, int(lh / 12)))
    y += lh * 1.5
    while y < h * 0.7:
        if family(split) != "tune" and rng.random() < 0.12:
            for x in range(m, w - m, int(lh * 0.5)):
                cv2.line(img, (x, int(y - lh * 0.3)), (int(x + lh * 0.25), int(y - lh * 0.3)), (60, 60, 60), 1)
        else:
            _text_line(img, m, y, (w - 2 * m) * 0.6, lh * 0.45, rng, (50, 50, 50))
            _text_line(img, w - m - (w - 2 * m) * 0.2, y, (w - 2 * m) * 0.2, lh * 0.45, rng, (50, 50, 50))
        y += lh
    y += lh
    if family(split) == "tune":  # a barcode
        x = m * 2
        while x < w - 2 * m:
            bw = int(rng.integers(1, 4)) * max(1, w // 200)
            if rng.random() < 0.5:
                cv2.rectangle(img, (x, int(y)), (x + bw, int(y + lh * 2)), (20, 20, 20), -1)
            x += bw
    else:  # a QR-like block
        n, side = 21, int(w * 0.45)
        cell = side / n
        x0 = (w - side) // 2
        bits = rng.random((n, n)) < 0.5
        for r in range(n):
            for c in range(n):
                if bits[r, c]:
                    cv2.rectangle(img, (int(x0 + c * cell), int(y + r * cell)), (int(x0 + (c + 1) * cell), int(y + (r + 1) * cell)), (20, 20, 20), -1)
    return img


def render_card(w: int, h: int, rng: np.random.Generator, split: str) -> np.ndarray:
    """A resident ID card, front (portrait on the right) or back (emblem at the top left)."""
    if family(split) == "tune":
        return render_document("id_card", w, rng)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.array([rng.uniform(215, 250), rng.uniform(200, 235), rng.uniform(180, 225)], np.float32)
    b = np.array([rng.uniform(190, 230), rng.uniform(215, 245), rng.uniform(225, 250)], np.float32)
    t = (yy / h * 0.6 + xx / w * 0.4)[..., None]
    img = a * (1 - t) + b * t
    for k in range(4):
        r = np.hypot(xx - w * rng.uniform(0.2, 0.8), yy - h * rng.uniform(0.2, 0.8))
        ring = np.exp(-((np.sin(r / (w * 0.012)) ** 2) / 0.02))[..., None]
        img = img * (1 - 0.06 * ring)
    img = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        px0, py0, px1, py1 = int(w * rng.uniform(0.6, 0.66)), int(h * 0.12), int(w * rng.uniform(0.9, 0.94)), int(h * 0.74)
        cx = (px0 + px1) // 2
        cv2.ellipse(img, (cx, int(py0 + (py1 - py0) * 0.45)), (int((px1 - px0) * 0.32), int((py1 - py0) * 0.38)),
                    0, 0, 360, (30, 30, 35), -1, cv2.LINE_AA)
        cv2.ellipse(img, (cx, int(py0 + (py1 - py0) * 0.55)), (int((px1 - px0) * 0.25), int((py1 - py0) * 0.3)),
                    0, 0, 360, (140, 170, 210), -1, cv2.LINE_AA)
        cv2.ellipse(img, (cx, py1), (int((px1 - px0) * 0.48), int((py1 - py0) * 0.3)), 0, 180, 360, (50, 50, 60), -1, cv2.LINE_AA)
        for i in range(5):
            _text_line(img, w * 0.05, h * (0.18 + 0.12 * i), w * rng.uniform(0.3, 0.5), h * 0.045, rng)
        _text_line(img, w * 0.28, h * 0.9, w * 0.62, h * 0.055, rng, (15, 15, 15), max(1, int(h / 150)))
    else:
        _seal(img, w * 0.15, h * 0.27, h * 0.17, rng)
        _text_line(img, w * 0.32, h * 0.3, w * 0.58, h * 0.08, rng, (15, 15, 15), max(1, int(h / 110)))
        for i in range(2):
            _text_line(img, w * 0.28, h * (0.74 + 0.11 * i), w * 0.62, h * 0.05, rng)
    return img


def _booklet(w: int, rng: np.random.Generator, split: str) -> np.ndarray:
    img = render_document("booklet", w, rng)
    if family(split) != "tune":  # a dark blue or green cover instead of the red-brown one
        cover = np.all(np.abs(img.astype(np.int16) - img[1, 1].astype(np.int16)) < 12, axis=2)
        img[cover] = rng.choice([(90, 50, 20), (40, 80, 30), (60, 40, 40)])
    return img


# ---------------------------------------------------------------------------------------------
# Poses

def _pose(rng, w, h, doc_w, doc_h, *, roll_deg=20.0, turn=0, centre=(0.5, 0.5), spread=0.15,
          margin=0.025) -> np.ndarray | None:
    """Image corners of a doc_w×doc_h (px) document, rolled up to ±roll_deg plus ``turn`` quarter
    turns, tilted a little, whole inside the frame with a margin; None when it cannot fit."""
    roll = math.radians(rng.uniform(-roll_deg, roll_deg)) + turn * math.pi / 2
    pitch, yaw = rng.uniform(-0.16, 0.16, 2)
    focal = w * rng.uniform(1.0, 1.6)
    scale = 1.0
    mx, my = margin * w, margin * h
    for _ in range(40):
        cx = (centre[0] + rng.uniform(-spread, spread)) * w
        cy = (centre[1] + rng.uniform(-spread, spread)) * h
        quad = _project(doc_w, doc_h, scale, roll, pitch, yaw, focal, cx, cy)
        x0, y0 = quad.min(axis=0)
        x1, y1 = quad.max(axis=0)
        if x1 - x0 > w - 2 * mx or y1 - y0 > h - 2 * my:
            scale *= 0.95
            continue
        quad += [max(0, mx - x0) - max(0, x1 - (w - mx)), max(0, my - y0) - max(0, y1 - (h - my))]
        return quad
    return None


def _line(p, q):
    return np.asarray(p, np.float64), np.asarray(q, np.float64) - np.asarray(p, np.float64)


def _cross(l1, l2):
    (p, r), (q, s) = l1, l2
    den = r[0] * s[1] - r[1] * s[0]
    t = ((q[0] - p[0]) * s[1] - (q[1] - p[1]) * s[0]) / den
    return p + t * r


def _visible(quad: np.ndarray, w: int, h: int) -> np.ndarray:
    """The document clipped to the frame, for a document whose missing sides lie wholly outside it."""
    frame_lines = {"l": _line((-0.5, 0), (-0.5, 1)), "r": _line((w - 0.5, 0), (w - 0.5, 1)),
                   "t": _line((0, -0.5), (1, -0.5)), "b": _line((0, h - 0.5), (1, h - 0.5))}
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        out = None
        if a[0] < -0.5 and b[0] < -0.5:
            out = "l"
        elif a[0] > w - 0.5 and b[0] > w - 0.5:
            out = "r"
        elif a[1] < -0.5 and b[1] < -0.5:
            out = "t"
        elif a[1] > h - 0.5 and b[1] > h - 0.5:
            out = "b"
        lines.append(frame_lines[out] if out else _line(a, b))
    return np.array([_cross(lines[i - 1], lines[i]) for i in range(4)])


def _touching(rng, w, h, doc_w, doc_h, over_range, two) -> tuple[np.ndarray, np.ndarray] | None:
    """A large page pushed against one edge of the frame (or two, at a corner): its side runs along
    the frame's edge, just inside it or up to ``over`` px beyond. Returns (page, visible) quads."""
    for _ in range(60):
        quad = _pose(rng, w, h, doc_w, doc_h, roll_deg=3.0, turn=int(rng.random() < 0.15) * 2, spread=0.02,
                     margin=0.005)
        if quad is None:
            continue
        quad = (quad - quad.mean(0)) * rng.uniform(0.9, 1.15) + quad.mean(0)
        edges = [str(rng.choice(["l", "r", "t", "b"]))]
        if rng.random() < two:
            edges.append(str(rng.choice(["t", "b"] if edges[0] in "lr" else ["l", "r"])))
        for e in edges:
            # beyond the edge: the side's inner end ``over`` px out; inside: its outer end
            over = rng.uniform(*over_range)
            lo, hi = (1, 2) if over > 0 else (0, 3)
            if e == "l":
                quad[:, 0] += (-0.5 - over) - np.sort(quad[:, 0])[lo]
            elif e == "r":
                quad[:, 0] += (w - 0.5 + over) - np.sort(quad[:, 0])[hi]
            elif e == "t":
                quad[:, 1] += (-0.5 - over) - np.sort(quad[:, 1])[lo]
            else:
                quad[:, 1] += (h - 0.5 + over) - np.sort(quad[:, 1])[hi]
        # each side is either wholly visible or wholly beyond one edge
        ok = True
        for i in range(4):
            a, b = quad[i], quad[(i + 1) % 4]
            ina = -0.5 <= a[0] <= w - 0.5 and -0.5 <= a[1] <= h - 0.5
            inb = -0.5 <= b[0] <= w - 0.5 and -0.5 <= b[1] <= h - 0.5
            beyond = (a[0] < -0.5 and b[0] < -0.5) or (a[0] > w - 0.5 and b[0] > w - 0.5) or \
                     (a[1] < -0.5 and b[1] < -0.5) or (a[1] > h - 0.5 and b[1] > h - 0.5)
            if not ((ina and inb) or beyond):
                ok = False
        if not ok:
            continue
        vis = _visible(quad, w, h)
        if cv2.contourArea(np.float32(vis)) < 0.3 * w * h:
            continue
        return quad, vis
    return None


# ---------------------------------------------------------------------------------------------
# Things over the documents, and light

def _hand(img: np.ndarray, rng: np.random.Generator, target: np.ndarray, fingers: tuple[int, int]) -> None:
    """A hand reaching in from the frame edge nearest ``target`` (a point on a page's side), its
    fingertips on the page."""
    h, w = img.shape[:2]
    d = {"l": target[0], "r": w - target[0], "t": target[1], "b": h - target[1]}
    edge = min(d, key=d.get)
    into = {"l": (1, 0), "r": (-1, 0), "t": (0, 1), "b": (0, -1)}[edge]
    into = np.array(into, np.float64)
    along = np.array([-into[1], into[0]])
    base = target.copy()
    if edge in "lr":
        base[0] = -0.02 * w if edge == "l" else 1.02 * w
    else:
        base[1] = -0.02 * h if edge == "t" else 1.02 * h
    s = 2
    mask = np.zeros((h // s, w // s), np.float32)
    palm = base - into * w * 0.02
    cv2.ellipse(mask, tuple(int(v / s) for v in palm), (int(w * 0.09 / s), int(w * 0.07 / s)),
                math.degrees(math.atan2(into[1], into[0])), 0, 360, 1.0, -1)
    n = int(rng.integers(fingers[0], fingers[1] + 1))
    width = w * rng.uniform(0.018, 0.026)
    reach = np.linalg.norm(target - base) + w * rng.uniform(0.0, 0.05)
    for i in range(n):
        off = (i - (n - 1) / 2) * width * 1.15
        tilt = rng.uniform(-0.15, 0.15)
        dirv = into * math.cos(tilt) + along * math.sin(tilt)
        start = base + along * off
        end = start + dirv * reach * rng.uniform(0.8, 1.0)
        cv2.line(mask, tuple(int(v / s) for v in start), tuple(int(v / s) for v in end), 1.0, int(width / s))
        cv2.circle(mask, tuple(int(v / s) for v in end), int(width / s / 2), 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.5)
    mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    skin = np.array([rng.uniform(95, 140), rng.uniform(130, 170), rng.uniform(175, 225)], np.float32)
    shade = 0.85 + 0.15 * _smooth_noise(h, w, 3, rng)[..., None]
    img *= 1 - mask
    img += mask * skin * shade


def _shadow_band(h, w, rng, depth, width) -> np.ndarray:
    """A band of shadow across the desk (a sleeve or the camera's arm): multiplicative light."""
    s = 4
    hh, ww = h // s, w // s
    yy, xx = np.mgrid[0:hh, 0:ww].astype(np.float32)
    ang = rng.uniform(0, math.pi)
    c = rng.uniform(0.25, 0.75, 2) * [ww, hh]
    dist = (xx - c[0]) * math.sin(ang) - (yy - c[1]) * math.cos(ang)
    half = rng.uniform(*width) * ww / 2
    if rng.random() < 0.3:  # a wedge: the band widens along its length
        along = (xx - c[0]) * math.cos(ang) + (yy - c[1]) * math.sin(ang)
        half = half * (1 + 0.5 * along / ww)
    soft = rng.uniform(0.003, 0.02) * ww
    band = 1 / (1 + np.exp(-(half - np.abs(dist)) / max(soft, 0.3)))
    light = 1 - rng.uniform(*depth) * band
    return cv2.resize(light, (w, h), interpolation=cv2.INTER_LINEAR)


def _glare(img: np.ndarray, rng: np.random.Generator, at: np.ndarray, size: tuple[float, float]) -> None:
    h, w = img.shape[:2]
    s = 4
    yy, xx = np.mgrid[0:h // s, 0:w // s].astype(np.float32)
    sx, sy = rng.uniform(*size) * w / s, rng.uniform(*size) * w / s
    g = np.exp(-(((xx - at[0] / s) / sx) ** 2 + ((yy - at[1] / s) / sy) ** 2) / 2) * rng.uniform(0.6, 0.95)
    g = cv2.resize(g, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    img += (255 - img) * g


def _finish(img: np.ndarray, rng: np.random.Generator) -> bytes:
    """Lens blur, sensor noise, and the camera's MJPG compression: the JPEG the camera sends."""
    sigma = rng.uniform(0.3, 2.2)
    img = cv2.GaussianBlur(img, (0, 0), sigma)
    img += _gauss(rng, img.shape[:2] + (1,), rng.uniform(1.0, 5.0))
    out = np.clip(img, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(72, 93))])
    return buf.tobytes()


# ---------------------------------------------------------------------------------------------
# Captures

def _paste(img, rng, doc, quad, kind="paper") -> np.ndarray:
    mask = document_mask("id_card" if kind == "id_card" else "a4", doc.shape[1], doc.shape[0])
    out, H = compose(img, doc, mask, quad, rng, shadow=float(rng.uniform(0.1, 0.45)))
    img[:] = out
    return H


def make_capture(split: str, index: int, size: tuple[int, int] = SIZE) -> Capture:
    """Capture ``index`` of ``split`` (its class, background and conditions follow from the index;
    everything else from the split's seed and the index)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    lay = LAYOUT[split]
    rng = np.random.default_rng([SPLITS[split]["seed"], index])
    w, h = size
    classes = lay.get("classes", CLASSES)
    cls = classes[index % len(classes)]
    ground = GROUNDS[split][(index // len(CLASSES)) % 4] if "classes" not in lay else \
        GROUNDS[split][index % len(GROUNDS[split])]
    conditions = [GROUND_KIND[ground]]
    img = _background(ground, h, w, rng)
    ppm = rng.uniform(*lay["px_per_mm"]) * w / 3264
    corners = H = None
    doc_kind = None
    turn = 0
    if cls in ("form", "two_pages", "id_card") and rng.random() < lay["turned"]:
        turn = int(rng.choice([1, 2, 3]))
        conditions.append("turned")
    page = None
    if cls in ("form", "two_pages", "edge"):
        doc_kind = "a4"
        landscape = rng.random() < 0.2
        dw, dh = A4_MM if not landscape else A4_MM[::-1]
        doc = render_form(int(dw * ppm * 1.1), int(dh * ppm * 1.1), rng, str(rng.choice(lay["forms"])),
                          rng.uniform(*lay["margin"]))
        if cls == "edge":
            placed = None
            grow = math.sqrt(0.42 * w * h / (dw * ppm * dh * ppm))
            for shrink in (1.0, 0.85, 0.7, grow, grow * 1.1):  # no pose fits: one edge, another size
                for two in (lay["two_edges"], 0.0):
                    placed = placed or _touching(rng, w, h, dw * ppm * shrink, dh * ppm * shrink, lay["edge_over"], two)
            page, corners = placed
            conditions.append("touching")
        elif cls == "form":
            page = _pose(rng, w, h, dw * ppm, dh * ppm, turn=turn)
        else:
            page = _pose(rng, w, h, dw * ppm * 0.85, dh * ppm * 0.85, turn=turn, centre=(0.33, 0.5), spread=0.06)
        H = _paste(img, rng, doc, page)
        corners = page.copy() if corners is None else corners
        if cls == "two_pages":  # a smaller document beside it, not touching it
            second = str(rng.choice(lay["second"]))
            right = page[:, 0].max()
            for _ in range(30):
                if second == "a5":
                    sd = render_form(int(148 * ppm), int(210 * ppm), rng, "letter", 0.1)
                elif second == "receipt":
                    sd = render_receipt(int(lay["receipt_mm"][0] * ppm), int(rng.uniform(*lay["receipt_mm"][1]) * ppm), rng, split)
                elif second == "id_card":
                    sd = render_card(int(ID_MM[0] * ppm), int(ID_MM[1] * ppm), rng, split)
                elif second == "booklet":
                    sd = _booklet(int(BOOKLET_MM[0] * ppm * 0.8), rng, split)
                else:  # another A4 page, partly out of the frame
                    sd = render_form(int(A4_MM[0] * ppm * 0.85), int(A4_MM[1] * ppm * 0.85), rng, "letter", 0.1)
                q = _pose(rng, w, h, sd.shape[1], sd.shape[0], roll_deg=15, centre=(0.8, 0.5), spread=0.08,
                          margin=-0.15 if second == "a4_cut" else 0.02)
                if q is not None and q[:, 0].min() > right + 0.02 * w:
                    if second == "a4_cut":
                        q[:, 0] += max(0.0, w * 1.02 - q[:, 0].max())
                        if q[:, 0].min() < right + 0.02 * w:
                            continue
                    _paste(img, rng, sd, q, "id_card" if second == "id_card" else "paper")
                    conditions.append("second_" + second)
                    break
    elif cls == "id_card":
        doc_kind = "id_card"
        doc = render_card(int(ID_MM[0] * ppm * 1.3), int(ID_MM[1] * ppm * 1.3), rng, split)
        corners = _pose(rng, w, h, ID_MM[0] * ppm * 1.25, ID_MM[1] * ppm * 1.25, turn=turn, spread=0.2, margin=0.05)
        H = _paste(img, rng, doc, corners, "id_card")
    elif cls == "booklet":
        doc_kind = "booklet"
        doc = _booklet(int(BOOKLET_MM[0] * ppm * 1.5), rng, split)
        corners = _pose(rng, w, h, doc.shape[1] / 1.5 * 1.0, doc.shape[0] / 1.5, spread=0.1)
        H = _paste(img, rng, doc, corners)
    elif cls == "receipt":
        doc_kind = "receipt"
        rw, (l0, l1) = lay["receipt_mm"]
        doc = render_receipt(int(rw * ppm * 1.2), int(rng.uniform(l0, l1) * ppm * 1.2), rng, split)
        corners = _pose(rng, w, h, doc.shape[1] / 1.2, doc.shape[0] / 1.2, spread=0.15, margin=0.03)
        H = _paste(img, rng, doc, corners)
    img *= cv2.resize(_lighting(h // 4, w // 4, rng), (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    # what makes the capture hard, cycling so that every class meets each of them
    if cls == "empty" or rng.random() < lay.get("shadow_p", 0.3) or index % 3 == 1:
        conditions.append("shadow")
        img *= _shadow_band(h, w, rng, lay["shadow"], lay["band"])[..., None]
    if corners is not None and (index % 4 == 2 or rng.random() < lay.get("hand", 0.15)):
        conditions.append("hand")
        i = int(rng.integers(4))
        a, b = corners[i], corners[(i + 1) % 4]
        _hand(img, rng, a + (b - a) * rng.uniform(0.3, 0.7), lay["fingers"])
    elif cls == "empty" and index % 2:
        conditions.append("hand")
        _hand(img, rng, np.array([w * rng.uniform(0.3, 0.7), h * rng.uniform(0.3, 0.7)]), lay["fingers"])
    if index % 5 == 3 or rng.random() < 0.15:
        conditions.append("glare")
        if corners is not None and rng.random() < 0.6:  # on the page's edge
            i = int(rng.integers(4))
            at = corners[i] + (corners[(i + 1) % 4] - corners[i]) * rng.uniform(0.2, 0.8)
        else:
            at = rng.uniform(0.2, 0.8, 2) * [w, h]
        _glare(img, rng, at, lay["glare"])
    jpeg = _finish(img, rng)
    return Capture(jpeg, None if corners is None else np.asarray(corners, np.float64), cls, split,
                   int(SPLITS[split]["seed"]), ground, tuple(conditions), H, doc_kind,
                   {"index": index, "page": page})


def make_split(split: str, count: int | None = None, size: tuple[int, int] = SIZE,
               cache: str | Path | None = None) -> list[Capture]:
    """The first ``count`` captures of a split (its standard count when None). ``cache``: a folder
    where generated captures are kept between runs (they take a second or two each to draw)."""
    n = SPLITS[split]["count"] if count is None else count
    out = []
    for i in range(n):
        path = None if cache is None else Path(cache) / f"{split}-{SPLITS[split]['seed']}-{i}-{size[0]}x{size[1]}-v{VERSION}.pickle"
        if path is not None and path.exists():
            out.append(pickle.loads(path.read_bytes()))
            continue
        capture = make_capture(split, i, size)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pickle.dumps(capture))
        out.append(capture)
    return out


def single(doc: np.ndarray, quad: np.ndarray, *, size: tuple[int, int] = SIZE, background: str = "light_grey",
           seed: int = 0, shadow_band: bool = False, card: bool = False) -> Capture:
    """One given flat document pasted at ``quad`` (its own TL, TR, BR, BL; corners beyond the
    frame are allowed when a whole side is beyond one edge) on a background: for tests that need
    exactly one situation."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = _background(background, h, w, rng)
    H = _paste(img, rng, doc, np.asarray(quad, np.float64), "id_card" if card else "paper")
    conditions = [GROUND_KIND.get(background, background)]
    if shadow_band:
        conditions.append("shadow")
        img *= _shadow_band(h, w, rng, (0.5, 0.6), (0.12, 0.16))[..., None]
    visible = _visible(np.asarray(quad, np.float64), w, h)
    return Capture(_finish(img, rng), visible, "single", "test", seed, background, tuple(conditions), H)


def empty(*, size: tuple[int, int] = SIZE, background: str = "dark_pad", seed: int = 0, hand: bool = True) -> Capture:
    """A desk with nothing on it (a hand reaching in, if ``hand``)."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = _background(background, h, w, rng)
    if hand:
        _hand(img, rng, np.array([w * 0.5, h * 0.5]), (3, 4))
    return Capture(_finish(img, rng), None, "empty", "test", seed, background, (GROUND_KIND.get(background, background),))
