"""QrScanner: the one owner of a QR/barcode scanner, opened from a URL (see urls.py).

Its worker thread opens the source, polls it, turns readings into CodeScanned events (the same code
seen again within ``dedupe_window`` seconds of its last sighting is one scan: a code held in front
of the camera, or a trigger pressed twice), keeps the status, and reopens with capped backoff when
the device goes. It never raises into its caller; subscribers are called on its thread.
Scanned text is never logged: a code can carry personal data.
"""
from __future__ import annotations

import logging
import queue
import time
from typing import Any, Callable

from devices import simports
from devices.base import Backoff, DeviceState, Driver, SelfTestCheck, SelfTestReport
from devices.qr.events import CodeScanned
from devices.qr.sources import CameraSource, HidSource, Reading, Rejected, SerialSource, SourceError
from devices.qr.urls import ScannerUrl, parse_scanner_url

log = logging.getLogger(__name__)

DEGRADED_AFTER = 3  # consecutive unreadable frames before the status says so


class RepeatFilter:
    """Admits a code unless the same text was seen within ``window`` seconds of its last sighting."""

    def __init__(self, window: float):
        self.window = window
        self._last_seen: dict[str, float] = {}

    def admit(self, text: str, now: float) -> bool:
        last = self._last_seen.get(text)
        self._last_seen[text] = now
        if len(self._last_seen) > 64:
            self._last_seen = {t: at for t, at in self._last_seen.items() if now - at <= self.window}
        return last is None or now - last > self.window


Check = SelfTestCheck  # the shared self-test records (devices/base.py)


class QrScanner(Driver):
    thread_name = "qr-scanner"

    def __init__(self, url: str, *, frame_source: Callable[[], Any] | None = None,
                 dedupe_window: float = 1.5, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time, backoff: Backoff | None = None):
        """Raises DeviceUrlError (a ValueError) for a URL that cannot name a scanner."""
        self.spec: ScannerUrl = parse_scanner_url(url)
        super().__init__(url, poll_interval=0.0, clock=clock, wall_clock=wall_clock,
                         backoff=backoff or Backoff(base=0.5, cap=15.0))
        self._frame_source = frame_source
        self._wall_clock = wall_clock
        self._repeats = RepeatFilter(dedupe_window)
        self._bad_in_a_row = 0
        self._source: Any = None
        self.simulator = None  # the ScannerSimulator of a sim:// URL while running (devices.simports)
        # codes kept for wait_for_code(), so a code that arrives before the caller starts waiting
        # is not lost (the CLI and tests scan, then wait)
        self._recent: queue.Queue = queue.Queue(maxsize=64)
        self._events.subscribe(self._keep_for_waiters)

    def _keep_for_waiters(self, event: Any) -> None:
        if isinstance(event, CodeScanned):
            if self._recent.full():
                try:
                    self._recent.get_nowait()
                except queue.Empty:
                    pass
            self._recent.put_nowait(event)

    # -- public --------------------------------------------------------------------------------
    def _starting(self) -> None:
        self.simulator = simports.simulator(self.spec.target)  # the ScannerSimulator of a sim:// URL, else None
        self._set(DeviceState.OFFLINE, "正在连接扫码器", f"connecting to {self.url}")

    def _stopped(self) -> None:
        simports.release(self.spec.target)
        self.simulator = None

    def wait_for_code(self, timeout: float) -> CodeScanned | None:
        """The next code not yet taken by a waiter, waiting up to ``timeout`` (None: none came).
        For the CLI and tests, not the UI (which subscribes)."""
        try:
            return self._recent.get(timeout=timeout)
        except queue.Empty:
            return None

    def self_test(self, timeout: float = 5.0) -> SelfTestReport:
        """Can the scanner be opened (or is it running); for cameras and files, can the decoder read
        a test code, and do frames arrive. ``timeout`` is not needed: nothing here waits."""
        checks = [self._check_connection()]
        if self.spec.kind in ("camera", "file"):
            checks.append(_check_decoder(self.spec.engine))
            if self._source is not None and isinstance(self._source, CameraSource):
                frames = self._source.frames
                checks.append(Check("frames", frames > 0, f"{frames} frames, last {self._source.last_shape}",
                                    f"已取得 {frames} 帧画面" if frames else "没有取得画面"))
        return SelfTestReport.of(checks)

    # -- the worker ----------------------------------------------------------------------------
    def _make_source(self):
        spec = self.spec
        if spec.kind == "serial":
            return SerialSource(spec, self._clock)
        if spec.kind == "hid":
            return HidSource(spec, self._clock)
        return CameraSource(spec, self._clock, frame_source=self._frame_source)

    def _run(self) -> None:
        self._stream()
        self._set(DeviceState.OFFLINE, "扫码器已停止", "scanner stopped")

    def _open_source(self):
        source = self._make_source()
        source.open()
        return source

    def _open_failed(self, exc: Exception) -> None:
        if isinstance(exc, SourceError):
            if exc.permanent:
                self._set(DeviceState.ERROR, "扫码器无法使用，请联系维护人员", f"scanner unusable: {exc}")
            else:
                self._set(DeviceState.OFFLINE, "扫码器未连接", f"scanner not connected: {exc}")
            return
        log.error("opening the scanner failed", exc_info=exc)  # a bug or a library surprise
        self._set(DeviceState.ERROR, "扫码器故障", f"scanner error: {type(exc).__name__}: {exc}")

    def _opened(self, source) -> None:
        self._source = source
        self._bad_in_a_row = 0
        self._set(DeviceState.READY, "扫码器就绪", f"scanner ready ({source.description})")

    def _pump(self, source) -> None:
        while not self._stop.is_set():
            for item in source.poll():
                self._handle(item)

    def _close_source(self, source) -> None:
        self._source = None
        source.close()

    def _source_failed(self, exc: Exception) -> None:
        if isinstance(exc, SourceError):
            self._set(DeviceState.OFFLINE, "扫码器连接中断", f"scanner connection lost: {exc}")
            return
        log.error("scanner source failed", exc_info=exc)
        self._set(DeviceState.ERROR, "扫码器故障", f"scanner error: {type(exc).__name__}: {exc}")

    def _handle(self, item: Reading | Rejected) -> None:
        if isinstance(item, Rejected):
            self._bump("bad_frames")
            self._bad_in_a_row += 1
            log.debug("rejected scanner data: %s", item.reason)
            if self._bad_in_a_row >= DEGRADED_AFTER:
                self._set(DeviceState.DEGRADED, "扫码器数据异常", f"scanner sends unreadable data ({item.reason})")
            return
        self._bad_in_a_row = 0
        if self.status().state == DeviceState.DEGRADED:
            self._set(DeviceState.READY, "扫码器就绪", f"scanner ready ({self._source.description})")
        if not self._repeats.admit(item.text, self._clock()):
            self._bump("duplicates")
            return
        self._bump("scans")
        log.debug("code scanned: %d chars, %s", len(item.text), item.symbology)
        self._emit(CodeScanned(item.text, self.url, item.symbology, self._wall_clock()))

    def _check_connection(self) -> Check:
        status = self.status()
        if self._thread is not None:
            ok = status.state in (DeviceState.READY, DeviceState.DEGRADED)
            return Check("connection", ok, status.detail_en, status.detail_zh)
        try:  # not running: open and close once
            source = self._make_source()
            source.open()
            source.close()
            return Check("connection", True, f"opened {source.description}", "扫码器可以打开")
        except SourceError as exc:
            return Check("connection", False, str(exc), "扫码器无法打开")
        finally:
            simports.release(self.spec.target)  # a sim:// simulator opened just for this check


def _check_decoder(engine: str) -> Check:
    """Decode a generated code with Chinese UTF-8 content: proves the library loads and reads text right."""
    from devices.qr.engines import FrameDecoder
    from devices.qr.synthetic import scene

    text = "自检 二维码 ZW20250101-000001"
    started = time.perf_counter()
    try:
        codes = FrameDecoder(engine).decode(scene(text, 640, 480, 240, noise=4.0))
    except Exception as exc:  # a missing native library shows up here
        return Check("decoder", False, f"{engine} failed: {type(exc).__name__}: {exc}", "解码库无法使用")
    ms = (time.perf_counter() - started) * 1000
    ok = [c.text for c in codes] == [text]
    return Check("decoder", ok, f"{engine} {'read' if ok else 'misread'} a test code in {ms:.1f} ms",
                 "解码正常" if ok else "解码异常")
