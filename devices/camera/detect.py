"""Find the page or card in a camera frame: its four corners and how sure we are, or None.

How: edges are found on a copy about 512 px wide, channel by channel (so a white page on light grey
or a red booklet on a dark pad still shows), with the frame's own border drawn in, so a page that runs
off the picture still has a closed outline. Every closed outline that could be a document becomes a
quadrilateral (two neighbouring ones may together make one: an open booklet, or a page cut in two by a
shadow). Each side of a candidate is then measured (sides.py): along many normals the colour edge is
located to a fraction of a pixel and a robust line fitted through those points; a side that lies on
the frame's border is taken to be that border.

A candidate is a document when

* most of its perimeter lies on straight edges (support),
* across most of each side the colour just inside differs from the colour just outside (contrast):
  a page's edge separates paper from the desk, while a table, a boxed field or a printed frame on
  the page has paper on both sides, and the edge of a shadow has the same material, only darker,
* at most two sides, and neighbouring ones, lie on the frame's border,
* none of its sides carries on past a corner (a seam or a stripe; one page of an open booklet is
  grown into the whole; but a clear document with one side past one corner, nothing larger
  growing from it, has a finger or a sleeve along that side),
* it could be a flat rectangle seen from above: corners near square, opposite sides alike,
* it is not two documents side by side whose outlines joined: two outlines seen inside it, apart,
  with the desk between them (the desk's common colours, taken around the outline; a level strip
  of it between cut edges, not a shadow's soft edge or the sloping shade of a booklet's fold; and
  the outline crossing bare desk there, where a page's own edge runs on through a shadow band),
* it is not a stripe of patterned cloth: beyond both of two opposite sides, past a band of another
  colour (not just a drop shadow), its own colour comes back.

A candidate that fails on one side only (or passes with one side poorly supported), the other
three clear, gets that side put back where they say it is: where their edges end, parallel to the
side opposite, slid onto the visible pieces of its edge. Fingers over a side otherwise pull the
fitted line onto their own edge or stop it at the fingertips. A document found with a weak side
whose neighbours' edges carry on past it, over paper, is pushed out to where they end.

When no clear document is found (or only a small one, a card or a receipt, while a larger outline
beside it failed: perhaps the page meant, a shadow or a hand across it), two more looks: with the
light divided out (a shadow band across the page), and where the paper is (light in every colour
channel, thin things such as fingers opened away; a page a finger cuts in two comes back as two
parts, merged; and without skin, the pieces either side of a hand joined again, kept only when
cut sharply wherever their outline shows). When still nothing is clear, a last one: a pale page
on a pale desk whose outline has
gaps in every look, as the hull of a large run of edges lying along it (not filling it, as a block of
text does), its sides judged by a fainter contrast; once more with the light divided out and a hand
reaching in taken away (fingers on a pale card join its edges to theirs). When a hand is in sight
and every clear outline runs off the frame, or a card found has fingers along a side, documents
are also sought by their corners: one wholly in sight that such an outline crosses (a stretch of
desk a finger and a shadow's edge closed off), or about as large as it, or around the card (going
on under the fingers), is the one meant. When nothing at all passes, two long faint
straight edges meeting square may still give a document's corner and its extent; that, or else
the candidate that came closest to passing (not a finger, a stripe of the cloth, two documents or
a lit patch of desk a shadow's soft edge bounds), is offered as doubtful rather than nothing.

The strict edges are searched first; the lenient ones only when those leave the page in doubt.

The outermost (largest) such candidate wins: inner rectangles never beat the page around them; a
document wholly in sight beats one about as large that runs off the frame beside it. Its sides
are measured once more on the full-resolution frame. ``confidence`` (0..1) says how clearly the
outline stands out: support × contrast, lowered for sides on the frame's border and when a second
document of similar size competes. Below DOUBTFUL the capture should not be cropped silently.

``orientation`` tells how a straightened page lies: a form by the direction of its text lines and
where its text and heading sit, an ID card by where its portrait or emblem is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from devices.camera.sides import _fit_side, _on_line, _shaded, edge_run, grow, intersect, runs_through, scan_normals

WORK_SIDE = 512          # longer side of the copy the search runs on (about)
MIN_AREA = 0.02          # smallest document, as a share of the frame (an ID card under an A3 camera)
MAX_AREA = 0.985
ACCEPT_MEAN = 0.75       # share of the measured perimeter that must lie on a straight edge
ACCEPT_SIDE = 0.5        # ... and of every measured side
CONTRAST = 12.0          # colour difference (BGR distance) between the two sides of a page's edge
FAINT = 6.0              # ... for a pale page on a pale desk whose outline never closed (a last look)
CONTRAST_MEAN = 0.6      # share of the measured perimeter that must show it
CONTRAST_SIDE = 0.3      # ... and of every measured side (a hand or a glare spot may hide the rest)
FRAME_TOL = 1.6          # px on the small copy: a side this close to the border lies on it
DOUBTFUL = 0.6           # below this confidence a detection is doubtful
SQUARE_DEG = 20.0        # a document's corner, seen from above, is within this of square
WEAK_SIDE = 0.75         # a side this poorly supported on a document found is placed from the others
SMALL_DOC = 0.15         # a document smaller than this share of the frame may not be the one meant
OPPOSITE = 1.25          # ... and its opposite sides differ in length by at most this factor


@dataclass(frozen=True)
class PageOutline:
    """A detected document: corners TL, TR, BR, BL in source pixels, the edge support (0..1), the
    confidence (0..1, below DOUBTFUL: doubtful) and which sides (top, right, bottom, left as
    ordered) lie on the frame's border."""

    corners: np.ndarray
    support: float
    confidence: float = 1.0
    frame_sides: tuple[bool, bool, bool, bool] = (False, False, False, False)

    @property
    def doubtful(self) -> bool:
        return self.confidence < DOUBTFUL

    def as_list(self) -> list[list[float]]:
        return [[round(float(x), 1), round(float(y), 1)] for x, y in self.corners]


def order_corners(points: np.ndarray) -> np.ndarray:
    """TL, TR, BR, BL: clockwise on screen, starting from the corner nearest the frame's top-left."""
    p = np.asarray(points, np.float64).reshape(4, 2)
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = p.tolist()  # (plain floats: four points cost less so)
    cx, cy = (x0 + x1 + x2 + x3) / 4, (y0 + y1 + y2 + y3) / 4
    angles = [math.atan2(y0 - cy, x0 - cx), math.atan2(y1 - cy, x1 - cx), math.atan2(y2 - cy, x2 - cx),
              math.atan2(y3 - cy, x3 - cx)]
    p = p[sorted(range(4), key=angles.__getitem__)]               # y down: clockwise
    sums = (p[:, 0] + p[:, 1]).tolist()
    first = sums.index(min(sums))
    return p if first == 0 else np.roll(p, -first, axis=0)


def downscale(image: np.ndarray, side: int = WORK_SIDE) -> tuple[np.ndarray, int]:
    """A copy ``k`` times smaller (k an integer) and k. Pixel centres map as to_source() says.

    Large reductions take one bilinear sample per pixel (a 2×2 average): a fraction of the cost of
    an area filter over 8 MP, and the small copy is only searched; the corners are measured on the
    full frame."""
    h, w = image.shape[:2]
    k = max(1, int(round(max(h, w) / side)))
    if k == 1:
        return image, 1
    crop = image[: h - h % k, : w - w % k]
    interp = cv2.INTER_AREA if k <= 2 else cv2.INTER_LINEAR
    return cv2.resize(crop, (w // k, h // k), interpolation=interp), k


def to_source(points: np.ndarray, k: int) -> np.ndarray:
    """Small-copy coordinates to source pixels (pixel centres at integers in both)."""
    return np.asarray(points, np.float64) * k + (k - 1) / 2.0


def is_sane(quad: np.ndarray) -> bool:
    """Convex, and no corner sharper than 45° or flatter than 135° (a document seen from above)."""
    p = np.asarray(quad, np.float64).reshape(4, 2).tolist()
    signs = set()
    for i in range(4):
        (xa, ya), (x, y), (xb, yb) = p[i - 1], p[i], p[(i + 1) % 4]
        ax, ay, bx, by = xa - x, ya - y, xb - x, yb - y
        cross = ax * by - ay * bx
        signs.add((cross > 0) - (cross < 0))
        cos = (ax * bx + ay * by) / (math.sqrt(ax * ax + ay * ay) * math.sqrt(bx * bx + by * by) + 1e-9)
        if abs(cos) > 0.7072:
            return False
    return len(signs) == 1


def rectangular(quad: np.ndarray, frame: list | None = None) -> bool:
    """Whether a quadrilateral could be a flat rectangle seen from above: where two measured sides
    meet, a corner within SQUARE_DEG of square, and (all four measured) opposite sides of similar
    length (a document camera looks nearly straight down). Sides on the frame's border (``frame``) are not
    the document's own, so corners on them are left to is_sane."""
    p = np.asarray(quad, np.float64).reshape(4, 2).tolist()
    free = [True] * 4 if frame is None else [f is None for f in frame]
    limit = math.cos(math.radians(90.0 - SQUARE_DEG))
    for i in range(4):
        if not (free[i - 1] and free[i]):
            continue
        (xa, ya), (x, y), (xb, yb) = p[i - 1], p[i], p[(i + 1) % 4]
        ax, ay, bx, by = xa - x, ya - y, xb - x, yb - y
        if abs(ax * bx + ay * by) > limit * math.sqrt(ax * ax + ay * ay) * math.sqrt(bx * bx + by * by):
            return False
    lengths = [math.sqrt((p[(i + 1) % 4][0] - p[i][0]) ** 2 + (p[(i + 1) % 4][1] - p[i][1]) ** 2) for i in range(4)]
    for i in (0, 1):
        if all(free) and max(lengths[i], lengths[i + 2]) > OPPOSITE * min(lengths[i], lengths[i + 2]):
            return False
    return True


def _area(quad: np.ndarray) -> float:
    return abs(cv2.contourArea(np.float32(quad)))


# ---------------------------------------------------------------------------------------------
# Candidates on the small copy

def _edge_maps(small: np.ndarray, looks: tuple[str, ...] = ("strict", "lenient"),
               blur: np.ndarray | None = None) -> list[np.ndarray]:
    """Canny edges of each colour channel, combined (so a red cover on a dark pad, or a cream page
    on light wood, has an edge even where the brightness barely changes): a strict map drawn with
    thick strokes, which close the small gaps a faint stretch of page edge leaves, and a lenient one
    (``looks`` says which, in order). Both have the frame's border drawn in: a page running off the
    picture is closed by it. ``blur``: the small copy already blurred (5×5 Gaussian), if made."""
    blur = cv2.GaussianBlur(small, (5, 5), 0) if blur is None else blur
    chans = [blur] if blur.ndim == 2 else cv2.split(blur)
    maps = []
    for look in looks:
        lo, hi, stroke = (50, 150, 5) if look == "strict" else (20, 60, 3)
        combined = None
        for ch in chans:
            e = cv2.Canny(ch, lo, hi)
            combined = e if combined is None else cv2.bitwise_or(combined, e)
        m = cv2.dilate(combined, np.ones((stroke, stroke), np.uint8))
        cv2.rectangle(m, (0, 0), (m.shape[1] - 1, m.shape[0] - 1), 255, 1)
        maps.append(m)
    return maps


def _flat_field(small: np.ndarray, sigma: float = 8.0) -> np.ndarray:
    """The small copy with smooth light divided out: soft shadows and uneven light flatten, edges stay."""
    h, w = small.shape[:2]
    f = small.astype(np.float32)
    light = cv2.resize(cv2.GaussianBlur(cv2.resize(f, (max(2, w // 4), max(2, h // 4)), interpolation=cv2.INTER_AREA),
                                        (0, 0), sigma / 4), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(f / (light + 1.0) * 160.0, 0, 255).astype(np.uint8)


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
    tried = 0
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
            if area >= 3 * min_area and tried < 6:  # perhaps a document with fingers on it
                tried += 1
                quad = _without_fingers(c, edge_map.shape, min_area)
                if quad is not None:
                    quads.append(quad)
            continue  # not quadrilateral enough (a blob, a hand, a coin)
        quads.append(order_corners(quad))
    return quads


def _without_fingers(contour: np.ndarray, shape: tuple[int, ...], min_area: float) -> np.ndarray | None:
    """The outline with thin things reaching over it (fingers, a pen) opened away, as a quad."""
    h, w = shape[:2]
    x, y, bw, bh = cv2.boundingRect(contour)
    pad = 2
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(w, x + bw + pad), min(h, y + bh + pad)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.drawContours(mask, [contour - [x0, y0]], -1, 255, -1)
    k = max(5, int(0.045 * max(w, h)) | 1)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    found, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not found:
        return None
    biggest = max(found, key=cv2.contourArea)
    hull = cv2.convexHull(biggest)
    area = cv2.contourArea(hull)
    if area < min_area:
        return None
    quad = _quad_from_hull(hull)
    if quad is None or not (0.85 * area <= _area(quad) <= 1.15 * area):
        return None
    return order_corners(quad + [x0, y0])


def _paper_candidates(small: np.ndarray, min_area: float, max_area: float) -> list[np.ndarray]:
    """Quadrilaterals from where the frame is paper-coloured: light in every channel (min over B, G,
    R, split from the desk by Otsu), with thin things (fingers, a pen, a strap) opened away. Edges
    lose a page whose outline is crossed by fingers or a glare spot; its paper still shows."""
    if small.ndim != 3:
        return []
    h, w = small.shape[:2]
    lightness = cv2.GaussianBlur(small, (5, 5), 0).min(axis=2)
    _, mask = cv2.threshold(lightness, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # two looks: thin things opened away at once (fingers stay apart from the paper), and the print
    # on the paper (text, a photo, a table) closed and filled in first (a card's photo stays inside)
    k = max(5, int(0.03 * max(w, h)) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    filled = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    outer, _ = cv2.findContours(filled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(filled, outer, -1, 255, -1)
    # and the paper without skin: a hand across a card cuts it in two; fingers are light but
    # coloured, paper (and a pale card) nearly grey
    sat = cv2.cvtColor(cv2.GaussianBlur(small, (5, 5), 0), cv2.COLOR_BGR2HSV)[..., 1]
    grey = cv2.bitwise_and(mask, (sat < 60).astype(np.uint8) * 255)
    contours = []
    for m in (mask, filled):
        contours += cv2.findContours(cv2.morphologyEx(m, cv2.MORPH_OPEN, disc), cv2.RETR_EXTERNAL,
                                     cv2.CHAIN_APPROX_SIMPLE)[0]
    # the pieces of paper either side of the fingers joined again (only where paper lies on both
    # sides of them: beyond the document, a finger has desk next to it)
    joined = cv2.morphologyEx(grey, cv2.MORPH_CLOSE, disc)
    pieces = cv2.findContours(cv2.morphologyEx(joined, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)),
                              cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
    quads = []
    for c, piece in [(c, False) for c in contours] + [(c, True) for c in pieces]:
        hull = cv2.convexHull(c)
        area = cv2.contourArea(hull)
        if not (min_area <= area <= max_area):
            continue
        quad = _quad_from_hull(hull)
        if quad is None or not 0.85 * area <= _area(quad) <= 1.15 * area:
            continue
        quad = order_corners(quad)
        if piece and not _cut_all_round(small, quad):
            continue
        quads.append(quad)
    return quads


def _cut_all_round(small: np.ndarray, quad: np.ndarray) -> bool:
    """Whether each side of a quadrilateral in sight (not on the frame's border) is a sharp cut
    edge. Joining pale grey across what lies between can close off a lit stretch of an empty desk
    (a shadow's soft edge on one side, the frame's border on others); a card a hand crosses, or a
    page running off the frame, is cut sharply wherever its outline shows."""
    h, w = small.shape[:2]
    return all(edge_width(small, quad[i], quad[(i + 1) % 4]) < 4.0
               for i, f in enumerate(frame_sides(quad, w, h)) if f is None)


def _merged_pairs(quads: list[np.ndarray], min_area: float, slack: float = 1.15) -> list[np.ndarray]:
    """Two neighbouring outlines that together make one quadrilateral: an open booklet's pages, or
    the lit and the shaded part of a page a shadow falls across (``slack``: how much larger than
    both the whole may be: the gap a hand leaves between the two parts of the paper it covers)."""
    out = []
    areas = [_area(q) for q in quads]
    for i in range(len(quads)):
        for j in range(i + 1, len(quads)):
            hull = cv2.convexHull(np.vstack([quads[i], quads[j]]).astype(np.float32))
            area = cv2.contourArea(hull)
            if area < min_area or area > slack * (areas[i] + areas[j]):
                continue
            quad = _simplify_to_quad(hull)
            if quad is not None and _area(quad) >= 0.95 * area:
                out.append(order_corners(quad))
    return out


def _desk_between(image: np.ndarray, union: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether what lies between two outlines inside their union is the desk (two documents side
    by side) rather than paper, a shadow or a hand (one document cut in two)."""
    x0, y0 = np.floor(union.min(axis=0)).astype(int) - 6
    x1, y1 = np.ceil(union.max(axis=0)).astype(int) + 7
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return False
    crop = image[y0:y1, x0:x1]
    off = np.array([x0, y0], np.float64)
    whole = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillConvexPoly(whole, np.int32(np.round(union - off)), 255)
    parts = np.zeros_like(whole)
    for q in (a, b):
        cv2.fillConvexPoly(parts, np.int32(np.round(q - off)), 255)
    ring = np.ones((5, 5), np.uint8)
    gap = cv2.erode(cv2.subtract(whole, cv2.dilate(parts, ring)), ring)
    if cv2.countNonZero(gap) < 0.01 * cv2.countNonZero(whole) or cv2.countNonZero(gap) < 12:
        return False
    desk = cv2.subtract(cv2.dilate(whole, ring, iterations=2), cv2.dilate(whole, np.ones((3, 3), np.uint8)))
    paper = cv2.erode(parts, ring, iterations=2)
    if cv2.countNonZero(desk) < 12 or cv2.countNonZero(paper) < 12:
        return False
    def sample(m: np.ndarray, n: int) -> np.ndarray:
        px = crop[m > 0].reshape(-1, 1 if crop.ndim == 2 else 3).astype(np.float32)
        return px[np.linspace(0, len(px) - 1, min(n, len(px))).astype(int)]

    desk_px, gap_px, paper_px = sample(desk, 96), sample(gap, 160), sample(paper, 64)

    def near(px: np.ndarray, ref: np.ndarray) -> np.ndarray:
        return np.linalg.norm(px[:, None, :] - ref[None, :, :], axis=2) < 20

    # the desk's colours: those common around the outline (a hand or a stripe crossing it is rare)
    common = near(desk_px, desk_px).mean(axis=1) >= 0.1
    if common.sum() < 8:
        return False
    desk_like = near(gap_px, desk_px[common]).any(axis=1)
    paper_like = near(gap_px, paper_px).any(axis=1)
    return bool(desk_like.mean() >= 0.35 and desk_like.mean() > paper_like.mean())


def _dedupe(quads: list[np.ndarray], tol: float) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for q in quads:
        if not any(np.abs(q - o).max() < tol for o in out):
            out.append(q)
    return out


# ---------------------------------------------------------------------------------------------
# Sides on the frame's border

def _border_lines(w: int, h: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The frame's outer edge (pixel centres at integers): top, right, bottom, left."""
    return [(np.array([0.0, -0.5]), np.array([1.0, 0.0])), (np.array([w - 0.5, 0.0]), np.array([0.0, 1.0])),
            (np.array([0.0, h - 0.5]), np.array([1.0, 0.0])), (np.array([-0.5, 0.0]), np.array([0.0, 1.0]))]


def frame_sides(quad: np.ndarray, w: int, h: int, tol: float = FRAME_TOL) -> list[int | None]:
    """For each side, which border (0 top, 1 right, 2 bottom, 3 left) it lies on, or None."""
    q = np.asarray(quad, np.float64)
    out: list[int | None] = []
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        on = None
        for j, (coord, limit) in enumerate(((1, -0.5), (0, w - 0.5), (1, h - 0.5), (0, -0.5))):
            if abs(a[coord] - limit) <= tol + 0.5 and abs(b[coord] - limit) <= tol + 0.5:
                on = j
        out.append(on)
    return out


def _fit_sides(image: np.ndarray, quad: np.ndarray, frame: list[int | None], reach: float, mode: str,
               samples: int, keep: int | None = None, nv=None) -> tuple[np.ndarray, np.ndarray] | None:
    """Measure the sides not on the border, keep the border for the others: (corners, support);
    a border side counts as fully supported. Side ``keep`` stays where it is (its position came
    from the other sides); its support is the share of it where an edge lies on it. ``nv``: what
    _side_normals() found along those sides with the same arguments, if already looked at."""
    q = np.asarray(quad, np.float64)
    h, w = image.shape[:2]
    border = _border_lines(w, h)
    free = [i for i in range(4) if frame[i] is None]
    if not free:
        return None
    if nv is None:
        nv = _side_normals(image, q, frame, reach, samples, mode == "outer")
    lines, support = [None] * 4, np.ones(4)
    for n, i in enumerate(free):
        if i == keep:
            given = (q[i], q[(i + 1) % 4] - q[i])
            strong = nv.strength[n] >= 10.0
            lines[i], support[i] = given, float(np.mean(strong & _on_line(nv.nearest[n], given, 1.5)))
            continue
        fitted = _fit_side(nv, n, 10.0, mode)
        if fitted is None:
            return None
        lines[i], support[i] = fitted
    for i in range(4):
        if frame[i] is not None:
            lines[i] = border[frame[i]]
    corners = [intersect(lines[i - 1], lines[i]) for i in range(4)]
    if any(c is None for c in corners):
        return None
    return np.array(corners), support


def _side_normals(image: np.ndarray, quad: np.ndarray, frame: list[int | None], reach: float, samples: int,
                  outer: bool = False):
    """The edges along the normals of the sides not on the border (the nearest and the strongest
    on each; the outermost too when ``outer``)."""
    q = np.asarray(quad, np.float64)
    free = [i for i in range(4) if frame[i] is None]
    starts = np.array([q[i] for i in free])
    ends = np.array([q[(i + 1) % 4] for i in free])
    return scan_normals(image, starts, ends, reach, samples, 10.0, with_outer=outer)


def side_contrast(image: np.ndarray, quad: np.ndarray, offsets=(1.5, 2.5, 3.5, 5.0, 6.5), samples: int = 24,
                  least: float = CONTRAST) -> np.ndarray:
    """Per side, the share of its length where the colour just inside differs from the colour just
    outside by at least ``least``, and not merely as a shadow does (same colour, only darker)."""
    q = np.asarray(quad, np.float64)
    d = np.roll(q, -1, axis=0) - q
    u = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    n = np.stack([-u[:, 1], u[:, 0]], axis=1)                      # inward for clockwise sides
    ts = np.linspace(0.06, 0.94, samples)
    base = q[:, None, :] + ts[None, :, None] * d[:, None, :]        # (4, S, 2)
    offs = np.concatenate([np.asarray(offsets), -np.asarray(offsets)])
    pts = base[:, :, None, :] + offs[None, None, :, None] * n[:, None, None, :]  # (4, S, 2M, 2)
    p = pts.reshape(1, -1, 2).astype(np.float32)
    col = cv2.remap(image, p[..., 0], p[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    col = col.reshape(4, samples, len(offs), -1).astype(np.float32)
    m = len(offsets)
    mid = [m // 2] if m % 2 else [m // 2 - 1, m // 2]        # the median over the offsets (a
    inside = np.sort(col[:, :, :m], axis=2)[:, :, mid].mean(axis=2)   # stray line at one of them
    outside = np.sort(col[:, :, m:], axis=2)[:, :, mid].mean(axis=2)  # does not count)
    diff = np.linalg.norm(inside - outside, axis=2)
    # a shadow's edge: the darker side is the brighter one scaled down, channel by channel
    dark, light = np.minimum(inside, outside), np.maximum(inside, outside)
    if inside.shape[-1] == 3:
        ratio = (dark + 4) / (light + 4)
        tinted = light.max(axis=2) - light.min(axis=2) > 30
        level = ratio.mean(axis=2)
        shadow = ((ratio.max(axis=2) - ratio.min(axis=2)) < 0.04) & (level > 0.25) & (level < 0.85) & tinted
        # (grey on grey is not told apart: a grey page on a grey desk looks just the same)
    else:
        shadow = np.zeros(diff.shape, bool)
    inside_img = (base[..., 0] >= 0) & (base[..., 0] <= image.shape[1] - 1) & (base[..., 1] >= 0) & (base[..., 1] <= image.shape[0] - 1)
    good = (diff >= least) & ~shadow & inside_img
    return good.mean(axis=1)


# ---------------------------------------------------------------------------------------------

@dataclass
class _Found:
    corners: np.ndarray
    support: np.ndarray
    contrast: np.ndarray
    frame: list
    area: float
    kept: int | None = None  # a side placed from the others (fingers over it), not fitted
    _confidence: list = field(default_factory=list, repr=False, compare=False)  # once worked out

    @property
    def free(self) -> np.ndarray:
        """Sides measured on the document itself (not on the frame's border, not placed)."""
        return np.array([f is None and i != self.kept for i, f in enumerate(self.frame)])

    def confidence(self) -> float:
        if not self._confidence:
            self._confidence.append(self._confidence_of())
        return self._confidence[0]

    def _confidence_of(self) -> float:
        free = self.free
        s = float(self.support[free].mean())
        c = float(self.contrast[free].mean())
        # edge support and contrast on every side must both be there; border sides count as
        # uncertain (the page's real edge is out of sight there)
        value = min(1.0, s / 0.95) * min(1.0, c / 0.85) * (0.9 ** int((~free).sum()))
        return float(np.clip(value, 0.0, 1.0))


def _plausible_frame(frame: list) -> bool:
    """At most two sides on the border, and if two, neighbours meeting at a corner of the frame."""
    on = [i for i in range(4) if frame[i] is not None]
    if len(on) > 2:
        return False
    if len(on) == 2:
        a, b = on
        if (b - a) % 4 not in (1, 3) or frame[a] == frame[b] or (frame[a] - frame[b]) % 2 == 0:
            return False
    return len(set(f for f in frame if f is not None)) == len(on)


def _failed(corners: np.ndarray, frame: list, support: np.ndarray) -> tuple[None, np.ndarray, np.ndarray]:
    return None, corners, np.concatenate([[f is not None for f in frame], support]).astype(np.float64)


def _measure(small: np.ndarray, quad: np.ndarray, lo: float, hi: float,
             keep: int | None = None, level: float = CONTRAST,
             misses: list | None = None) -> tuple[_Found | None, np.ndarray | None, np.ndarray | None]:
    """Measure one candidate: (a plausible document or None, the measured corners or None, the
    frame sides found for them and their support as one array, or None). ``misses``: where to
    keep a near miss (a rectangle of a document's size, at most one side on the border, three of
    its sides on an edge parting paper from desk, failing only the stricter tests)."""
    h, w = small.shape[:2]
    frame = frame_sides(quad, w, h)
    if not _plausible_frame(frame):
        return None, None, None
    free = np.array([f is None for f in frame])
    if free.any():  # a quick look first: paper on both sides of most of it is no page's edge
        rough = side_contrast(small, quad, offsets=(2.5, 4.0), samples=12, least=level)[free]
        if rough.mean() < 0.4 * CONTRAST_MEAN:
            return None, None, None
    best = None
    nv = _side_normals(small, quad, frame, 8, 32)  # (both fits below read the same normals)
    for mode in ("nearest", "strongest"):
        fitted = _fit_sides(small, quad, frame, 8, mode, 32, keep, nv)
        if fitted is None or not is_sane(fitted[0]):
            continue
        free = np.array([f is None for f in frame])
        if best is None or fitted[1][free].mean() > best[1][free].mean() + 0.02:
            best = fitted
        if best[1][free].mean() >= ACCEPT_MEAN and best[1][free].min() >= ACCEPT_SIDE:
            break
    if best is None:
        return None, None, None
    corners, support = best
    frame = [f if f is not None else g for f, g in zip(frame, frame_sides(corners, w, h))]
    free = np.array([f is None for f in frame])
    if not free.any() or not _plausible_frame(frame) or not rectangular(corners, frame):
        return _failed(corners, frame, support)
    if keep is not None:  # a side placed from the others: they alone are judged, and strictly
        if not free.all():
            return _failed(corners, frame, support)
        free[keep] = False
    in_frame = not (np.any(corners[:, 0] < -0.02 * w - 1) or np.any(corners[:, 0] > 1.02 * w) or
                    np.any(corners[:, 1] < -0.02 * h - 1) or np.any(corners[:, 1] > 1.02 * h))

    def missed():
        # (a page running off the frame at a corner has only two sides of its own: both must be
        # fair, and it must be large)
        two = free.sum() == 2 and keep is None and _area(corners) >= SMALL_DOC * w * h
        if misses is not None and in_frame and lo <= _area(corners) <= hi and (free.sum() >= 3 or two):
            con = side_contrast(small, corners, least=level)
            con[~free] = 1.0
            s, c = support[free], con[free]
            if s.mean() >= 0.6 and c.mean() >= 0.6 and (np.minimum(s, c) >= 0.5).sum() >= min(3, len(s)):
                misses.append(_Found(corners, support, con, frame, _area(corners), keep))
        return _failed(corners, frame, support)

    sup = support[free]
    weak = sup < ACCEPT_SIDE
    if sup.mean() < ACCEPT_MEAN or weak.any():
        # one side mostly hidden (a hand on it, a glare spot) passes if the others are clean
        if not (weak.sum() == 1 and len(sup) >= 3 and sup[~weak].min() >= 0.9 and sup.min() >= 0.2
                and sup.mean() >= 0.7):
            return missed()
    area = _area(corners)
    if not (lo <= area <= hi):
        return _failed(corners, frame, support)
    # no corner far outside the frame (a side on the border ends at the frame's corner at most)
    if not in_frame:
        return _failed(corners, frame, support)
    contrast = side_contrast(small, corners, least=level)
    contrast[~free] = 1.0
    if contrast[free].mean() < CONTRAST_MEAN or contrast[free].min() < CONTRAST_SIDE:
        return missed()
    if weak.any() and contrast[free][weak].min() < 0.5:
        return missed()  # the hidden side must still part paper from desk
    if keep is not None:
        if contrast[free].min() < 0.7 or support[free].min() < 0.6:
            return missed()  # what places the hidden side must be clear
    elif not free.all() and (contrast[free].min() < 0.7 or support[free].min() < 0.8):
        return missed()  # with part of it out of sight, what is seen must be clear
    return _Found(corners, support, contrast, frame, area, keep), corners, None


def _evaluate(small: np.ndarray, quad: np.ndarray, lo: float, hi: float,
              level: float = CONTRAST, misses: list | None = None) -> tuple[_Found | None, np.ndarray | None]:
    """Measure one candidate: (a plausible document or None, the measured corners or None). When
    it fails on one side only (fingers across it pull the fitted line onto their own edge), that
    side is put back where the other three say it is, and measured again."""
    found, corners, info = _measure(small, quad, lo, hi, level=level, misses=misses)
    if found is not None and found.free.all() and found.support.min() < WEAK_SIDE:
        # it passed with one side poorly supported: fingers across it may have bent it
        info = np.concatenate([np.zeros(4), found.support])
    elif found is not None or info is None:
        return found, corners
    frame_on, support = info[:4].astype(bool), info[4:]
    if frame_on.sum() > 1:
        return None, corners
    completed = _complete_side(small, corners, support, frame_on)
    if completed is None:
        return found, corners
    placed, again, _ = _measure(small, completed[0], lo, hi, keep=completed[1], level=level, misses=misses)
    if placed is None or found is not None and not 0.85 * found.area <= placed.area <= 1.2 * found.area:
        return found, corners  # (a document found is only mended, not made another)
    return placed, again


def _complete_side(small: np.ndarray, corners: np.ndarray, support: np.ndarray,
                   frame_on: np.ndarray) -> tuple[np.ndarray, int] | None:
    """The quad with its worst side put where its neighbours' edges end (each followed from its
    middle on until it stops: the document's corner), and that side's index; when the other sides
    are clear (well supported, paper against desk) and the neighbours are the document's own."""
    q = np.asarray(corners, np.float64)
    contrast = side_contrast(small, q)
    quality = np.where(frame_on, 2.0, np.minimum(support, 1.0) * contrast)
    worst = int(np.argmin(quality))
    others = [i for i in range(4) if i != worst and not frame_on[i]]
    if frame_on[worst] or frame_on[worst - 1] or frame_on[(worst + 1) % 4]:
        return None
    if min(support[i] for i in others) < 0.8 or min(contrast[i] for i in others) < 0.75:
        return None
    before, after = (worst - 1) % 4, (worst + 1) % 4
    # the side before ends at corner ``worst``, the side after starts at corner ``worst + 1``
    a0, a1 = q[before], q[worst]
    b0, b1 = q[(after + 1) % 4], q[after]
    o0, o1 = q[(worst + 2) % 4], q[(worst + 3) % 4]          # the opposite side
    ov = (o1 - o0) / max(float(np.linalg.norm(o1 - o0)), 1e-9)
    ends, reach = [], []
    for p0, p1 in ((a0, a1), (b0, b1)):
        length = float(np.linalg.norm(p1 - p0))
        if length < 8:
            return None
        u = (p1 - p0) / length
        start = (p0 + p1) / 2
        end = start + edge_run(small, start, u) * u
        ends.append(end)
        reach.append(abs(float((end - o0)[0] * ov[1] - (end - o0)[1] * ov[0])))
    # a finger over one of the corners stops that edge short: the side runs through the end
    # farther from the opposite side, parallel to it (a rectangle seen from nearly straight above)
    far = ends[int(np.argmax(reach))]
    opposite = (o0, ov)
    line = (far, opposite[1])
    a = intersect((q[before], q[worst] - q[before]), line)
    b = intersect((q[after], q[(after + 1) % 4] - q[after]), line)
    if a is None or b is None:
        return None
    # then slide it (not turning it) onto where the edges along it agree: the visible pieces of
    # the document's edge line up, a finger's slanted edge spreads over many offsets
    nv = scan_normals(small, a[None], b[None], 6, 32, 10.0)
    strong = nv.strength[0] >= 10.0
    if strong.sum() >= 4:
        ab = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
        n = np.array([-ab[1], ab[0]])
        offsets = (nv.strongest[0][strong] - nv.base[0][strong]) @ n
        votes = np.histogram(offsets, bins=13, range=(-6.5, 6.5))[0].astype(np.float64)
        votes = np.convolve(votes, [0.5, 1.0, 0.5], mode="same")
        best = int(np.argmax(votes))
        if votes[best] >= 4:
            near = offsets[np.abs(offsets - (best - 6)) <= 1.5]
            shift = float(np.median(near)) * n
            a = intersect((q[before], q[worst] - q[before]), (far + shift, opposite[1]))
            b = intersect((q[after], q[(after + 1) % 4] - q[after]), (far + shift, opposite[1]))
            if a is None or b is None:
                return None
    out = q.copy()
    out[worst], out[after] = a, b
    if np.abs(out - q).max() < 1.0 or not is_sane(out):
        return None
    return out, worst


def _pattern_beyond(small: np.ndarray, a: np.ndarray, b: np.ndarray, n: np.ndarray) -> float:
    """Share of the normals out of side a→b (``n`` inward) along which, past a band of another
    colour at least 8 px wide, the colour just inside the side comes back: a pattern's repeat."""
    h, w = small.shape[:2]
    ts = np.linspace(0.15, 0.85, 16)
    offs = np.arange(-6.0, 61.0, 1.0)
    base = a + ts[:, None] * (b - a)
    pts = base[:, None, :] - offs[None, :, None] * n                 # outward for positive offsets
    p = pts.reshape(1, -1, 2).astype(np.float32)
    col = cv2.remap(small, p[..., 0], p[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    col = col.reshape(len(ts), len(offs), 3).astype(np.float32)
    seen = (pts[..., 0] >= 0) & (pts[..., 0] <= w - 1) & (pts[..., 1] >= 0) & (pts[..., 1] <= h - 1)
    inside = np.median(col[:, :4].reshape(-1, 3), axis=0)             # offsets -6..-3
    dist = np.linalg.norm(col - inside, axis=2)
    # from 3 px outside on. Rows wholly in the frame with no band of another colour that starts
    # at once, is 8 px wide and ends within reach are passed over together (most of them beyond a
    # document's side); the rest are looked at one by one
    far, seen_far, col_far = dist[:, 9:], seen[:, 9:], col[:, 9:]
    other = far >= 30
    start = np.argmax(other, axis=1)
    ended = ~other & (np.arange(other.shape[1])[None, :] >= start[:, None])
    end = np.where(ended.any(axis=1), np.argmax(ended, axis=1), other.shape[1])
    left = ~seen_far.all(axis=1) | (other[:, :3].any(axis=1) & (end - start >= 8) & (end < other.shape[1]))
    hits = 0
    for row, ok, colours in zip(far[left], seen_far[left], col_far[left]):
        row, colours = row[ok], colours[ok]
        other = row >= 30
        if not other[:3].any():
            continue
        start = int(np.argmax(other))
        run = np.argmin(other[start:]) if not other[start:].all() else len(row) - start
        if run < 8 or start + run >= len(row):
            continue
        back = row[start + run:] < 0.35 * float(row[start:start + run].max())
        if not back.any():
            continue
        # a band that is only the colour beyond it in shadow is a document's drop shadow
        band_colour = np.median(colours[start:start + run], axis=0)
        if not _shaded(band_colour, np.median(colours[start + run:][back], axis=0)):
            hits += 1
    return hits / len(ts)


def _stripe(small: np.ndarray, found: _Found) -> bool:
    """Whether the outline is one stripe of a pattern (striped or checked cloth closed off by the
    frame's border or by a document's side): beyond both of two opposite sides, past a band of
    another colour, its own colour comes back. (Beyond a page's sides the desk goes on; another
    page may lie beyond one side, not beyond both.)"""
    if small.ndim != 3:
        return False
    q = found.corners
    d = np.roll(q, -1, axis=0) - q
    u = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    n = np.stack([-u[:, 1], u[:, 0]], axis=1)
    for i in (0, 1):
        j = i + 2
        if found.free[i] and found.free[j] and \
                all(_pattern_beyond(small, q[k], q[(k + 1) % 4], n[k]) >= 0.4 for k in (i, j)):
            return True
    return False


def _pushed_out(small: np.ndarray, found: _Found, lo: float, hi: float, hand=None) -> _Found:
    """The document with a weak side (fingers across it, the outline stopped at their tips, or
    lying along it) pushed out to where its neighbours' edges end, when they carry on past it and
    the result is as clear a document; else the document as it was. ``hand()`` says where a hand
    is: on a card or a receipt, fingers may cover the strip it is pushed out over."""
    q = found.corners
    weak = [i for i in range(4) if found.free[i] and min(found.support[i], found.contrast[i]) < 0.8]
    if not weak:
        return found
    small_doc = found.area < SMALL_DOC * small.shape[0] * small.shape[1]
    mask = hand() if hand is not None and small_doc else None
    d = np.roll(q, -1, axis=0) - q
    u = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    best = found
    for i in weak:
        before, after = (i - 1) % 4, (i + 1) % 4
        run_a = edge_run(small, q[i], u[before])
        run_b = edge_run(small, q[after], -u[after])
        # either end may be wrong (a finger's edge carries one side on too far): try both
        for run, far in ((run_a, q[i] + run_a * u[before]), (run_b, q[after] - run_b * u[after])):
            if run < 4:
                continue
            a = intersect((q[i], u[before]), (far, d[i]))
            b = intersect((q[after], u[after]), (far, d[i]))
            if a is None or b is None:
                continue
            pushed = q.copy()
            pushed[i], pushed[after] = a, b
            if not is_sane(pushed) or _area(pushed) <= found.area or \
                    not _paper_between(small, (q[i], q[after]), (a, b), mask):
                continue
            result, _ = _evaluate(small, pushed, lo, hi)
            if result is not None and found.area < result.area <= 1.35 * found.area and \
                    result.confidence() >= found.confidence() - 0.05 and result.area > best.area:
                best = result
    return best


def _paper_between(small: np.ndarray, side: tuple, pushed: tuple, hand: np.ndarray | None = None) -> bool:
    """Whether the strip between a side and where it is pushed out to shows the paper just inside
    the side along a fair part of it (fingers may cover the rest: where ``hand`` says a hand is,
    the strip is not judged)."""
    if small.ndim != 3:
        return True
    ts = np.linspace(0.1, 0.9, 24)[:, None]
    (a0, b0), (a1, b1) = [np.asarray(p, np.float64) for p in side], [np.asarray(p, np.float64) for p in pushed]
    on_side = a0 + ts * (b0 - a0)
    on_pushed = a1 + ts * (b1 - a1)
    out = (on_pushed - on_side) / max(1e-9, float(np.linalg.norm(a1 - a0)))
    strip = on_side + 0.5 * (on_pushed - on_side)
    # the paper: 4, 8 and 12 px inside, its lighter half (print near the edge, a heading, is dark)
    pts = np.vstack([on_side - out * d for d in (4.0, 8.0, 12.0)] + [strip]).reshape(1, -1, 2).astype(np.float32)
    col = cv2.remap(small, pts[..., 0], pts[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    col = col.reshape(4, len(ts), 3).astype(np.float32)
    inside = col[:3].reshape(-1, 3)
    light = inside.sum(axis=1)
    paper = np.median(inside[light >= np.median(light)], axis=0)
    near = np.linalg.norm(col[3] - paper, axis=1) < 40
    if hand is not None:  # (and the paper beyond fingers may lie in a shadow)
        near |= np.array([_shaded(paper, c) for c in col[3]])
        x = np.clip(np.round(strip[:, 0]).astype(int), 0, hand.shape[1] - 1)
        y = np.clip(np.round(strip[:, 1]).astype(int), 0, hand.shape[0] - 1)
        seen = hand[y, x] == 0
        if seen.sum() < 6:
            return True  # the hand covers the strip: the pushed outline is judged alone
        near = near[seen]
    return bool(np.mean(near) >= 0.3)


def _two_documents(small: np.ndarray, corners: np.ndarray, pool: list[np.ndarray]) -> bool:
    """Whether an outline holds two outlines seen inside it, apart, each a large part of it, with
    the desk between them: two documents side by side whose outlines joined, not one."""
    area = _area(corners)
    inner = [q for q in pool if 0.15 * area <= _area(q) <= 0.85 * area and _nested(q, corners)]
    for i in range(len(inner)):
        for j in range(i + 1, len(inner)):
            a, b = inner[i], inner[j]
            if _area(a) + _area(b) < 0.6 * area:
                continue
            common, _ = cv2.intersectConvexConvex(np.float32(a), np.float32(b))
            if common > 0.02 * min(_area(a), _area(b)):
                continue
            if _apart(small, a, b) >= 0.012 * max(small.shape[:2]) and _desk_between(small, corners, a, b) \
                    and _sharp_facing(small, a, b) and _sharp_facing(small, b, a) \
                    and not _outline_across(small, corners, a, b):
                return True
    return False


def _outline_across(small: np.ndarray, corners: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the outline's own edge runs on where it passes between the two outlines inside it:
    a page a shadow band crosses keeps its cut edge through the shadow (paper, shaded, against
    desk, shaded); around two documents side by side the outline crosses the desk there, with
    no edge on it."""
    q = np.asarray(corners, np.float64)
    nv = scan_normals(small, q, np.roll(q, -1, axis=0), 4, 48, 10.0, span=(0.02, 0.98))
    pts = nv.base.reshape(-1, 2)
    grow_by = 0.03 * np.sqrt(_area(q))
    between = np.ones(len(pts), bool)
    for part in (a, b):
        c = np.float32(part).reshape(-1, 1, 2)
        between &= np.array([cv2.pointPolygonTest(c, (float(x), float(y)), True) < -grow_by for x, y in pts])
    if between.sum() < 6:
        return False
    u = np.roll(q, -1, axis=0) - q
    u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-9)
    n = np.repeat(np.stack([-u[:, 1], u[:, 0]], axis=1), nv.base.shape[1], axis=0)
    off = np.einsum("kc,kc->k", nv.strongest.reshape(-1, 2) - pts, n)
    on = (nv.strength.reshape(-1) >= 10.0) & (np.abs(off) <= 1.5)
    return bool(on[between].mean() >= 0.7)


def _apart(small: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """How far apart (px) two outlines are on the line joining their centres, counting only what
    does not look like the paper at either end: two documents side by side have a strip of desk
    between them; an open booklet's pages meet at the fold (a thin dark line, paper either side)."""
    ca, cb = np.asarray(a, np.float64).mean(axis=0), np.asarray(b, np.float64).mean(axis=0)
    length = float(np.linalg.norm(cb - ca))
    if length < 4:
        return 0.0
    ts = np.linspace(0.0, 1.0, max(4, int(length * 2)))
    pts = ca + ts[:, None] * (cb - ca)
    qa, qb = np.float32(a).reshape(-1, 1, 2), np.float32(b).reshape(-1, 1, 2)
    in_a = np.array([cv2.pointPolygonTest(qa, (float(x), float(y)), False) >= 0 for x, y in pts])
    in_b = np.array([cv2.pointPolygonTest(qb, (float(x), float(y)), False) >= 0 for x, y in pts])
    if not in_a.any() or not in_b.any():
        return 0.0
    last_a, first_b = int(np.flatnonzero(in_a)[-1]), int(np.flatnonzero(in_b)[0])
    if first_b - last_a < 2:
        return 0.0
    p = pts.reshape(1, -1, 2).astype(np.float32)
    col = cv2.remap(small, p[..., 0], p[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    col = col.reshape(len(ts), -1).astype(np.float32)
    ends = [np.median(col[max(0, last_a - 6):last_a + 1], axis=0), np.median(col[first_b:first_b + 7], axis=0)]
    gap = col[last_a + 1:first_b]
    paper = np.zeros(len(gap), bool)
    for e in ends:
        paper |= np.linalg.norm(gap - e, axis=1) < 25
    # and level: the desk between two documents is a strip of one colour, a fold's shading is all
    # slope (a V of darker and darker paper)
    step = np.linalg.norm(np.diff(col[last_a:first_b + 1], axis=0), axis=1)
    level = np.maximum(step[:-1], step[1:]) < 12
    return float((~paper & level).sum() * length / (len(ts) - 1))


def edge_width(small: np.ndarray, a: np.ndarray, b: np.ndarray, samples: int = 16) -> float:
    """How wide (px) the change of colour across segment a→b is, the median over its normals: about
    1-2 px for the cut edge of paper, many more for the soft edge of a shadow. (The summed colour
    change across ±8 px divided by its steepest step: √(2π)·σ for a blurred step.)"""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = b - a
    length = float(np.linalg.norm(d))
    if length < 4:
        return 0.0
    u = d / length
    n = np.array([-u[1], u[0]])
    ts = np.linspace(0.15, 0.85, samples)
    offs = np.arange(-8.0, 8.5, 1.0)
    pts = (a + ts[:, None] * d)[:, None, :] + offs[None, :, None] * n
    p = pts.reshape(1, -1, 2).astype(np.float32)
    col = cv2.remap(small, p[..., 0], p[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    col = col.reshape(samples, len(offs), -1).astype(np.float32)
    step = np.linalg.norm(np.diff(col, axis=1), axis=2)              # (samples, offsets - 1)
    peak = step.max(axis=1)
    total = np.linalg.norm(col[:, -1] - col[:, 0], axis=1)
    ok = peak >= 4.0
    if ok.sum() < 4:
        return 0.0
    return float(np.median(total[ok] / peak[ok]))


def _sharp_facing(small: np.ndarray, q: np.ndarray, other: np.ndarray) -> bool:
    """Whether the side of ``q`` facing ``other`` is a cut edge, not the soft edge of a shadow (the
    lit parts of one page a shadow band crosses are not two documents)."""
    q = np.asarray(q, np.float64)
    mids = (q + np.roll(q, -1, axis=0)) / 2
    i = int(np.argmin(np.linalg.norm(mids - np.asarray(other, np.float64).mean(axis=0), axis=1)))
    return edge_width(small, q[i], q[(i + 1) % 4]) < 4.0


def _overlapping(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two outlines partly overlap: neither (nearly) inside the other, and a corner of one
    well inside the other (two documents lying side by side, their outlines touching, do not; one
    outline crossing another document's face does)."""
    if _nested(a, b) or _nested(b, a):
        return False
    for p, q in ((a, b), (b, a)):
        c = np.float32(q).reshape(-1, 1, 2)
        depth = max(4.0, 0.05 * np.sqrt(_area(q)))
        if any(cv2.pointPolygonTest(c, (float(x), float(y)), True) > depth for x, y in p):
            return True
    return False


def _nested(inner: np.ndarray, outer: np.ndarray) -> bool:
    """Whether ``inner`` lies (nearly) inside ``outer``."""
    c = np.float32(outer).reshape(-1, 1, 2)
    return all(cv2.pointPolygonTest(c, (float(x), float(y)), True) > -3 for x, y in inner)


def _hand_mask(small: np.ndarray) -> np.ndarray | None:
    """Where a hand reaches in: skin-coloured parts (orange to pink, fairly saturated) that touch the
    frame's border and cover less than a third of it (a desk of that colour covers more); None
    when there is none."""
    if small.ndim != 3:
        return None
    def skin_of(bgr: np.ndarray) -> np.ndarray:  # orange to pink, fairly saturated
        hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
        return cv2.inRange(hsv, (0, 45, 40), (25, 255, 255)) | cv2.inRange(hsv, (172, 45, 40), (180, 255, 255))

    ring = np.concatenate([small[1], small[-2], small[:, 1], small[:, -2]])[None]
    if cv2.countNonZero(skin_of(ring)) < 3:
        return None  # nothing skin-coloured where a hand would cross the frame's edge
    full = small.shape[:2]
    small = cv2.resize(small, (full[1] // 2, full[0] // 2), interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    skin = skin_of(small)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(skin, connectivity=8)
    keep = [i for i in range(1, n) if 0.002 * h * w <= stats[i, cv2.CC_STAT_AREA] <= 0.3 * h * w and
            (stats[i, 0] <= 1 or stats[i, 1] <= 1 or stats[i, 0] + stats[i, 2] >= w - 1 or
             stats[i, 1] + stats[i, 3] >= h - 1)]
    if not keep:
        return None
    mask = (np.isin(labels, keep) * 255).astype(np.uint8)
    return cv2.resize(mask, (full[1], full[0]), interpolation=cv2.INTER_NEAREST)


def _hand_along(found: _Found, hand: np.ndarray, side: int | None = None) -> bool:
    """Whether a hand lies just outside one of a document's sides in sight (or side ``side``),
    along most of it."""
    h, w = hand.shape[:2]
    q = found.corners
    for i in range(4) if side is None else (side,):
        if found.frame[i] is not None:
            continue
        a, b = q[i], q[(i + 1) % 4]
        d = b - a
        n = np.array([-d[1], d[0]]) / max(float(np.linalg.norm(d)), 1e-9)     # inward
        pts = (a + np.linspace(0.1, 0.9, 24)[:, None] * d)[:, None, :] - np.array([3.0, 5.0])[None, :, None] * n
        x = np.clip(np.round(pts[..., 0]).astype(int), 0, w - 1)
        y = np.clip(np.round(pts[..., 1]).astype(int), 0, h - 1)
        if (hand[y, x] > 0).any(axis=1).mean() >= 0.6:
            return True
    return False


def _open_outlines(small: np.ndarray, lo: float, hi: float, edges: np.ndarray | None = None) -> list[np.ndarray]:
    """Quadrilaterals from the hulls of the largest runs of lenient edges, the frame's border not
    drawn in (a page whose outline has gaps: its edges still span it), largest first. A run must
    lie mostly along its hull (an outline), not fill it (a block of text, a photo). ``edges``: the
    lenient edge map, if made (it is changed here)."""
    edges = _edge_maps(small, ("lenient",))[0] if edges is None else edges
    edges[0, :], edges[-1, :], edges[:, 0], edges[:, -1] = 0, 0, 0, 0
    n, labels, stats, _ = cv2.connectedComponentsWithStats(edges, connectivity=8)
    quads = []
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_WIDTH] * stats[i, cv2.CC_STAT_HEIGHT] < lo:
            continue
        x, y, bw, bh = stats[i, :4]
        part = (labels[y:y + bh, x:x + bw] == i).astype(np.uint8)
        points = cv2.findNonZero(part)
        hull = cv2.convexHull(points)
        area = cv2.contourArea(hull)
        if not (lo <= area <= hi):
            continue
        rim = np.zeros_like(part)
        cv2.polylines(rim, [hull], True, 1, 11)
        if cv2.countNonZero(part & rim) < 0.6 * cv2.countNonZero(part):
            continue
        quad = _quad_from_hull(hull)
        if quad is not None and 0.85 * area <= _area(quad) <= 1.15 * area and is_sane(quad):
            quads.append(order_corners(quad + [x, y]))
    return sorted(quads, key=_area, reverse=True)


def _corner_candidates(small: np.ndarray, lo: float, hi: float, limit: int = 8) -> list[np.ndarray]:
    """Rectangles from two long straight edges meeting at a right angle, each arm as long as the
    straight edges along it reach: a corner of a pale document whose outline is broken (glare,
    fingers, a desk nearly as light as the paper), from faint edges. Largest first."""
    h, w = small.shape[:2]
    blur = cv2.GaussianBlur(small, (5, 5), 0)
    edges = None
    for ch in ([blur] if blur.ndim == 2 else cv2.split(blur)):
        e = cv2.Canny(ch, 10, 30)
        edges = e if edges is None else cv2.bitwise_or(edges, e)
    if cv2.countNonZero(edges) > 0.1 * h * w:
        return []  # a grained or patterned desk: so faint a look finds its texture, not a page
    shortest = 0.08 * min(h, w)
    found = cv2.HoughLinesP(edges, 1, np.pi / 180, int(0.6 * shortest), minLineLength=shortest, maxLineGap=5)
    if found is None:
        return []
    segs = found.reshape(-1, 4).astype(np.float64)
    segs = segs[np.argsort(-np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1]))][:40]
    a, b = segs[:, :2], segs[:, 2:]
    length = np.linalg.norm(b - a, axis=1)
    u = (b - a) / length[:, None]
    square = np.triu(np.abs(u @ u.T) <= 0.26, 1)                     # within 15° of square

    def reach(x: np.ndarray, d: np.ndarray) -> float:
        """How far from x along d the straight edges on that line go."""
        n = np.array([-d[1], d[0]])
        par = np.abs(u @ d) > 0.99
        on = par & (np.abs((a - x) @ n) < 3) & (np.abs((b - x) @ n) < 3)
        if not on.any():
            return 0.0
        return float(max(((a[on] - x) @ d).max(), ((b[on] - x) @ d).max()))

    quads = []
    for i, j in zip(*np.nonzero(square)):
        x = intersect((a[i], u[i]), (a[j], u[j]))
        if x is None:
            continue
        ends = []
        for k in (i, j):
            near = min(np.linalg.norm(a[k] - x), np.linalg.norm(b[k] - x))
            if near > 0.2 * length[k] + 6:
                break
            far = b[k] if np.linalg.norm(b[k] - x) > np.linalg.norm(a[k] - x) else a[k]
            ends.append((far - x) / np.linalg.norm(far - x))
        if len(ends) < 2:
            continue
        d1, d2 = ends
        r1, r2 = reach(x, d1), reach(x, d2)
        if min(r1, r2) < shortest:
            continue
        quad = np.array([x, x + r1 * d1, x + r1 * d1 + r2 * d2, x + r2 * d2])
        if lo <= _area(quad) <= hi and is_sane(quad):
            quads.append(order_corners(quad))
    return sorted(_dedupe(quads, 4.0), key=_area, reverse=True)[:limit]


def _settled(small: np.ndarray, found: list[_Found], measured: list[np.ndarray]) -> bool:
    """Whether the strict edges alone already gave the page beyond doubt: a large document wholly
    in sight, every side on a straight edge with paper against desk all along, and no larger
    outline around or beside it left unexplained (the lenient edges are then not needed)."""
    clear = [f for f in found if f.confidence() >= DOUBTFUL]
    if not clear:
        return False
    best = max(clear, key=lambda f: f.area)
    if best.confidence() < 0.9 or best.kept is not None or any(g is not None for g in best.frame) or \
            best.support.min() < 0.8 or best.contrast.min() < 0.85:
        return False
    if any(_area(m) > 1.1 * best.area for m in measured):
        return False
    # no second straight edge just outside it, all along a side: a frame printed on a certificate
    # has the paper's own edge around it, perhaps too faint for the strict edges
    outer = _fit_sides(small, best.corners, best.frame, 12, "outer", 24)
    return outer is not None and _area(outer[0]) <= 1.02 * best.area


def find_page(small: np.ndarray, *, min_area: float = MIN_AREA) -> tuple[_Found, float] | None:
    """The outermost plausible document on an already small frame and its confidence, or None."""
    h, w = small.shape[:2]
    lo, hi = min_area * w * h, MAX_AREA * w * h
    blur = cv2.GaussianBlur(small, (5, 5), 0)
    strict = _dedupe(_candidates(_edge_maps(small, ("strict",), blur)[0], lo, hi), 3.0)
    quads = _dedupe(strict + _merged_pairs(strict, lo), 3.0)
    quads = sorted((q for q in quads if is_sane(q)), key=_area, reverse=True)
    found: list[_Found] = []
    measured: list[np.ndarray] = []
    pool = list(quads)  # every outline seen, for telling two documents side by side from one

    memo: dict[bytes, tuple[_Found | None, np.ndarray | None]] = {}
    judgements: dict[int, dict] = {}  # per document measured (kept alive by memo): what was judged of it
    hands: list = []

    def hand_mask() -> np.ndarray | None:
        """Where a hand reaches in (made once, when first asked)."""
        if not hands:
            hands.append(_hand_mask(small))
        return hands[0]

    misses: list[_Found] = []  # near misses: what is offered, as doubtful, when nothing passes

    def consider(quad: np.ndarray, may_grow: bool, level: float = CONTRAST) -> None:
        key = np.asarray(quad, np.float64).tobytes() + bytes([int(level)])
        if key not in memo:
            memo[key] = _evaluate(small, quad, lo, hi, level, misses)
        result, corners = memo[key]
        if corners is None or any(np.abs(corners - m).max() < 1.0 for m in measured):
            return
        measured.append(corners)
        if result is None:
            return
        # what is judged of a document alone is judged once (the lenient search meets it again)
        judged = judgements.setdefault(id(result), {})
        if "through" not in judged:
            through = runs_through(small, result.corners)
            through[[i for i in range(4) if result.frame[i] is not None]] = False
            through[[4 + i for i in range(4) if result.frame[i] is not None]] = False
            judged["through"] = through
        through = judged["through"]

        def stripe() -> bool:
            if "stripe" not in judged:
                judged["stripe"] = _stripe(small, result)
            return judged["stripe"]

        if not through.any():
            if not _two_documents(small, result.corners, pool) and not stripe():
                if "pushed" not in judged:
                    judged["pushed"] = _pushed_out(small, result, lo, hi, hand_mask)
                found.append(judged["pushed"])
        elif may_grow:
            before = len(found)
            if "grown" not in judged:
                judged["grown"] = grow(small, result.corners, through)
            grown = judged["grown"]
            if grown is not None and is_sane(grown):
                consider(grown, False, level)
            if len(found) == before and through.sum() == 1 and all(f is None for f in result.frame) and \
                    result.kept is None and result.support.min() >= 0.8 and result.contrast.min() >= 0.85:
                # one side only carries on, past one corner, and nothing larger grows from it: a
                # finger or a sleeve lying along a clear document's side, not a page's other half
                if not _two_documents(small, result.corners, pool) and not stripe():
                    found.append(result)

    def search(quads: list[np.ndarray]) -> None:
        for quad in quads:
            clear = [f for f in found if f.confidence() >= DOUBTFUL]
            if clear:
                if _area(quad) * 1.15 < clear[-1].area * 0.6:
                    break  # much smaller than the document found: only competitors matter, and they are large
                if any(_nested(quad, f.corners) and all(g is None for g in f.frame) for f in clear):
                    continue  # inside the document found (a table, a field, a photo): it cannot win
            consider(quad, True)

    search(quads)
    lenient = None
    if not _settled(small, found, measured):
        # the lenient edges: a faint stretch of a page's edge (pale paper on a pale desk)
        # (and the search made again over every outline, largest first: the measurements made
        # so far are kept)
        lenient = _edge_maps(small, ("lenient",), blur)[0]
        both = _dedupe(strict + _candidates(lenient.copy(), lo, hi), 3.0)
        quads = _dedupe(both + _merged_pairs(both, lo), 3.0)
        quads = sorted((q for q in quads if is_sane(q)), key=_area, reverse=True)
        found.clear()
        measured.clear()
        pool[:] = quads
        search(quads)
    def unsure() -> float | None:
        """None when a clear document large enough to be the page was found; else the area a
        document found in another look must exceed to matter (0: anything). A small one (a card,
        a receipt) may lie beside the page meant, whose outline a shadow or a hand broke."""
        clear = [f.area for f in found if f.confidence() >= DOUBTFUL]
        if not clear:
            return 0.0
        if max(clear) >= SMALL_DOC * w * h or not any(_area(m) > 1.5 * max(clear) for m in measured):
            return None
        return 1.5 * max(clear)

    above = unsure()
    if above is not None:
        # a shadow falling across the page may have broken its outline. Divide the light out (a
        # soft shadow is smooth, a page's edge is sharp) and look again.
        more = _dedupe([q for m in _edge_maps(_flat_field(small)) for q in _candidates(m, lo, hi)], 3.0)
        more = sorted((q for q in _dedupe(more + _merged_pairs(more, lo), 3.0) if is_sane(q)), key=_area, reverse=True)
        pool += more
        for quad in [q for q in more if _area(q) > above][:12]:
            consider(quad, True)
    above = unsure()
    if above is not None:
        # fingers or glare across the outline. Where is the paper? (A page a hand cuts in two
        # shows as two parts: merged.)
        paper = _paper_candidates(small, lo / 3, hi)
        paper = _dedupe([q for q in paper if _area(q) >= lo] + _merged_pairs(paper, lo, 1.4), 3.0)
        pool += paper
        for quad in sorted((q for q in paper if is_sane(q) and _area(q) > above), key=_area, reverse=True)[:8]:
            consider(quad, True)
    if not any(f.confidence() >= DOUBTFUL for f in found):
        # a pale page on a pale desk: its outline never closed (a shadow or a hand where its edge
        # barely shows). The hull of each large open run of edges, judged by a fainter contrast.
        for quad in _open_outlines(small, lo, hi, lenient)[:3]:
            consider(quad, False, FAINT)
    if not any(f.confidence() >= DOUBTFUL for f in found):
        # the same with the light divided out and a hand reaching in taken away: fingers on a
        # pale card join its edges to their own, and their outline is no page's
        hand = hand_mask()
        if hand is not None:
            edges = _edge_maps(_flat_field(small), ("lenient",))[0]
            edges[cv2.dilate(hand, np.ones((9, 9), np.uint8)) > 0] = 0
            for quad in _open_outlines(small, lo, hi, edges)[:3]:
                consider(quad, False, FAINT)
    clear = [f for f in found if f.confidence() >= DOUBTFUL]
    if clear and all(any(g is not None for g in f.frame) for f in clear) and hand_mask() is not None:
        # every clear outline runs off the frame. One may be a stretch of desk that fingers and a
        # shadow's edge close off with the frame's border, its corner poking into a card whose
        # own outline never closed (the fingers on it join its edges to theirs), or a second page
        # cut by the frame beside the page meant, whose outline a hand and a shadow broke: a
        # document found by its corners, partly under that outline or about as large, wholly in
        # sight, is the one meant. (Only with a hand in sight: without one, such outlines close.)
        for quad in _corner_candidates(small, lo, hi):
            if any(_overlapping(quad, f.corners) or _area(quad) >= 0.6 * f.area for f in clear):
                consider(quad, False)
    clear = [f for f in found if f.confidence() >= DOUBTFUL]
    if clear:
        top = max(clear, key=lambda f: f.area)
        hand = hand_mask() if top.area < SMALL_DOC * w * h else None
        if hand is not None and _hand_along(top, hand):
            # fingers lie along a side of a card or a receipt found: it may go on under them
            # (its edges beyond them, in a shadow, never joined its outline). A larger document
            # found by its corners around it is the one meant
            for quad in _corner_candidates(small, lo, hi):
                if 1.1 * top.area < _area(quad) <= 3.0 * top.area and _nested(top.corners, quad):
                    consider(quad, False)
    if not found:
        # a last look, at corners: two long faint straight edges meeting square. What passes is
        # still only offered as doubtful (so faint a look may take a desk's pattern for one)
        for quad in _corner_candidates(small, lo, hi):
            result, _ = _evaluate(small, quad, lo, hi, FAINT, misses)
            if result is not None:
                misses.append(result)
        return _near_miss(small, misses, pool)
    found.sort(key=lambda f: f.area, reverse=True)
    # the outermost that is clearly a document; an unclear outline (cloth closed off by the frame's
    # border, say) does not beat a clear one inside it
    best = next((f for f in found if f.confidence() >= DOUBTFUL), found[0])
    if any(f is not None for f in best.frame):
        # a document wholly in sight beside one that runs off the frame, about as large: the one
        # laid down to be photographed is the one in sight
        whole = [f for f in found if all(g is None for g in f.frame) and f.confidence() >= DOUBTFUL
                 and (f.area >= (0.5 if _nested(f.corners, best.corners) else 0.6) * best.area
                      or _overlapping(f.corners, best.corners))]
        if whole:
            # (inside it, it is what the frame's border closed off with the document: a hand or
            # a sleeve reaching in from that edge; a table or a field on a page is no document.
            # Partly over it, whatever its size, it shows that outline to cross a document's
            # face: a stretch of desk a finger and a shadow's edge closed off with the frame)
            best = whole[0]
    # a rim just around it (a booklet's cover overhanging its pages) whose colour is close to the
    # desk's: its outline is straight and hugs the page all round, so it is the document's edge
    for corners in measured:
        area = _area(corners)
        if best.area < area <= 1.12 * best.area and _nested(best.corners, corners) and is_sane(corners):
            gap = [cv2.pointPolygonTest(np.float32(corners).reshape(-1, 1, 2), (float(x), float(y)), True)
                   for x, y in best.corners]
            if max(gap) < 0.04 * np.sqrt(best.area):
                frame = frame_sides(corners, w, h)
                fitted = _fit_sides(small, corners, frame, 3, "nearest", 32) if _plausible_frame(frame) else None
                if fitted is not None and fitted[1][[f is None for f in frame]].min() >= ACCEPT_MEAN:
                    best = _Found(fitted[0], fitted[1], best.contrast, frame, _area(fitted[0]))
                    break
    confidence = best.confidence()
    # a second document of similar size beside it (not inside it): which one was meant is unclear
    for other in found:
        centre = other.corners.mean(axis=0)
        beside = cv2.pointPolygonTest(np.float32(best.corners).reshape(-1, 1, 2), (float(centre[0]), float(centre[1])),
                                      False) < 0
        if other is not best and other.area >= 0.6 * best.area and beside and \
                not _overlapping(other.corners, best.corners):  # (one crossing it is none)
            confidence *= 0.5
            break
    return best, confidence


def _near_miss(small: np.ndarray, misses: list[_Found], pool: list[np.ndarray]) -> tuple[_Found, float] | None:
    """When no candidate passed: the clearest near miss, as doubtful (the citizen sees the outline
    and may retake the picture or accept it), unless it is a stripe of the cloth, two documents or
    has a side that is no cut edge; None when there is none."""
    def quality(f: _Found) -> float:
        free = f.free
        return float(f.support[free].mean() * f.contrast[free].mean())

    for f in sorted(misses, key=quality, reverse=True)[:4]:
        lengths = np.linalg.norm(np.roll(f.corners, -1, axis=0) - f.corners, axis=1)
        if max(lengths) > 6 * min(lengths) or _coloured(small, f.corners):
            continue  # a finger, a sleeve: no document is that long and thin, or skin-coloured
        if _stripe(small, f) or _two_documents(small, f.corners, pool):
            continue
        if any(edge_width(small, f.corners[i], f.corners[(i + 1) % 4]) >= 4.0
               for i in range(4) if f.frame[i] is None):
            continue  # a side is a shadow's soft edge, not paper's cut: a lit stretch of desk
        return f, min(0.9 * DOUBTFUL, 0.5 * quality(f))
    return None


def _coloured(small: np.ndarray, quad: np.ndarray) -> bool:
    """Whether most of what lies inside a quadrilateral is strongly coloured (skin, a sleeve, a
    cloth's stripe), not paper or a pale card."""
    if small.ndim != 3:
        return False
    mask = np.zeros(small.shape[:2], np.uint8)
    centre = np.asarray(quad, np.float64).mean(axis=0)
    cv2.fillConvexPoly(mask, np.int32(np.round(centre + 0.8 * (np.asarray(quad, np.float64) - centre))), 255)
    if cv2.countNonZero(mask) < 12:
        return False
    sat = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)[..., 1]
    return float(np.median(sat[mask > 0])) > 70


def detect_small(small: np.ndarray, *, min_area: float = MIN_AREA) -> tuple[np.ndarray, float] | None:
    """The best document quadrilateral on an already small frame: (corners, confidence) or None."""
    found = find_page(small, min_area=min_area)
    return None if found is None else (found[0].corners, found[1])


def detect_page(image: np.ndarray, *, work_side: int = WORK_SIDE, min_area: float = MIN_AREA,
                refine: bool = True, small: tuple[np.ndarray, int] | None = None) -> PageOutline | None:
    """The document in ``image`` (BGR or grey, any size), or None when no page-like outline is there.
    ``small`` is downscale(image) when the caller already made it."""
    small, k = small if small is not None else downscale(image, work_side)
    result = find_page(small, min_area=min_area)
    if result is None:
        return None
    found, confidence = result
    corners = to_source(found.corners, k)
    h, w = image.shape[:2]
    frame = frame_sides(corners, w, h, tol=2.0 * k)
    frame = [f if f is not None else g for f, g in zip(found.frame, frame)]
    if refine and k > 1:
        fitted = _fit_sides(image, corners, frame, 2 * k + 2, "nearest", 48, found.kept)
        if fitted is not None and is_sane(fitted[0]):  # then look outside for a cover's rim
            fitted = _fit_sides(image, fitted[0], frame, 5 * k + 3, "outer", 48, found.kept) or fitted
        if fitted is not None and is_sane(fitted[0]) and 0.9 <= _area(fitted[0]) / _area(corners) <= 1.1:
            corners = fitted[0]
    free = np.array([f is None for f in frame])
    ordered = order_corners(corners)
    shift = int(np.argmin(np.linalg.norm(corners - ordered[0], axis=1)))
    sides = tuple(bool(not free[(i + shift) % 4]) for i in range(4))
    return PageOutline(ordered, float(found.support[free].mean()), confidence, sides)


# ---------------------------------------------------------------------------------------------
# Which way up a straightened page lies

ID1_ASPECT = 85.6 / 53.98


def _ink(gray: np.ndarray) -> np.ndarray:
    """Dark print on paper as a 0/1 mask, with long ruled lines (tables, boxes) taken out."""
    h, w = gray.shape[:2]
    block = max(9, (min(h, w) // 20) | 1)
    ink = cv2.adaptiveThreshold(gray, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 12)
    m = max(2, int(min(h, w) * 0.03))
    ink[:m], ink[-m:], ink[:, :m], ink[:, -m:] = 0, 0, 0, 0       # the paper's edge is not print
    rules = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, max(8, w // 12)), np.uint8)) | \
        cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((max(8, h // 12), 1), np.uint8))
    return ink & ~rules & 1


def _lines(profile: np.ndarray) -> list[tuple[int, int]]:
    """Runs of rows with print in them (text lines), as (first, last) row."""
    on = profile > max(1.0, 0.08 * float(profile.max(initial=0)))
    runs, start = [], None
    for i, v in enumerate(on):
        if v and start is None:
            start = i
        elif not v and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(on) - 1))
    return [r for r in runs if r[1] - r[0] >= 2]


def _sharpness(profile: np.ndarray) -> float:
    p = profile.astype(np.float64)
    return float((p ** 2).sum() / max(p.sum(), 1.0) ** 2 * len(p))


def _text_cues(ink: np.ndarray) -> tuple[float, float]:
    """Evidence (-1..1 each, positive: upside down) from the text lines of a page whose lines run
    across: (heading, letters). The heading (a line clearly taller than the rest, centred) sits at
    the top of a form; in Latin print ascenders (b, d, h, l, t) outnumber descenders (g, p, y), so
    more ink lies just above a line's core than just below it."""
    rows = ink.sum(axis=1).astype(np.float64)
    lines = _lines(rows)
    if len(lines) < 3:
        return 0.0, 0.0
    heights = np.array([b - a + 1 for a, b in lines], np.float64)
    heading = 0.0
    med = float(np.median(heights))
    w = ink.shape[1]
    for i in np.argsort(-heights)[:2]:
        a, b = lines[i]
        if heights[i] < 1.5 * med:
            break
        cols = np.flatnonzero(ink[a:b + 1].sum(axis=0))
        if len(cols) == 0 or abs((cols[0] + cols[-1]) / 2 / w - 0.5) > 0.08:
            continue  # not centred: a signature or a stamp, not a heading
        centre = (a + b) / 2 / len(rows)
        heading = -1.0 if centre < 0.3 else 1.0 if centre > 0.7 else 0.0
        break
    above = below = 0.0
    cores = []
    for a, b in lines:
        seg = rows[a:b + 1]
        core = np.flatnonzero(seg >= 0.5 * seg.max())
        cores.append((a + core[0], a + core[-1]))
    for i, (c0, c1) in enumerate(cores):
        ext = max(2, int(round(0.6 * (c1 - c0 + 1))))
        top = max(c0 - ext, cores[i - 1][1] + 1 if i else 0)
        bottom = min(c1 + ext, cores[i + 1][0] - 1 if i + 1 < len(cores) else len(rows) - 1)
        above += rows[top:c0].sum()
        below += rows[c1 + 1:bottom + 1].sum()
    letters = float(np.clip((below - above) / (above + below) * 3, -1, 1)) if above + below > 0 else 0.0
    return heading, letters


def _red(bgr: np.ndarray) -> np.ndarray:
    """Where a seal's or an emblem's red is: red above both green and blue by more than 60 (0/1)."""
    b, g, r = cv2.split(bgr)
    return cv2.threshold(cv2.subtract(r, cv2.max(g, b)), 60, 1, cv2.THRESH_BINARY)[1]


def _centre(mask: np.ndarray, axis: int, count: int) -> float:
    """Mean row (axis 0) or column (axis 1) of the set pixels of a 0/1 mask that has ``count``."""
    per = mask.sum(axis=1 - axis, dtype=np.int64)
    return int(per @ np.arange(len(per), dtype=np.int64)) / count


def _seal_cue(bgr: np.ndarray) -> float:
    """Evidence (-1..1, positive: upside down): an official seal is stamped near a form's foot."""
    h, w = bgr.shape[:2]
    red = _red(bgr)
    count = cv2.countNonZero(red)
    if count < 0.002 * h * w:
        return 0.0
    cy = _centre(red, 0, count) / h
    return float(np.clip((0.5 - cy) * 4, -1, 1))


def _card_upside_down(bgr: np.ndarray) -> float:
    """Evidence (-1..1, positive: upside down) for a landscape resident ID card: its front has the
    portrait on the right, its back the red emblem at the top left."""
    h, w = bgr.shape[:2]
    red = _red(bgr)
    count = cv2.countNonZero(red)
    if count > 0.004 * h * w:
        cx, cy = _centre(red, 1, count) / w, _centre(red, 0, count) / h
        return float(np.clip(((cx - 0.5) + (cy - 0.5)) * 3, -1, 1))
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    k = max(3, int(w * 0.04) | 1)
    closed = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))  # print gone, blobs stay
    dark = (closed < np.percentile(closed, 90) - 70).astype(np.uint8)
    count = cv2.countNonZero(dark)
    if count < 0.01 * h * w:
        return 0.0
    cx = _centre(dark, 1, count) / w
    return float(np.clip((0.5 - cx) * 4, -1, 1))


def orientation(page: np.ndarray) -> tuple[int, float]:
    """Clockwise quarter turns that make a straightened page upright, and how sure (0..1).

    A card (ID-1 proportions) lies lengthwise and is judged by its layout; other pages by the
    direction of their text lines, then by which way up those lines read. 0 turns at low certainty.
    """
    h, w = page.shape[:2]
    bgr = page if page.ndim == 3 else cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    gray = page if page.ndim == 2 else cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    long_, short = max(h, w), min(h, w)
    if abs(long_ / short / ID1_ASPECT - 1) < 0.06:
        turns = 0 if w >= h else 1
        if turns:
            bgr = cv2.rotate(bgr, cv2.ROTATE_90_CLOCKWISE)
        ev = _card_upside_down(bgr)
        if ev > 0.2:
            turns += 2
        return turns % 4, abs(ev) if ev > 0.2 or turns else 1 - abs(ev)
    ink = _ink(gray)
    if ink.sum() < 100:
        return 0, 0.0
    across, down = _sharpness(ink.sum(axis=1)), _sharpness(ink.sum(axis=0))
    turns = 0
    if down > 1.15 * across:        # the lines run down the page: it lies on its side
        ink = cv2.rotate(ink, cv2.ROTATE_90_CLOCKWISE)
        bgr = cv2.rotate(bgr, cv2.ROTATE_90_CLOCKWISE)
        turns = 1
    elif not across > 1.15 * down:
        return 0, 0.0
    heading, letters = _text_cues(ink)
    ev = 0.4 * heading + 0.4 * letters + 0.3 * _seal_cue(bgr)
    if ev > 0.15:
        turns += 2
    elif ev > -0.15 and turns == 1:
        return 0, 0.0                # sideways, but which side is up is unclear: leave it
    return turns % 4, min(1.0, abs(ev) * 1.5)
