"""How well a detected page outline matches the truth: the Jaccard index of two quadrilaterals.

The SmartDoc 2015 challenge scores page detection by the Jaccard index (intersection over union)
computed in the document's own frame: both outlines are mapped with the homography that takes the
true outline to the flat document, so a page far from the camera is not scored more leniently than a
near one. Polygon clipping is exact (Sutherland–Hodgman against the convex truth), so no rasterising
error creeps into the numbers.
"""
from __future__ import annotations

import cv2
import numpy as np


def polygon_area(points: np.ndarray) -> float:
    """Signed area (shoelace); positive when the vertices turn clockwise on screen (y down)."""
    p = np.asarray(points, np.float64)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _oriented(points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, np.float64)
    return p if polygon_area(p) >= 0 else p[::-1]


def clip_polygon(subject: np.ndarray, convex_clip: np.ndarray) -> np.ndarray:
    """The part of ``subject`` inside the convex polygon ``convex_clip`` (Sutherland–Hodgman)."""
    clip = _oriented(convex_clip)
    out = [tuple(p) for p in _oriented(subject)]
    n = len(clip)
    for i in range(n):
        a, b = clip[i], clip[(i + 1) % n]
        edge = b - a

        def inside(p, a=a, edge=edge) -> bool:
            return edge[0] * (p[1] - a[1]) - edge[1] * (p[0] - a[0]) >= 0

        def cross_point(p, q, a=a, edge=edge):
            d = np.subtract(q, p)
            denom = edge[0] * d[1] - edge[1] * d[0]
            if abs(denom) < 1e-12:
                return q
            t = (edge[1] * (p[0] - a[0]) - edge[0] * (p[1] - a[1])) / denom
            return (p[0] + t * d[0], p[1] + t * d[1])

        src, out = out, []
        if not src:
            break
        prev = src[-1]
        for cur in src:
            if inside(cur):
                if not inside(prev):
                    out.append(cross_point(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross_point(prev, cur))
            prev = cur
    return np.array(out, np.float64).reshape(-1, 2)


def jaccard(truth: np.ndarray, found: np.ndarray) -> float:
    """Intersection over union of two quadrilaterals in the image plane (truth must be convex)."""
    a = abs(polygon_area(truth))
    b = abs(polygon_area(found))
    inter = clip_polygon(found, truth)
    i = abs(polygon_area(inter)) if len(inter) >= 3 else 0.0
    union = a + b - i
    return i / union if union > 0 else 0.0


def jaccard_smartdoc(truth: np.ndarray, found: np.ndarray | None,
                     doc_size: tuple[float, float] | None = None) -> float:
    """The SmartDoc 2015 measure: Jaccard index after mapping both outlines into the document frame.

    ``truth`` and ``found`` are TL, TR, BR, BL in image pixels; ``doc_size`` is the flat document's
    (width, height) in any unit (defaults to the truth's mean side lengths). A missing detection
    scores 0.
    """
    if found is None:
        return 0.0
    t = np.asarray(truth, np.float64)
    if doc_size is None:
        w = (np.linalg.norm(t[1] - t[0]) + np.linalg.norm(t[2] - t[3])) / 2
        h = (np.linalg.norm(t[3] - t[0]) + np.linalg.norm(t[2] - t[1])) / 2
    else:
        w, h = doc_size
    ref = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    H = cv2.getPerspectiveTransform(np.float32(t), np.float32(ref)).astype(np.float64)
    f = np.hstack([np.asarray(found, np.float64), np.ones((4, 1))]) @ H.T
    if np.any(f[:, 2] <= 1e-9):  # a corner behind the horizon: nothing sensible to compare
        return 0.0
    return jaccard(ref, f[:, :2] / f[:, 2:3])
