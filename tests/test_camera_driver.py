"""DocumentCamera: URLs, latest-frame semantics, reconnecting when the camera vanishes, status,
self-test. file:// and sim:// run the production driver unchanged; a real UVC camera is tested
with ``-m hardware`` when one is attached."""
from __future__ import annotations

import glob
import os
import queue
import time

import cv2
import numpy as np
import pytest

from devices.base import Backoff, DeviceState, StatusChanged
from devices.camera.driver import DocumentCamera
from devices.camera.sources import FrameSource, SourceLost
from devices.camera.urls import parse_camera_url
from devices.urls import DeviceUrlError

FAST = dict(backoff=Backoff(base=0.01, cap=0.05))


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "frames"
    d.mkdir()
    for i in range(3):
        img = np.full((60, 80, 3), 40 * (i + 1), np.uint8)
        cv2.imwrite(str(d / f"f{i}.png"), img)
    (d / "readme.txt").write_text("not an image")
    return d


# -- URLs --------------------------------------------------------------------------------------
@pytest.mark.parametrize("url, scheme, path", [
    ("v4l2:///dev/video0?width=3264&height=2448&fourcc=MJPG&fps=15", "v4l2", "/dev/video0"),
    ("v4l2:///dev/v4l/by-id/usb-camera-video-index0", "v4l2", "/dev/v4l/by-id/usb-camera-video-index0"),
    ("file:///srv/pages/", "file", "/srv/pages/"),
    ("file:///srv/pages/a%20b.jpg?fps=2&loop=0", "file", "/srv/pages/a b.jpg"),
    ("sim://", "sim", ""),
    ("sim://?seed=4&width=640&height=480&fps=15", "sim", ""),
])
def test_good_urls(url, scheme, path):
    spec = parse_camera_url(url)
    assert (spec.scheme, spec.path) == (scheme, path)


@pytest.mark.parametrize("url, words", [
    ("http://camera", "scheme"),
    ("", "empty"),
    ("v4l2://", "needs a path"),
    ("v4l2://dev/video0", "three slashes"),
    ("v4l2:///dev/video0?width=3264", "together"),
    ("v4l2:///dev/video0?width=abc&height=2", "whole number"),
    ("v4l2:///dev/video0?fourcc=MJPEG", "four characters"),
    ("v4l2:///dev/video0?zoom=2", "unknown option"),
    ("file:///x?loop=2", "loop"),
    ("sim://?fps=0", "out of range"),
    ("sim://?seed=1&seed=2", "twice"),
])
def test_bad_urls_say_why(url, words):
    with pytest.raises(DeviceUrlError, match=words):
        parse_camera_url(url)
    with pytest.raises(ValueError):
        DocumentCamera(url)


# -- frames ------------------------------------------------------------------------------------
def test_a_folder_plays_its_images_in_order_and_latest_is_the_newest(folder):
    cam = DocumentCamera(f"file://{folder}/?fps=50", **FAST)
    with cam:
        assert cam.wait_settled(5).state == DeviceState.READY
        seen = []
        seq = 0
        while len(seen) < 6:
            frame = cam.wait_for_frame(seq, 5)
            assert frame is not None and frame.seq > seq
            seq = frame.seq
            seen.append(int(frame.image[0, 0, 0]))
        latest = cam.latest()
        assert latest.seq >= seq
        assert cam.properties()["images"] == 3
    # each image in turn (a frame may be skipped by a slow reader, never repeated out of order)
    cycle = [40, 80, 120]
    for a, b in zip(seen, seen[1:]):
        assert b in cycle and a in cycle
    assert set(seen) <= set(cycle) and len(set(seen)) >= 2
    assert cam.status().state == DeviceState.OFFLINE  # stopped


def test_capture_returns_a_frame_taken_after_the_call(folder):
    with DocumentCamera(f"file://{folder}/?fps=50", **FAST) as cam:
        first = cam.wait_for_frame(0, 5)
        shot = cam.capture(5)
        assert shot is not None and shot.seq > first.seq


def test_loop_0_stops_on_the_last_image_and_keeps_it(folder):
    with DocumentCamera(f"file://{folder}/?fps=100&loop=0", **FAST) as cam:
        assert wait_until(lambda: cam.latest() is not None and cam.latest().seq == 3)
        time.sleep(0.1)
        assert cam.latest().seq == 3 and int(cam.latest().image[0, 0, 0]) == 120
        assert cam.status().state == DeviceState.READY


def test_the_camera_vanishing_is_reported_and_it_reconnects(folder):
    events: queue.Queue = queue.Queue()
    cam = DocumentCamera(f"file://{folder}/?fps=50", **FAST)
    cam.subscribe(events.put)
    away = folder.with_name("unplugged")
    with cam:
        assert cam.wait_settled(5).state == DeviceState.READY
        os.rename(folder, away)  # the cable is pulled
        assert wait_until(lambda: cam.status().state == DeviceState.OFFLINE)
        assert "lost" in cam.status().detail_en or "not available" in cam.status().detail_en
        before = cam.latest()
        os.rename(away, folder)  # and plugged back in
        assert wait_until(lambda: cam.status().state == DeviceState.READY)
        assert cam.wait_for_frame(before.seq, 5) is not None
        counters = cam.status().counters
    assert counters["failures"] >= 1 and counters["reconnects"] >= 1
    states = []
    while not events.empty():
        event = events.get()
        assert isinstance(event, StatusChanged)
        states.append(event.status.state)
    assert states[:2] == [DeviceState.OFFLINE, DeviceState.READY]  # connecting, connected
    assert DeviceState.OFFLINE in states[2:] and DeviceState.READY in states[3:]


def test_a_missing_device_is_offline_and_nothing_raises():
    cam = DocumentCamera("v4l2:///dev/video-not-here?width=640&height=480", **FAST)
    with cam:
        status = cam.wait_settled(5)
        assert status.state == DeviceState.OFFLINE
        assert "/dev/video-not-here" in status.detail_en and status.detail_zh
        assert cam.latest() is None
        assert cam.capture(0.05) is None
        assert wait_until(lambda: cam.status().counters.get("open_failures", 0) >= 3)  # it keeps trying
    report = cam.self_test(0.2)
    assert not report.ok and report.checks[0].name == "connection"


def test_a_bug_in_a_source_does_not_kill_the_thread():
    class Flaky(FrameSource):
        opened = 0

        def open(self):
            Flaky.opened += 1
            self.n = 0
            return {"width": 8, "height": 8, "fps": 100}

        def read(self):
            self.n += 1
            if self.n == 3 and Flaky.opened == 1:
                raise RuntimeError("driver bug")
            time.sleep(0.005)
            return np.zeros((8, 8, 3), np.uint8)

    cam = DocumentCamera("sim://", source_factory=lambda spec: Flaky(), **FAST)
    with cam:
        assert wait_until(lambda: Flaky.opened >= 2 and cam.status().state == DeviceState.READY)
        assert cam.wait_for_frame(cam.latest().seq, 2) is not None
    assert cam.status().counters["failures"] == 1


def test_a_source_that_fails_to_open_is_retried_with_backoff():
    attempts = []

    class Dead(FrameSource):
        def open(self):
            attempts.append(time.monotonic())
            raise SourceLost("no camera on the bus")

    cam = DocumentCamera("sim://", source_factory=lambda spec: Dead(),
                         backoff=Backoff(base=0.02, cap=0.04))
    with cam:
        assert wait_until(lambda: len(attempts) >= 4)
    gaps = np.diff(attempts)
    assert all(g >= 0.009 for g in gaps)  # never a busy loop (half the base delay at least)
    assert cam.status().detail_en.startswith("camera")


def test_sim_delivers_frames_and_passes_its_self_test():
    cam = DocumentCamera("sim://?seed=2&width=320&height=240&fps=20")
    report = cam.self_test(10)
    assert report.ok, report.as_dict()
    names = [c.name for c in report.checks]
    assert names == ["connection", "frames", "picture"]
    assert report.properties["width"] == 320
    with cam:
        frame = cam.wait_for_frame(0, 10)
        assert frame.image.shape == (240, 320, 3)


def test_a_black_picture_fails_the_self_test():
    class LensCap(FrameSource):
        period = 0.01

        def open(self):
            return {"width": 32, "height": 24, "fps": 100}

        def read(self):
            return np.zeros((24, 32, 3), np.uint8)

    report = DocumentCamera("sim://", source_factory=lambda spec: LensCap(), **FAST).self_test(5)
    assert not report.ok
    assert [c.name for c in report.checks if not c.ok] == ["picture"]


# -- a real camera -----------------------------------------------------------------------------
@pytest.mark.hardware
@pytest.mark.skipif(not glob.glob("/dev/video*"), reason="no V4L2 camera attached")
def test_real_camera_reports_what_it_gave():
    device = sorted(glob.glob("/dev/video*"))[0]
    cam = DocumentCamera(f"v4l2://{device}?width=3264&height=2448&fourcc=MJPG&fps=15")
    with cam:
        status = cam.wait_settled(10)
        assert status.state in (DeviceState.READY, DeviceState.DEGRADED), status.detail_en
        props = cam.properties()
        assert set(props["got"]) >= {"fourcc", "width", "height", "fps", "buffersize"}
        assert props["asked"]["fourcc"] == "MJPG"
        if props["mismatch"]:
            assert status.state == DeviceState.DEGRADED and "asked" in status.detail_en
        frame = cam.capture(10)
        assert frame is not None
        assert frame.image.shape[1] == props["width"] and frame.image.shape[0] == props["height"]
    report = cam.self_test(10)
    assert {c.name for c in report.checks} >= {"connection", "frames", "picture", "format"}
