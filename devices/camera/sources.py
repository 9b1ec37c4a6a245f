"""Frame sources, one per URL scheme; each is owned by the driver's worker thread.

``open()`` returns what the source really delivers (for V4L2: what was asked and what the camera
gave, read back property by property), ``read()`` returns the next BGR frame, ``close()`` lets go.
A source raises SourceLost when the device cannot be opened or has gone (the driver reconnects),
and EndOfFrames when a file:// source without looping has played its last image.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from devices.camera.urls import CameraUrl
from devices.images import ImageError, load

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


class SourceLost(Exception):
    """The camera cannot be opened or stopped delivering frames."""


class EndOfFrames(Exception):
    """A file:// source with loop=0 has no more images."""


def list_images(path: Path) -> list[Path]:
    """The images a file:// URL names: the file itself, or a folder's images in name order."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    return [path]


def read_image(path: Path) -> np.ndarray:
    """A BGR image from disk within the limits of devices.images (ImageError says why not)."""
    return load(path)


class FrameSource:
    period = 0.0  # seconds the driver waits between reads (0: read() paces itself, like a camera)

    def open(self) -> dict[str, Any]:
        raise NotImplementedError

    def read(self) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        pass


def fourcc_text(value: float) -> str:
    code = int(value)
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if text.isprintable() and text.strip() else f"0x{code:08x}"


class V4l2Source(FrameSource):
    """A UVC camera through OpenCV's V4L2 backend. Order matters: the pixel format before the size
    (at 8 MP, YUYV allows only a few frames a second), then the rate, then a one-frame buffer so
    that a capture is of now, not of half a second ago."""

    def __init__(self, url: CameraUrl) -> None:
        self.path = url.path
        self.fourcc = url.fourcc
        self.width = url.int_param("width", None)
        self.height = url.int_param("height", None)
        self.fps = url.int_param("fps", None)
        self._cap = None

    def open(self) -> dict[str, Any]:
        if not os.path.exists(self.path):
            raise SourceLost(f"{self.path} does not exist")
        cap = cv2.VideoCapture(self.path, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise SourceLost(f"cannot open {self.path} with V4L2 (busy, or not a capture device)")
        asked: dict[str, Any] = {}
        if self.fourcc:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.fourcc))
            asked["fourcc"] = self.fourcc
        if self.width and self.height:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            asked["width"], asked["height"] = self.width, self.height
        if self.fps:
            cap.set(cv2.CAP_PROP_FPS, self.fps)
            asked["fps"] = self.fps
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        asked["buffersize"] = 1
        got = {
            "fourcc": fourcc_text(cap.get(cv2.CAP_PROP_FOURCC)),
            "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            "fps": round(float(cap.get(cv2.CAP_PROP_FPS)), 2),
            "buffersize": int(cap.get(cv2.CAP_PROP_BUFFERSIZE)),
        }
        mismatch = [k for k, v in asked.items()
                    if (abs(float(got[k]) - float(v)) > 0.5 if k == "fps" else got[k] != v)]
        ok, frame = cap.read()
        if not ok or frame is None:
            cap.release()
            raise SourceLost(f"{self.path} opened but delivered no frame")
        if frame.shape[1] != got["width"] or frame.shape[0] != got["height"]:
            got["frame"] = f"{frame.shape[1]}x{frame.shape[0]}"
            mismatch.append("frame")
        self._cap = cap
        self._first: np.ndarray | None = frame
        return {"source": self.path, "backend": cap.getBackendName(), "asked": asked, "got": got,
                "mismatch": mismatch, "width": frame.shape[1], "height": frame.shape[0]}

    def read(self) -> np.ndarray:
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        if self._cap is None:
            raise SourceLost("not open")
        ok, frame = self._cap.read()
        if not ok or frame is None:
            raise SourceLost(f"{self.path} stopped delivering frames")
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class FileSource(FrameSource):
    """Images from a file or folder played as frames; read from disk every time, so a folder that
    disappears (an unmounted stick) behaves like a camera that was unplugged."""

    def __init__(self, url: CameraUrl) -> None:
        self.path = Path(url.path)
        self.period = 1.0 / url.float_param("fps", 5.0, 0.1, 120.0)
        self.loop = url.params.get("loop", "1") == "1"
        self._files: list[Path] = []
        self._next = 0

    def open(self) -> dict[str, Any]:
        if not self.path.exists():
            raise SourceLost(f"{self.path} does not exist")
        files = list_images(self.path)
        if not files:
            raise SourceLost(f"no images in {self.path}")
        try:
            first = read_image(files[0])
        except ImageError as exc:
            raise SourceLost(f"{files[0]}: {exc}") from None
        self._files, self._next = files, 0
        return {"source": str(self.path), "images": len(files), "width": first.shape[1], "height": first.shape[0],
                "fps": round(1.0 / self.period, 2), "loop": self.loop}

    def read(self) -> np.ndarray:
        if self._next >= len(self._files):
            if not self.loop:
                raise EndOfFrames(str(self.path))
            self._next = 0
        path = self._files[self._next]
        try:
            img = read_image(path)
        except ImageError as exc:
            raise SourceLost(f"{path}: {exc}") from None
        self._next += 1
        return img


class SimSource(FrameSource):
    """The simulated desk: a frame for the time since opening, at the URL's rate."""

    def __init__(self, url: CameraUrl, clock=time.monotonic) -> None:
        from devices.camera.synth import SimulatedDesk

        self.seed = url.int_param("seed", 1, 0, 2 ** 31 - 1)
        self.size = (url.int_param("width", 1280), url.int_param("height", 960))
        self.period = 1.0 / url.float_param("fps", 10.0, 0.5, 60.0)
        self._clock = clock
        self._desk_class = SimulatedDesk
        self._desk = None
        self._t0 = 0.0

    def open(self) -> dict[str, Any]:
        if self._desk is None:
            self._desk = self._desk_class(self.seed, self.size)
        self._t0 = self._clock()
        return {"source": "sim", "seed": self.seed, "width": self.size[0], "height": self.size[1],
                "fps": round(1.0 / self.period, 2)}

    def read(self) -> np.ndarray:
        return self._desk.frame(self._clock() - self._t0)

    def corners_at_now(self) -> np.ndarray | None:
        """Where the simulated page is now (for tests and the demo's sanity checks)."""
        return self._desk.corners_at(self._clock() - self._t0)


def make_source(url: CameraUrl, clock=time.monotonic) -> FrameSource:
    if url.scheme == "v4l2":
        return V4l2Source(url)
    if url.scheme == "file":
        return FileSource(url)
    return SimSource(url, clock)
