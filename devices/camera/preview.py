"""The page outline for the live preview: detection on a small copy of each frame, steadied.

The capture screen runs this off the UI thread on every preview frame: the frame is reduced to
about 480 px (a 1280×720 frame to 426×240) and searched there without the full-resolution
refinement, which the capture itself does later. The outline is smoothed between frames so it does
not shimmer, and survives a frame or two in which the page is not found.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from devices.camera.detect import detect_small, downscale, to_source

PREVIEW_SIDE = 480


@dataclass(frozen=True)
class PreviewOutline:
    corners: np.ndarray | None  # TL, TR, BR, BL in the frame's pixels, or None
    ms: float                   # time the detection took


class PreviewDetector:
    """Detects the page on successive preview frames; not thread-safe (one per preview worker)."""

    def __init__(self, work_side: int = PREVIEW_SIDE, smoothing: float = 0.5, keep_frames: int = 2) -> None:
        self.work_side = work_side
        self.smoothing = smoothing      # weight of the previous outline when the page barely moved
        self.keep_frames = keep_frames  # frames a lost outline is still shown for
        self._last: np.ndarray | None = None
        self._missed = 0

    def reset(self) -> None:
        self._last = None
        self._missed = 0

    def update(self, frame: np.ndarray) -> PreviewOutline:
        t0 = time.perf_counter()
        small, k = downscale(frame, self.work_side)
        found = detect_small(small)
        corners = None
        if found is not None:
            corners = to_source(found[0], k)
            if self._last is not None:
                jump = float(np.max(np.linalg.norm(corners - self._last, axis=1)))
                if jump < 3.0 * k:  # the same resting page: average away the jitter
                    corners = self.smoothing * self._last + (1 - self.smoothing) * corners
            self._last, self._missed = corners, 0
        elif self._last is not None and self._missed < self.keep_frames:
            self._missed += 1
            corners = self._last
        else:
            self._last = None
        return PreviewOutline(corners, (time.perf_counter() - t0) * 1000)


def draw_outline(frame: np.ndarray, corners: np.ndarray | None, *, color=(0, 200, 0),
                 thickness: int | None = None, copy: bool = True) -> np.ndarray:
    """The frame with the page outline drawn on it (and a dot on the top-left corner)."""
    out = frame.copy() if copy else frame
    if corners is None:
        return out
    t = thickness or max(2, int(round(max(frame.shape[:2]) / 320)))
    pts = np.round(np.asarray(corners) * 16).astype(np.int32).reshape(-1, 1, 2)  # 4 fractional bits
    cv2.polylines(out, [pts], True, color, t, cv2.LINE_AA, shift=4)
    tl = tuple(int(v) for v in np.round(np.asarray(corners[0])))
    cv2.circle(out, tl, t * 2, color, -1, cv2.LINE_AA)
    return out
