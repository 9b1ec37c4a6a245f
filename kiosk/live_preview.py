"""The capture screen's eyes: a worker that follows the camera, outlines the page, and captures.

It runs off the UI thread: frames are downscaled for detection and display, the stability
detector decides when the page has been still long enough, and the full-resolution frame is
straightened and encoded only when a page is taken. Results go out through callbacks that the
app routes through its bridge. No Kivy here.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import cv2
import numpy as np

log = logging.getLogger(__name__)

DISPLAY_WIDTH = 960


@dataclass(frozen=True)
class PreviewFrame:
    rgb: bytes          # display-sized RGB, rows bottom-up (ready for a texture blit)
    size: tuple[int, int]
    phase: str          # no_page | moving | settling | capture | captured
    progress: float


@dataclass(frozen=True)
class CapturedPage:
    jpeg: bytes
    found: bool         # False: no page found, the full frame was used
    thumbnail_rgb: bytes
    thumbnail_size: tuple[int, int]


class LivePreview:
    def __init__(self, camera: Any, on_frame: Callable[[PreviewFrame], None],
                 on_page: Callable[[CapturedPage], None], mode: str = "color", hold_s: float = 1.0,
                 auto: bool = True):
        self.camera = camera
        self.on_frame = on_frame
        self.on_page = on_page
        self.mode = mode
        self.hold_s = hold_s
        self.auto = auto
        self._stop = threading.Event()
        self._manual = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="live-preview", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
            self._thread = None

    def capture_now(self) -> None:
        """The big manual button: take the next frame whatever the stability detector thinks."""
        self._manual.set()

    def _run(self) -> None:
        from devices.camera.preview import PreviewDetector, draw_outline
        from devices.camera.stability import Phase, StabilityDetector

        detector = PreviewDetector()
        stability = StabilityDetector(self.hold_s)
        seq = 0
        while not self._stop.is_set():
            frame = self.camera.wait_for_frame(seq, timeout=0.5)
            if frame is None:
                continue
            seq = frame.seq
            try:
                outline = detector.update(frame.image)
                still = stability.update(frame.image, outline.corners)
                self.on_frame(_display(frame.image, outline.corners, still.phase.value, still.progress, draw_outline))
                take = self._manual.is_set() or (self.auto and still.phase == Phase.CAPTURE)
                if take:
                    self._manual.clear()
                    self.on_page(_page(frame.image, self.mode, outline.corners))
            except Exception:  # a bad frame must not stop the preview
                log.exception("preview frame failed")
                time.sleep(0.1)


def _display(image: np.ndarray, corners: Any, phase: str, progress: float, draw_outline: Any) -> PreviewFrame:
    """Downscale first, then draw the outline on the small copy (a full 8 MP copy would cost more)."""
    h, w = image.shape[:2]
    scale = DISPLAY_WIDTH / w if w > DISPLAY_WIDTH else 1.0
    small = cv2.resize(image, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else image
    colour = (0, 200, 0) if phase in ("settling", "capture", "captured") else (0, 160, 255)
    small = draw_outline(small, None if corners is None else np.asarray(corners) * scale, color=colour)
    if small.ndim == 2:
        small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
    rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
    rgb = np.ascontiguousarray(rgb[::-1])
    return PreviewFrame(rgb.tobytes(), (rgb.shape[1], rgb.shape[0]), phase, progress)


def _page(image: np.ndarray, mode: str, corners: Any) -> CapturedPage:
    from devices.camera.pipeline import process

    result = process(image, mode)  # detects again at full resolution: the preview's outline is approximate
    thumb = result.image
    h, w = thumb.shape[:2]
    scale = 240 / max(h, w)
    thumb = cv2.resize(thumb, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    if thumb.ndim == 2:
        thumb = cv2.cvtColor(thumb, cv2.COLOR_GRAY2RGB)
    else:
        thumb = cv2.cvtColor(thumb, cv2.COLOR_BGR2RGB)
    thumb = np.ascontiguousarray(thumb[::-1])
    return CapturedPage(result.jpeg, result.found, thumb.tobytes(), (thumb.shape[1], thumb.shape[0]))
