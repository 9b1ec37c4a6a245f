"""Measuring a quadrilateral's sides on an image, to a fraction of a pixel.

Along many normals to each side, colour profiles are read (three neighbouring ones averaged against
noise) and the edges on them located; a robust line through those points is the side as the image
has it, and the share of normals whose edge lies on that line is the side's support. The same
measurement tells whether a side carries on past a corner (a seam, a stripe, or the other page of an
open booklet) and how far.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MIN_EDGE = 10.0          # colour difference across two pixels that counts as an edge
OUTER_SHARE = 0.5        # share of a side's normals that must show a second edge outside the first
OUTER_SUPPORT = 0.6      # ... and how straight a line those edges must make to be taken as the outline


def intersect(l1, l2) -> np.ndarray | None:
    """Where two lines (point, direction) cross; None when they are parallel."""
    (p, r), (q, s) = l1, l2
    denom = r[0] * s[1] - r[1] * s[0]
    if abs(denom) < 1e-6:
        return None
    t = ((q[0] - p[0]) * s[1] - (q[1] - p[1]) * s[0]) / denom
    return p + t * r


@dataclass
class _Normals:
    """What was found along the normals of K segments; arrays shaped (K, samples[, 2])."""

    strongest: np.ndarray   # where the strongest edge crosses each normal
    strength: np.ndarray    # its colour difference over two pixels (0 when there is no peak)
    nearest: np.ndarray     # the edge of some strength nearest to the side as given
    near_offset: np.ndarray  # ... and its distance from the side (inward positive)
    outermost: np.ndarray   # the outermost sharp edge of some strength (= strongest when none)
    outer_ok: np.ndarray    # True where such an edge lies clearly outside the strongest
    base: np.ndarray        # the sample points on the segments themselves


def _subpixel(mag: np.ndarray, idx: np.ndarray) -> np.ndarray:
    rows = np.arange(len(idx))
    m = mag.shape[1]
    c = mag[rows, idx]
    l, r = mag[rows, np.maximum(idx - 1, 0)], mag[rows, np.minimum(idx + 1, m - 1)]
    den = l - 2 * c + r
    return idx + np.clip(np.where(den < -1e-6, 0.5 * (l - r) / np.where(den < -1e-6, den, -1.0), 0.0), -0.5, 0.5)


def scan_normals(image: np.ndarray, starts: np.ndarray, ends: np.ndarray, reach: float, samples: int,
                 min_edge: float, span: tuple[float, float] = (0.08, 0.92), with_outer: bool = False) -> _Normals:
    """Colour profiles across segments start→end (±reach px, normals pointing left of the direction
    of travel: inward for a quad's clockwise sides) and the edges on them."""
    q = np.asarray(starts, np.float64)
    d = np.asarray(ends, np.float64) - q                             # (K, 2)
    k = len(q)
    u = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    n = np.stack([-u[:, 1], u[:, 0]], axis=1)
    ts = np.linspace(span[0], span[1], samples)
    offs = np.arange(-reach, reach + 0.5, 1.0)
    base = q[:, None, :] + ts[None, :, None] * d[:, None, :]        # (K, S, 2)
    grid = base[:, :, None, :] + offs[None, None, :, None] * n[:, None, None, :]  # (K, S, M, 2)
    # three neighbouring profiles per normal, averaged against noise, fetched in one remap
    g = grid[None] + np.array([-1.0, 0.0, 1.0])[:, None, None, None, None] * u[None, :, None, None, :]
    g = g.reshape(3 * k * samples, len(offs), 2).astype(np.float32)  # one two-channel map
    prof = cv2.remap(image, g, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    prof = prof.reshape(3, k * samples, len(offs), -1).astype(np.float32)
    prof = (prof[0] + prof[1] + prof[2]) / np.float32(3.0)
    mag = np.sqrt(((prof[:, 2:] - prof[:, :-2]) ** 2).sum(axis=2))  # (KS, M-2); column j is offs[j + 1]
    centre = offs[1:-1]
    strong_idx = np.argmax(mag, axis=1)
    strength = mag[np.arange(len(strong_idx)), strong_idx]
    left = np.concatenate([mag[:, :1], mag[:, :-1]], axis=1)
    right = np.concatenate([mag[:, 1:], mag[:, -1:]], axis=1)
    peaks = (mag >= left) & (mag > right)
    peaks[:, 0] = peaks[:, -1] = False  # a peak at the window's end may continue beyond it
    strength = np.where(peaks.any(axis=1), strength, 0.0)
    # nearest: a peak of at least a third of the strongest, closest to the side as given
    near = peaks & (mag >= np.maximum(min_edge, 0.3 * strength)[:, None])
    near_idx = np.where(near.any(axis=1), np.argmin(np.where(near, np.abs(centre)[None, :], np.inf), axis=1), strong_idx)
    if with_outer:  # outermost: a sharp peak (not a soft shadow) of real strength, above the noise
        far_l = np.concatenate([np.repeat(mag[:, :1], 3, axis=1), mag[:, :-3]], axis=1)
        far_r = np.concatenate([mag[:, 3:], np.repeat(mag[:, -1:], 3, axis=1)], axis=1)
        floor = np.maximum(np.maximum(1.5 * min_edge, 0.12 * strength), 3.0 * np.median(mag, axis=1))
        outer = peaks & (mag >= floor[:, None]) & ((mag >= 1.6 * far_l) | (mag >= 1.6 * far_r))
        outer_idx = np.where(outer.any(axis=1), np.argmax(outer, axis=1), strong_idx)
    else:
        outer_idx = strong_idx
    normals = np.repeat(n, samples, axis=0)
    flat = base.reshape(-1, 2)

    def place(idx):
        pos = offs[1] + _subpixel(mag, idx)
        return (flat + pos[:, None] * normals).reshape(k, samples, 2), pos

    strongest, strong_pos = place(strong_idx)
    nearest, near_pos = place(near_idx)
    outermost, outer_pos = place(outer_idx) if with_outer else (strongest, strong_pos)
    return _Normals(strongest, strength.reshape(k, samples), nearest, near_pos.reshape(k, samples),
                    outermost, (outer_pos < strong_pos - 1.5).reshape(k, samples), base)


def _median(v: np.ndarray) -> float:
    """The median of a short 1-D array (np.median's checks cost more than the sort here)."""
    n = len(v)
    part = np.partition(v, [(n - 1) // 2, n // 2])
    return 0.5 * (float(part[(n - 1) // 2]) + float(part[n // 2]))


def fit_line(pts: np.ndarray, use: np.ndarray):
    """Huber fit, drop points far from it, least squares on the rest: (point, direction) or None."""
    sel = pts[use].astype(np.float32)
    if len(sel) < 5:
        return None
    vx, vy, x0, y0 = cv2.fitLine(sel, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    resid = np.abs((sel[:, 0] - x0) * vy - (sel[:, 1] - y0) * vx)
    sel = sel[resid <= max(1.0, 2.5 * _median(resid))]
    if len(sel) < 5:
        return None
    vx, vy, x0, y0 = cv2.fitLine(sel, cv2.DIST_L2, 0, 0.01, 0.01).ravel()
    return np.array([x0, y0], np.float64), np.array([vx, vy], np.float64)


def _on_line(pts: np.ndarray, line, tol: float = 1.5) -> np.ndarray:
    (x0, y0), (vx, vy) = line
    return np.abs((pts[:, 0] - x0) * vy - (pts[:, 1] - y0) * vx) <= tol


def _fit_side(nv: _Normals, i: int, min_edge: float, mode: str):
    """The side's line and support (share of normals whose edge lies on it), or None.

    ``mode`` says which edge on each normal counts: the ``nearest`` to the side as given (the
    outline a contour traced), the ``strongest``, or ``outer``: the strongest unless a second
    straight edge runs parallel outside it (a booklet's cover beyond its pages), which then wins.
    """
    strong = nv.strength[i] >= min_edge
    pts = nv.nearest[i] if mode == "nearest" else nv.strongest[i]
    line = fit_line(pts, strong)
    if line is None:
        return None
    support = float(np.mean(strong & _on_line(pts, line)))
    outer = nv.outer_ok[i] & strong
    if mode == "outer" and outer.mean() >= OUTER_SHARE:
        outer_line = fit_line(nv.outermost[i], outer)
        if outer_line is not None and abs(float(np.dot(outer_line[1], line[1]))) > 0.998:  # within 3.6°
            outer_support = float(np.mean(strong & _on_line(nv.outermost[i], outer_line, 1.0)))
            if outer_support >= OUTER_SUPPORT:
                return outer_line, outer_support
    return line, support


def fit_quad(image: np.ndarray, quad: np.ndarray, reach: float, *, mode: str = "nearest",
             min_edge: float = MIN_EDGE, samples: int = 40) -> tuple[np.ndarray, np.ndarray] | None:
    """Measure the four sides of ``quad`` on ``image``: new corners and each side's support, or None."""
    q = np.asarray(quad, np.float64)
    nv = scan_normals(image, q, np.roll(q, -1, axis=0), reach, samples, min_edge, with_outer=mode == "outer")
    sides = [_fit_side(nv, i, min_edge, mode) for i in range(4)]
    if any(s is None for s in sides):
        return None
    corners = [intersect(sides[i - 1][0], sides[i][0]) for i in range(4)]
    if any(c is None for c in corners):
        return None
    return np.array(corners), np.array([s[1] for s in sides])


# ---------------------------------------------------------------------------------------------
# Sides that carry on past a corner

def _colour_at(image: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Median colour of ``image`` at float points (N, 2)."""
    p = pts.reshape(1, -1, 2).astype(np.float32)
    c = cv2.remap(image, p[..., 0], p[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.median(c.reshape(-1, 1 if c.ndim == 2 else c.shape[-1]).astype(np.float32), axis=0)


def _shaded(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two colours are one material, one of them in shadow: the darker is the lighter
    scaled down alike in every channel."""
    if a.shape[-1] != 3:
        return False
    if not (np.all(a <= b) or np.all(b <= a)):
        return False  # not one of them darker in every channel
    dark, light = np.minimum(a, b), np.maximum(a, b)
    ratio = (dark + 4) / (light + 4)
    return bool(ratio.max() - ratio.min() < 0.06 and 0.2 < ratio.mean() < 0.9)


def runs_through(image: np.ndarray, quad: np.ndarray, min_edge: float = MIN_EDGE) -> np.ndarray:
    """Which sides carry on straight past a corner with the same material on their inner side: a
    plank seam or a stripe, not the edge of a document lying on it; or one page of an open booklet,
    whose top and bottom edges continue along the other page; or the lit part of a page a shadow
    falls across, whose sides continue along the shaded part. (Texture crossing the extension puts
    its strongest edge anywhere in the window, not on the line; a cloth's stripe that happens to
    line up with a card's edge has cloth, not card, inside it.)

    Returns 8 flags: [i] side i continues beyond its end corner, [4 + i] before its start corner.
    """
    h, w = image.shape[:2]
    q = np.asarray(quad, np.float64)
    d = np.roll(q, -1, axis=0) - q
    u = d / np.linalg.norm(d, axis=1, keepdims=True)
    n = np.stack([-u[:, 1], u[:, 0]], axis=1)                       # inward
    starts = np.vstack([q + 1.04 * d, q - 0.3 * d])
    ends = np.vstack([q + 1.3 * d, q - 0.04 * d])
    nv = scan_normals(image, starts, ends, 4, 20, min_edge, span=(0.0, 1.0))
    off = np.einsum("ksc,kc->ks", nv.strongest - nv.base, np.vstack([n, n]))
    x, y = nv.base[..., 0], nv.base[..., 1]
    inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    on = inside & (nv.strength >= min_edge) & (np.abs(off) <= 0.75)
    seen = inside.sum(axis=1)
    through = np.zeros(8, bool)
    for j in np.flatnonzero((seen >= 10) & (on.sum(axis=1) >= 0.7 * seen)):
        i = j % 4
        along = q[i] + np.linspace(0.1, 0.9, 20)[:, None] * d[i] + 3 * n[i]
        beyond = nv.base[j][on[j]] + 3 * n[i]
        here, there = _colour_at(image, along), _colour_at(image, beyond)
        through[j] = np.linalg.norm(here - there) < 30 or _shaded(here, there)
    return through


def edge_run(image: np.ndarray, start: np.ndarray, u: np.ndarray, min_edge: float = MIN_EDGE) -> float:
    """How far (px) a straight edge carries on from ``start`` in direction ``u``."""
    h, w = image.shape[:2]
    limits = []
    for p, v, size in ((start[0], u[0], w), (start[1], u[1], h)):
        if v > 1e-9:
            limits.append((size - 1 - p) / v)
        elif v < -1e-9:
            limits.append(-p / v)
    length = int(min(limits + [float(max(w, h))]))
    if length < 8:
        return 0.0
    nv = scan_normals(image, start[None], (start + u * length)[None], 3, length, min_edge, span=(0.0, 1.0))
    n = np.array([-u[1], u[0]])
    off = (nv.strongest[0] - nv.base[0]) @ n
    on = ((nv.strength[0] >= min_edge) & (np.abs(off) <= 1.0)).astype(np.float32)
    carrying = np.convolve(on, np.ones(5), mode="same") >= 3
    stops = np.flatnonzero(~carrying)
    return float(stops[0] if len(stops) else length)


def grow(image: np.ndarray, quad: np.ndarray, through: np.ndarray) -> np.ndarray | None:
    """Push out a side whose neighbours carry on past it (one of them clearly, a glare spot or a
    hand may hide the other), to where their edges end; when one of them is soon lost, to where
    the other ends, keeping the side's direction."""
    q = np.asarray(quad, np.float64)
    d = np.roll(q, -1, axis=0) - q
    u = d / np.linalg.norm(d, axis=1, keepdims=True)
    for i in range(4):
        before, after = (i - 1) % 4, (i + 1) % 4
        if not (through[before] or through[4 + after]):
            continue
        run_a = edge_run(image, q[i], u[before])
        run_b = edge_run(image, q[after], -u[after])
        if max(run_a, run_b) < 0.2 * np.linalg.norm(d[i]):
            continue
        grown = q.copy()
        if min(run_a, run_b) >= 0.2 * np.linalg.norm(d[i]):
            grown[i] = q[i] + run_a * u[before]
            grown[after] = q[after] - run_b * u[after]
            return grown
        # one of the edges is hidden part of the way (a glare spot, a hand): the side pushed out
        # goes through the end of the other, parallel to where it was
        far = q[i] + run_a * u[before] if run_a >= run_b else q[after] - run_b * u[after]
        a = intersect((q[i], u[before]), (far, d[i]))
        b = intersect((q[after], u[after]), (far, d[i]))
        if a is None or b is None:
            continue
        grown[i], grown[after] = a, b
        return grown
    return None
