"""Find the page or card in a camera frame: its four corners, or None when there is none.

How: edges are found on a copy about 512 px wide, channel by channel (so a white page on light grey
or a red booklet on a dark pad still shows); every closed outline that could be a document becomes a
quadrilateral (two neighbouring ones may together make an open booklet). Each side of a candidate is
then measured (sides.py): along many normals the colour edge is located to a fraction of a pixel and
a robust line fitted through those points. A candidate is a document when most of its perimeter lies
on straight edges, it lies wholly inside the frame, and none of its sides carries on past a corner
(a seam or a stripe; one page of an open booklet is grown into the whole). The largest such
candidate wins, and its sides are measured once more on the full-resolution frame, looking just
outside for a cover's rim. Corners are the intersections of the fitted lines, so they are exact
though the search ran on a small copy, and a card's rounded corners do not pull them inwards.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from devices.camera.sides import fit_quad, grow, intersect, runs_through

WORK_SIDE = 512          # longer side of the copy the search runs on (about)
MIN_AREA = 0.02          # smallest document, as a share of the frame (an ID card under an A3 camera)
MAX_AREA = 0.97
ACCEPT_MEAN = 0.75       # share of the perimeter that must lie on a straight edge
ACCEPT_SIDE = 0.5        # ... and of every single side


@dataclass(frozen=True)
class PageOutline:
    """A detected document: corners TL, TR, BR, BL in source pixels and the edge support (0..1)."""

    corners: np.ndarray
    support: float

    def as_list(self) -> list[list[float]]:
        return [[round(float(x), 1), round(float(y), 1)] for x, y in self.corners]


def order_corners(points: np.ndarray) -> np.ndarray:
    """TL, TR, BR, BL: clockwise on screen, starting from the corner nearest the frame's top-left."""
    p = np.asarray(points, np.float64).reshape(4, 2)
    c = p.mean(axis=0)
    p = p[np.argsort(np.arctan2(p[:, 1] - c[1], p[:, 0] - c[0]))]  # y down: clockwise
    return np.roll(p, -int(np.argmin(p[:, 0] + p[:, 1])), axis=0)


def downscale(image: np.ndarray, side: int = WORK_SIDE) -> tuple[np.ndarray, int]:
    """A copy ``k`` times smaller (k an integer, so the area filter takes its fast path) and k."""
    h, w = image.shape[:2]
    k = max(1, int(round(max(h, w) / side)))
    if k == 1:
        return image, 1
    crop = image[: h - h % k, : w - w % k]
    if k % 2 == 0 and k > 2:
        # a linear step to twice the size, then a 2x2 average: ten times cheaper than one area
        # filter over a full 8 MP frame, and the small copy is only searched, not measured
        crop = cv2.resize(crop, (w // k * 2, h // k * 2), interpolation=cv2.INTER_LINEAR)
        return cv2.resize(crop, (w // k, h // k), interpolation=cv2.INTER_AREA), k
    return cv2.resize(crop, (w // k, h // k), interpolation=cv2.INTER_AREA), k


def to_source(points: np.ndarray, k: int) -> np.ndarray:
    """Small-copy coordinates to source pixels (pixel centres at integers in both)."""
    return np.asarray(points, np.float64) * k + (k - 1) / 2.0


def is_sane(quad: np.ndarray) -> bool:
    """Convex, and no corner sharper than 45° or flatter than 135° (a document seen from above)."""
    q = np.asarray(quad, np.float64)
    signs = set()
    for i in range(4):
        v1, v2 = q[i - 1] - q[i], q[(i + 1) % 4] - q[i]
        signs.add(np.sign(v1[0] * v2[1] - v1[1] * v2[0]))
        cos = np.dot(v1, v2) / (np.linalg.norm(v1) * np.linalg.norm(v2) + 1e-9)
        if abs(cos) > 0.7072:
            return False
    return len(signs) == 1


def _area(quad: np.ndarray) -> float:
    return abs(cv2.contourArea(np.float32(quad)))


# ---------------------------------------------------------------------------------------------
# Candidates on the small copy

def _edge_maps(small: np.ndarray) -> list[np.ndarray]:
    """Canny edges of each colour channel, combined (so a red cover on a dark pad, or a cream page
    on light wood, has an edge even where the brightness barely changes): a strict map drawn with
    thick strokes, which close the small gaps a faint stretch of page edge leaves, and a lenient one."""
    blur = cv2.GaussianBlur(small, (5, 5), 0)
    chans = [blur] if blur.ndim == 2 else cv2.split(blur)
    strict = lenient = None
    for ch in chans:
        s = cv2.Canny(ch, 50, 150)
        l = cv2.Canny(ch, 20, 60)
        strict = s if strict is None else cv2.bitwise_or(strict, s)
        lenient = l if lenient is None else cv2.bitwise_or(lenient, l)
    thin, thick = np.ones((3, 3), np.uint8), np.ones((5, 5), np.uint8)
    return [cv2.dilate(strict, thick), cv2.dilate(lenient, thin)]


def _simplify_to_quad(points: np.ndarray) -> np.ndarray | None:
    """Drop the vertex that spans the least area until four are left (Visvalingam)."""
    pts = [p for p in points.reshape(-1, 2).astype(np.float64)]
    if len(pts) < 4:
        return None
    while len(pts) > 4:
        n = len(pts)
        areas = [abs((pts[i][0] - pts[i - 1][0]) * (pts[(i + 1) % n][1] - pts[i - 1][1])
                     - (pts[(i + 1) % n][0] - pts[i - 1][0]) * (pts[i][1] - pts[i - 1][1])) for i in range(n)]
        del pts[int(np.argmin(areas))]
    return np.array(pts)


def _quad_from_hull(hull: np.ndarray) -> np.ndarray | None:
    """Four lines fitted to the hull's straight runs, intersected. (The four vertices that survive
    simplification sit somewhere on a card's rounded corners; the lines do not.)"""
    perimeter = cv2.arcLength(hull, True)
    outline = cv2.approxPolyDP(hull, 0.004 * perimeter, True)
    rough = _simplify_to_quad(cv2.approxPolyDP(outline, 0.015 * perimeter, True))
    if rough is None:
        return None
    rough = order_corners(rough)
    area = cv2.contourArea(hull)
    if not (0.8 * area <= _area(rough) <= 1.2 * area):
        return None  # far from four-sided: not worth fitting
    pts = outline.reshape(-1, 2).astype(np.float64)
    nxt = np.roll(pts, -1, axis=0)
    steps = np.maximum(1, (np.linalg.norm(nxt - pts, axis=1) / 2).astype(int))  # a point every 2 px
    seg = np.repeat(np.arange(len(pts)), steps)
    frac = (np.arange(len(seg)) - np.repeat(np.cumsum(steps) - steps, steps)) / np.repeat(steps, steps)
    dense = pts[seg] + frac[:, None] * (nxt[seg] - pts[seg])
    lines = []
    for i in range(4):
        a, b = rough[i], rough[(i + 1) % 4]
        length = float(np.hypot(*(b - a)))
        if length < 4:
            return None
        u = (b - a) / length
        rel = dense - a
        t = rel @ u / length
        dist = np.abs(rel[:, 0] * u[1] - rel[:, 1] * u[0])
        run = dense[(t > 0.12) & (t < 0.88) & (dist < max(2.0, 0.03 * length))]
        if len(run) < 3:
            lines.append((a, u))
            continue
        vx, vy, x0, y0 = cv2.fitLine(run.astype(np.float32), cv2.DIST_L2, 0, 0.01, 0.01).ravel()
        lines.append((np.array([x0, y0]), np.array([vx, vy])))
    corners = [intersect(lines[i - 1], lines[i]) for i in range(4)]
    return rough if any(c is None for c in corners) else np.array(corners)


def _candidates(edge_map: np.ndarray, min_area: float, max_area: float) -> list[np.ndarray]:
    """Quadrilaterals from every closed outline (outer or hole) of a sensible size and shape."""
    contours, _ = cv2.findContours(edge_map, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    quads = []
    for c in contours:
        if len(c) < 4:
            continue
        _, _, bw, bh = cv2.boundingRect(c)
        if bw * bh < min_area:
            continue
        hull = cv2.convexHull(c)
        area = cv2.contourArea(hull)
        if not (min_area <= area <= max_area):
            continue
        quad = _quad_from_hull(hull)
        if quad is None or not (0.85 * area <= _area(quad) <= 1.15 * area):
            continue  # not quadrilateral enough (a blob, a hand, a coin)
        quads.append(order_corners(quad))
    return quads


def _merged_pairs(quads: list[np.ndarray], min_area: float) -> list[np.ndarray]:
    """Two neighbouring outlines that together make one quadrilateral: an open booklet's pages."""
    out = []
    areas = [_area(q) for q in quads]
    for i in range(len(quads)):
        for j in range(i + 1, len(quads)):
            hull = cv2.convexHull(np.vstack([quads[i], quads[j]]).astype(np.float32))
            area = cv2.contourArea(hull)
            if area < min_area or area > 1.15 * (areas[i] + areas[j]):
                continue
            quad = _simplify_to_quad(hull)
            if quad is not None and _area(quad) >= 0.95 * area:
                out.append(order_corners(quad))
    return out


# ---------------------------------------------------------------------------------------------

def _inside(quad: np.ndarray, w: int, h: int, margin: float = 0.01) -> bool:
    """Every corner inside the frame, off its edge: a page must lie wholly in the picture, and an
    outline that runs into the frame's edge is usually a seam or a stripe joined to the page."""
    mx, my = margin * w, margin * h
    return bool(np.all((quad[:, 0] >= mx) & (quad[:, 0] <= w - 1 - mx) & (quad[:, 1] >= my) & (quad[:, 1] <= h - 1 - my)))


def _dedupe(quads: list[np.ndarray], tol: float) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for q in quads:
        if not any(np.abs(q - o).max() < tol for o in out):
            out.append(q)
    return out


def _measure(small: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The candidate's sides measured: trusting its outline (the nearest edges), and if that does not
    hold up, trusting the image (the strongest edges within 8 px: an outline that a touching object
    pulled off the edge)."""
    best = None
    for mode in ("nearest", "strongest"):
        fitted = fit_quad(small, quad, reach=8, mode=mode, samples=32)
        if fitted is None or not is_sane(fitted[0]):
            continue
        if best is None or fitted[1].mean() > best[1].mean() + 0.02:
            best = fitted
        if best[1].mean() >= ACCEPT_MEAN and best[1].min() >= ACCEPT_SIDE:
            break
    return best


def detect_small(small: np.ndarray, *, min_area: float = MIN_AREA) -> tuple[np.ndarray, float] | None:
    """The best document quadrilateral on an already small frame: (corners, support) or None."""
    h, w = small.shape[:2]
    lo, hi = min_area * w * h, MAX_AREA * w * h
    quads = _dedupe([q for m in _edge_maps(small) for q in _candidates(m, lo, hi)], 3.0)
    quads = _dedupe(quads + _merged_pairs(quads, lo), 3.0)
    quads = sorted((q for q in quads if is_sane(q)), key=_area, reverse=True)
    best = None
    measured: list[np.ndarray] = []

    def consider(quad: np.ndarray, may_grow: bool) -> None:
        nonlocal best
        fitted = _measure(small, quad)
        if fitted is None:
            return
        corners, support = fitted
        if any(np.abs(corners - m).max() < 1.0 for m in measured):
            return
        measured.append(corners)
        if support.mean() < ACCEPT_MEAN or support.min() < ACCEPT_SIDE or not (lo <= _area(corners) <= hi):
            return
        key = _area(corners) * float(support.mean())
        if best is not None and key <= best[0] and not may_grow:
            return
        if not _inside(corners, w, h):
            return
        through = runs_through(small, corners)
        if not through.any():
            if best is None or key > best[0]:
                best = (key, corners, float(support.mean()))
        elif may_grow:
            grown = grow(small, corners, through)
            if grown is not None and is_sane(grown):
                consider(grown, False)

    for quad in quads:
        if best is not None and _area(quad) * 1.15 < best[0]:
            break  # nothing smaller can win: the score is area × support and support ≤ 1
        consider(quad, True)
    return None if best is None else (best[1], best[2])


def detect_page(image: np.ndarray, *, work_side: int = WORK_SIDE, min_area: float = MIN_AREA,
                refine: bool = True, small: tuple[np.ndarray, int] | None = None) -> PageOutline | None:
    """The document in ``image`` (BGR or grey, any size), or None when no page-like outline is there.
    ``small`` is downscale(image) when the caller already made it."""
    small, k = small if small is not None else downscale(image, work_side)
    found = detect_small(small, min_area=min_area)
    if found is None:
        return None
    quad, support = found
    corners = to_source(quad, k)
    if refine and k > 1:
        fitted = fit_quad(image, corners, reach=2 * k + 2, samples=48)
        if fitted is not None and is_sane(fitted[0]):  # then look outside for a cover's rim
            fitted = fit_quad(image, fitted[0], reach=5 * k + 3, samples=48, mode="outer") or fitted
        if fitted is not None and is_sane(fitted[0]) and 0.9 <= _area(fitted[0]) / _area(corners) <= 1.1:
            corners = fitted[0]
    return PageOutline(order_corners(corners), support)
