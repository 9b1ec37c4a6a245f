"""When has the page been still long enough to capture?

Auto-capture must not fire while a hand is still smoothing the page, must fire once when it rests,
and must not fire again for the same page lying there. Each frame is reduced to a tiny grey
thumbnail; the frame is *still* when the thumbnail barely differs from the previous one and the
page's corners (when given) have not moved. Still for ``hold_s`` with a page in view → CAPTURE, once;
then CAPTURED until something moves or the page goes. Time comes from an injectable clock.
"""
from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

THUMB = (64, 48)


class Phase(str, enum.Enum):
    NO_PAGE = "no_page"      # nothing to capture: 请将材料平放在拍摄区
    MOVING = "moving"        # a page, moving
    SETTLING = "settling"    # still, not yet long enough: 请保持不动
    CAPTURE = "capture"      # take the picture now (reported once per resting page)
    CAPTURED = "captured"    # taken; waiting for the page to move or go


@dataclass(frozen=True)
class Stillness:
    phase: Phase
    progress: float   # 0..1 of the hold time while settling; 1 once captured
    motion: float     # mean grey-level change of the thumbnail since the last frame


class StabilityDetector:
    """Feed it every preview frame (and the detected corners); it says when to capture."""

    def __init__(self, hold_s: float = 0.8, *, motion_threshold: float = 2.5, corner_tolerance: float = 0.01,
                 require_page: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self.hold_s = hold_s
        self.motion_threshold = motion_threshold
        self.corner_tolerance = corner_tolerance  # share of the frame diagonal a corner may drift
        self.require_page = require_page
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new material, or a retake)."""
        self._thumb: np.ndarray | None = None
        self._corners: np.ndarray | None = None
        self._still_since: float | None = None
        self._captured = False

    def _thumbnail(self, frame: np.ndarray) -> np.ndarray:
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        thumb = cv2.resize(gray, THUMB, interpolation=cv2.INTER_AREA)
        return cv2.GaussianBlur(thumb, (3, 3), 0).astype(np.float32)

    def update(self, frame: np.ndarray, corners: np.ndarray | None = None) -> Stillness:
        now = self._clock()
        thumb = self._thumbnail(frame)
        motion = float(np.mean(np.abs(thumb - self._thumb))) if self._thumb is not None else float("inf")
        self._thumb = thumb
        drift = 0.0
        if corners is not None and self._corners is not None:
            h, w = frame.shape[:2]
            drift = float(np.max(np.linalg.norm(np.asarray(corners) - self._corners, axis=1))) / float(np.hypot(w, h))
        page_changed = (corners is None) != (self._corners is None)
        self._corners = None if corners is None else np.asarray(corners, np.float64)

        still = motion <= self.motion_threshold and drift <= self.corner_tolerance and not page_changed
        if not still:
            self._still_since = None
            self._captured = False
        elif self._still_since is None:
            self._still_since = now

        if corners is None and self.require_page:
            self._captured = False
            return Stillness(Phase.NO_PAGE, 0.0, motion)
        if self._still_since is None:
            return Stillness(Phase.MOVING, 0.0, motion)
        if self._captured:
            return Stillness(Phase.CAPTURED, 1.0, motion)
        held = now - self._still_since
        if held >= self.hold_s:
            self._captured = True
            return Stillness(Phase.CAPTURE, 1.0, motion)
        return Stillness(Phase.SETTLING, held / self.hold_s if self.hold_s > 0 else 1.0, motion)
