"""Where codes come from: a serial port, a hidraw node, or camera frames.

Each source is owned by the scanner's worker thread: ``open()``, then ``poll()`` again and again
(each call blocks for at most about 0.1 s and returns what arrived), then ``close()``. A source
raises SourceError when the device cannot be opened or has gone; the scanner turns that into a
status and a reconnect. Nothing here raises anything else on bad input: a frame that is not a
code comes back as a Rejected item so the scanner can count it and show "degraded".
"""
from __future__ import annotations

import errno
import os
import re
import select
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from devices.qr.framing import BadFrame, LineFramer, decode_text, split_aim
from devices.qr.hid import HidPosError, HidPosReassembler, KeyboardReportDecoder
from devices.qr.urls import ScannerUrl

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm")
READ_TIMEOUT = 0.05


@dataclass(frozen=True)
class Reading:
    text: str
    symbology: str


@dataclass(frozen=True)
class Rejected:
    reason: str  # English, for the log and the status detail


class SourceError(Exception):
    """The device cannot be used now. ``permanent`` marks what waiting will not fix by itself
    (permission denied, no images in a folder): status ``error`` rather than ``offline``."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def _reason(exc: BaseException) -> str:
    """One short line: "Connection refused", not pyserial's "could not open port X: [Errno 111] ..."."""
    text = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)) or type(exc).__name__
    text = text.splitlines()[0]
    text = re.sub(r"^could not open port .*?: ", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\[Errno \d+\] ", "", text)
    return re.sub(r": '[^']*'$", "", text)


class _FramedBytes:
    """Shared by serial and HID keyboard mode: bytes → frames → readings."""

    def __init__(self, spec: ScannerUrl, clock: Callable[[], float]):
        self._clock = clock
        self._framing = spec.framing
        self._framer = LineFramer(spec.framing.gap, end_on_gap=spec.framing.suffix == "none")

    def _frames_to_items(self, frames: list[bytes]) -> list[Reading | Rejected]:
        items: list[Reading | Rejected] = []
        dropped = self._framer.dropped + self._framer.overlong
        if dropped:
            self._framer.dropped = self._framer.overlong = 0
            items += [Rejected("incomplete or overlong code dropped")] * dropped
        for raw in frames:
            items.append(_to_reading(raw, self._framing.encoding, self._framing.aim))
        return items

    def _bytes(self, data: bytes) -> list[Reading | Rejected]:
        now = self._clock()
        frames = self._framer.feed(data, now) if data else self._framer.expire(now)
        return self._frames_to_items(frames)


def _to_reading(raw: bytes, encoding: str, aim: bool, symbology: str = "unknown") -> Reading | Rejected:
    try:
        text = decode_text(raw, encoding)
    except BadFrame as exc:
        return Rejected(str(exc))
    if aim:
        symbology, text = split_aim(text)
        if not text:
            return Rejected("code carries only an AIM identifier")
    return Reading(text, symbology)


class SerialSource(_FramedBytes):
    """A USB-CDC or RS-232 scanner, or anything pyserial opens by URL (socket://, loop://, a pty, sim://)."""

    def __init__(self, spec: ScannerUrl, clock: Callable[[], float] = time.monotonic):
        super().__init__(spec, clock)
        self.spec = spec
        self.description = f"serial {spec.target}"
        self._port: Any = None
        self._fd: int | None = None

    def open(self) -> None:
        import serial

        from devices import simports

        simports.install()
        try:
            # Non-blocking reads; we wait on the descriptor ourselves, so one read takes the whole
            # burst rather than one byte per call (pyserial's socket in_waiting only says 0 or 1).
            self._port = serial.serial_for_url(self.spec.target, baudrate=self.spec.baudrate, timeout=0)
        except (serial.SerialException, OSError, ValueError) as exc:
            permanent = isinstance(exc, PermissionError) or getattr(exc, "errno", None) == errno.EACCES
            raise SourceError(f"{self.spec.target}: {_reason(exc)}", permanent) from None
        try:
            self._fd = self._port.fileno()
        except Exception:  # loop:// and some handlers have no descriptor: poll them
            self._fd = None

    def poll(self) -> list[Reading | Rejected]:
        import serial

        try:
            if self._fd is not None:
                select.select([self._fd], [], [], READ_TIMEOUT)
            elif not self._port.in_waiting:
                time.sleep(READ_TIMEOUT / 2)
            data = self._port.read(4096)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise SourceError(f"{self.spec.target}: {_reason(exc)}") from None
        return self._bytes(data)

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            except Exception:  # closing a port that vanished may fail; it is closed either way
                pass
            self._port = None


class HidSource(_FramedBytes):
    """A scanner on /dev/hidraw*: keyboard boot reports or HID-POS reports (see hid.py).

    In ``auto`` mode the first report decides: 64 bytes is HID-POS, 8 (or 9 with an id) keyboard.
    hidraw returns one report per read; reads holding several whole reports are split, which lets
    tests feed reports through a FIFO.
    """

    def __init__(self, spec: ScannerUrl, clock: Callable[[], float] = time.monotonic):
        super().__init__(spec, clock)
        self.spec = spec
        self.description = f"hid {spec.target}"
        self._fd: int | None = None
        self._mode = spec.hid_mode
        self._keyboard = KeyboardReportDecoder()
        self._pos = HidPosReassembler()

    def open(self) -> None:
        try:
            self._fd = os.open(self.spec.target, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise SourceError(f"{self.spec.target}: {_reason(exc)}",
                              permanent=isinstance(exc, PermissionError)) from None
        self._mode = self.spec.hid_mode
        self._keyboard = KeyboardReportDecoder()
        self._pos = HidPosReassembler()

    def poll(self) -> list[Reading | Rejected]:
        try:
            ready, _, _ = select.select([self._fd], [], [], READ_TIMEOUT)
            data = os.read(self._fd, 4096) if ready else None
        except BlockingIOError:
            data = None
        except OSError as exc:
            raise SourceError(f"{self.spec.target}: {_reason(exc)}") from None
        if data is None:
            return self._bytes(b"")
        if not data:
            raise SourceError(f"{self.spec.target}: device gone")
        if self._mode == "auto":
            self._mode = "pos" if len(data) == 64 else "keyboard" if len(data) in (8, 9) else "auto"
            if self._mode == "auto":
                return [Rejected(f"unexpected HID report of {len(data)} bytes")]
        size = 64 if self._mode == "pos" else (9 if len(data) % 8 and len(data) % 9 == 0 else 8)
        if len(data) % size:
            return [Rejected(f"HID report of {len(data)} bytes in {self._mode} mode")]
        reports = [data[i:i + size] for i in range(0, len(data), size)]
        if self._mode == "keyboard":
            typed = b"".join(self._keyboard.feed(report) for report in reports)
            return self._bytes(typed)
        items: list[Reading | Rejected] = []
        for report in reports:
            try:
                done = self._pos.feed(report)
            except HidPosError as exc:
                items.append(Rejected(str(exc)))
                continue
            if done is not None:
                data_bytes, symbology = done
                items.append(_to_reading(data_bytes, self.spec.framing.encoding, False, symbology))
        return items

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None


class _FolderFrames:
    """Images of a folder (or one image) played as frames, in name order, looping if asked."""

    def __init__(self, path: Path, loop: bool):
        from devices.qr.engines import load_image

        self._load = load_image
        if path.is_dir():
            self._files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            self._files = [path]
        else:
            raise SourceError(f"{path}: no such file or folder", permanent=True)
        if not self._files:
            raise SourceError(f"{path}: no images in folder", permanent=True)
        self._loop = loop
        self._index = 0

    def __call__(self):
        if self._index >= len(self._files):
            if not self._loop:
                return None
            self._index = 0
        path = self._files[self._index]
        self._index += 1
        return self._load(path)  # ImageError propagates and is rejected by the caller


class CameraSource:
    """Frames → decoded codes. Frames come from a callable (the camera driver's latest frame, so the
    QR scanner shares the document camera without owning it), a file:// folder, or OpenCV.

    Every frame gets the cheap passes; every ``thorough_every``-th frame also gets the recovery
    passes, so a hard code is still read within a second without slowing the usual frame.
    """

    def __init__(self, spec: ScannerUrl, clock: Callable[[], float] = time.monotonic,
                 frame_source: Callable[[], Any] | None = None, stall_after: float = 5.0,
                 thorough_every: int = 5, sleep: Callable[[float], None] = time.sleep):
        from devices.qr.engines import FrameDecoder

        self.spec = spec
        self.description = f"{spec.kind} {spec.target or 'frames'} ({spec.engine})"
        self.decoder = FrameDecoder(spec.engine, spec.formats)
        self._clock = clock
        self._sleep = sleep
        self._given = frame_source
        self._grab: Callable[[], Any] | None = None
        self._capture: Any = None
        self._stall_after = stall_after
        self._thorough_every = thorough_every
        self._last_frame_at = 0.0
        self._next_at = 0.0
        self.frames = 0
        self.last_shape: tuple[int, ...] | None = None

    def open(self) -> None:
        if self._given is not None:
            self._grab = self._given
        elif self.spec.kind == "file":
            self._grab = _FolderFrames(Path(self.spec.target), self.spec.loop)
        elif self.spec.target:
            self._grab = self._open_capture()
        else:
            raise SourceError("camera:// needs a device (camera:///dev/video0) or a frame source", permanent=True)
        self._last_frame_at = self._clock()
        self._next_at = self._clock()

    def _open_capture(self) -> Callable[[], Any]:
        import cv2

        target = self.spec.target
        device: int | str = int(target) if target.isdigit() else target
        capture = cv2.VideoCapture(device, cv2.CAP_V4L2) if isinstance(device, str) else cv2.VideoCapture(device)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open camera {target}")
        if self.spec.width and self.spec.height:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.spec.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.spec.height)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._capture = capture

        def grab():
            ok, frame = capture.read()
            if not ok:
                raise SourceError(f"camera {target} stopped giving frames")
            return frame

        return grab

    def poll(self) -> list[Reading | Rejected]:
        from devices.qr.engines import ImageError

        now = self._clock()
        if now < self._next_at:
            self._sleep(min(self._next_at - now, 0.1))
            return []
        self._next_at = max(self._next_at + 1.0 / self.spec.fps, now)
        try:
            frame = self._grab()
        except SourceError:
            raise
        except ImageError as exc:
            return [Rejected(f"unreadable image: {exc}")]
        except Exception as exc:  # the frame provider is someone else's code: contain it
            raise SourceError(f"frame source failed: {_reason(exc)}") from None
        if frame is None:
            if now - self._last_frame_at > self._stall_after and self.spec.kind != "file":
                raise SourceError(f"no frame for {self._stall_after:.0f} s")
            return []
        self._last_frame_at = now
        self.frames += 1
        self.last_shape = tuple(frame.shape)
        try:
            codes = self.decoder.decode(frame, thorough=self.frames % self._thorough_every == 0)
        except ValueError as exc:
            return [Rejected(f"bad frame: {exc}")]
        return [Reading(code.text, code.format) for code in codes]

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        self._grab = None
