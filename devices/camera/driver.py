"""DocumentCamera: one worker thread owns the camera and keeps the latest frame.

Readers never queue behind the camera: ``latest()`` returns the newest frame at once, the preview
worker waits for the next one with ``wait_for_frame()``, and a capture takes a frame that arrived
after it was asked for (with a one-frame V4L2 buffer, that frame is of now). When the camera
vanishes the thread reports OFFLINE, closes it, and reopens it with capped backoff; nothing raises
into the caller. Status changes are also emitted as StatusChanged events (on this thread).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from devices.base import Backoff, DeviceState, Driver, SelfTestCheck, SelfTestReport
from devices.camera.sources import EndOfFrames, FrameSource, SourceLost, make_source
from devices.camera.urls import CameraUrl, parse_camera_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    image: np.ndarray
    seq: int          # 1, 2, 3… since the driver started (across reconnects)
    at: float         # the driver clock's time of arrival


Check = SelfTestCheck  # the shared self-test records (devices/base.py)


def describe(props: dict[str, Any]) -> str:
    """'3264x2448 MJPG 15 fps' for a V4L2 camera, '12 images, 1280x960' for a folder, and so on."""
    got = props.get("got")
    if got:
        return f"{got['width']}x{got['height']} {got['fourcc']} {got['fps']:g} fps"
    size = f"{props.get('width')}x{props.get('height')}"
    if "images" in props:
        return f"{props['images']} image(s), {size}"
    return f"{size} at {props.get('fps', 0):g} fps"


class DocumentCamera(Driver):
    thread_name = "document-camera"
    settle_on_open = False  # settled at the first frame: wait_settled() then latest() gives a frame

    def __init__(self, url: str, *, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time, backoff: Backoff | None = None,
                 source_factory: Callable[[CameraUrl], FrameSource] | None = None) -> None:
        """Raises DeviceUrlError (a ValueError) for a URL that cannot name a camera."""
        self.spec = parse_camera_url(url)
        super().__init__(url, poll_interval=0.0, clock=clock, wall_clock=wall_clock,
                         backoff=backoff or Backoff(base=0.5, cap=10.0))
        self._factory = source_factory or (lambda spec: make_source(spec, clock))
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._seq = 0
        self._properties: dict[str, Any] = {}

    # -- public --------------------------------------------------------------------------------
    def properties(self) -> dict[str, Any]:
        """What the source delivers: for V4L2, what was asked, what the camera gave, what differs."""
        with self._cond:
            return dict(self._properties)

    def _starting(self) -> None:
        self._set(DeviceState.OFFLINE, "正在连接高拍仪", f"connecting to {self.url}")

    def _stopping(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def latest(self) -> Frame | None:
        with self._cond:
            return self._latest

    def wait_for_frame(self, after_seq: int = 0, timeout: float | None = None) -> Frame | None:
        """The first frame newer than ``after_seq``, or None at the timeout or when stopped."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while (self._latest is None or self._latest.seq <= after_seq) and not self._stop.is_set():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)
            if self._latest is None or self._latest.seq <= after_seq:
                return None
            return self._latest

    def capture(self, timeout: float = 5.0) -> Frame | None:
        """A frame that arrived after this call (not one from before the page was placed)."""
        with self._cond:
            after = self._latest.seq if self._latest is not None else 0
        return self.wait_for_frame(after, timeout)

    def self_test(self, timeout: float = 5.0) -> SelfTestReport:
        """Is it connected; do frames arrive, at what rate; are they pictures (not a black lens cap);
        did the camera take the requested format. Starts and stops the driver if not running."""
        started_here = self._thread is None
        if started_here:
            self.start()
        try:
            status = self.wait_settled(timeout)
            checks = [Check("connection", status.state in (DeviceState.READY, DeviceState.DEGRADED),
                            status.detail_en, status.detail_zh)]
            first = self.wait_for_frame(0, timeout)
            second = frames = None
            if first is not None:  # the rate over a few frames (the first ones may come in a burst)
                second, frames = first, 0
                until = time.monotonic() + min(timeout, 1.0)
                while frames < 5 and time.monotonic() < until:
                    nxt = self.wait_for_frame(second.seq, max(0.01, until - time.monotonic()))
                    if nxt is None:
                        break
                    frames += nxt.seq - second.seq
                    second = nxt
            if first is None or not frames:
                checks.append(Check("frames", False, "no frames arrived" if first is None else "frames stopped",
                                    "没有取得画面"))
            else:
                dt = second.at - first.at
                rate = f"{frames / dt:.1f} fps" if dt > 0 else "fps unknown"
                checks.append(Check("frames", True, f"{second.image.shape[1]}x{second.image.shape[0]}, {rate}",
                                    "画面正常"))
                spread = float(np.std(second.image[::8, ::8]))
                checks.append(Check("picture", spread > 2.0, f"grey-level spread {spread:.1f}",
                                    "画面有内容" if spread > 2.0 else "画面全黑或全白，请检查镜头"))
            props = self.properties()
            if props.get("asked"):
                bad = props.get("mismatch") or []
                checks.append(Check("format", not bad, "as requested" if not bad else
                                    f"camera differs from request in {', '.join(bad)}: asked {props['asked']}, got {props['got']}",
                                    "格式符合设定" if not bad else "摄像头格式与设定不符"))
            return SelfTestReport.of(checks, **props)
        finally:
            if started_here:
                self.stop()

    # -- the worker (Driver._stream: open, pump frames, reopen with backoff) ----------------------
    def _run(self) -> None:
        self._stream()
        self._set(DeviceState.OFFLINE, "高拍仪已停止", "camera stopped")

    def _open_source(self) -> tuple[FrameSource, dict[str, Any]]:
        source = self._factory(self.spec)
        try:
            return source, source.open()
        except BaseException:
            self._close_source((source, {}))
            raise

    def _open_failed(self, exc: Exception) -> None:
        if isinstance(exc, SourceLost):
            self._set(DeviceState.OFFLINE, "高拍仪未连接", f"camera not available: {exc}")
            return
        log.error("opening the camera failed", exc_info=exc)  # a library surprise must not kill the thread
        self._set(DeviceState.ERROR, "高拍仪故障", f"camera error: {type(exc).__name__}: {exc}")

    def _opened(self, opened: tuple[FrameSource, dict[str, Any]]) -> None:
        props = opened[1]
        with self._cond:
            self._properties = props
        if props.get("mismatch"):
            got, asked = props["got"], props["asked"]
            wanted = " ".join(str(v) for v in (
                f"{asked['width']}x{asked['height']}" if "width" in asked else None,
                asked.get("fourcc"), f"{asked['fps']} fps" if "fps" in asked else None,
                "buffer 1" if "buffersize" in props["mismatch"] else None) if v)
            self._set(DeviceState.DEGRADED, "高拍仪格式与设定不符",
                      f"camera gave {describe(props)} (buffer {got['buffersize']}); asked {wanted}")
            log.warning("camera %s: asked %s, got %s", self.url, asked, got)
        else:
            self._set(DeviceState.READY, "高拍仪就绪", f"camera ready ({describe(props)})")

    def _source_failed(self, exc: Exception) -> None:
        self._bump("failures")
        if isinstance(exc, SourceLost):
            self._set(DeviceState.OFFLINE, "高拍仪连接中断", f"camera lost: {exc}")
            return
        log.error("camera source failed", exc_info=exc)
        self._set(DeviceState.ERROR, "高拍仪故障", f"camera error: {type(exc).__name__}: {exc}")

    def _close_source(self, opened: tuple[FrameSource, dict[str, Any]]) -> None:
        try:
            opened[0].close()
        except Exception:
            log.debug("closing the camera source failed", exc_info=True)

    def _pump(self, opened: tuple[FrameSource, dict[str, Any]]) -> None:
        source = opened[0]
        while not self._stop.is_set():
            started = self._clock()
            try:
                image = source.read()
            except EndOfFrames:
                self._stop.wait()  # keep the last frame; nothing more will come
                return
            with self._cond:
                self._seq += 1
                self._latest = Frame(image, self._seq, self._clock())
                self._cond.notify_all()
            self._bump("frames")
            self._settled.set()
            if source.period > 0:
                self._stop.wait(max(0.0, source.period - (self._clock() - started)))
