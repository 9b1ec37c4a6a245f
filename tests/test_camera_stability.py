"""Auto-capture: still long enough → capture once; moving, no page, or the same page lying there →
no capture. Time comes from an injected clock; nothing sleeps."""
from __future__ import annotations

import numpy as np
import pytest

from devices.camera.stability import Phase, StabilityDetector
from devices.camera.synth import SimulatedDesk


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pad(offset: int = 0, noise_seed: int | None = None) -> np.ndarray:
    img = np.full((240, 320, 3), 30, np.uint8)
    img[60:180, 80 + offset:240 + offset] = 230
    if noise_seed is not None:  # sensor noise must not count as motion
        n = np.random.default_rng(noise_seed).normal(0, 3, img.shape)
        img = np.clip(img + n, 0, 255).astype(np.uint8)
    return img


CORNERS = np.array([[80, 60], [240, 60], [240, 180], [80, 180]], float)


@pytest.fixture
def clock():
    return Clock()


def feed(det, clock, frames, step=0.1):
    phases = []
    for frame, corners in frames:
        phases.append(det.update(frame, corners).phase)
        clock.now += step
    return phases


def test_still_page_is_captured_once_after_the_hold_time(clock):
    det = StabilityDetector(hold_s=0.8, clock=clock)
    phases = feed(det, clock, [(pad(noise_seed=i), CORNERS) for i in range(20)])
    assert phases[0] == Phase.MOVING  # nothing to compare with yet
    assert phases.count(Phase.CAPTURE) == 1
    first = phases.index(Phase.CAPTURE)
    assert all(p == Phase.SETTLING for p in phases[1:first])
    assert 0.8 <= (first - 1) * 0.1 + 1e-9 < 1.0  # still from frame 1; captured once 0.8 s had passed
    assert all(p == Phase.CAPTURED for p in phases[first + 1:])


def test_progress_rises_while_settling(clock):
    det = StabilityDetector(hold_s=1.0, clock=clock)
    det.update(pad(), CORNERS)
    progress = []
    for _ in range(5):
        clock.now += 0.2
        progress.append(det.update(pad(), CORNERS).progress)
    assert progress == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])


def test_a_moving_page_is_not_captured_until_it_rests(clock):
    det = StabilityDetector(hold_s=0.5, clock=clock)
    moving = [(pad(offset=6 * i), CORNERS + [6 * i, 0]) for i in range(10)]
    assert set(feed(det, clock, moving)) == {Phase.MOVING}
    resting = [(pad(offset=54), CORNERS + [54, 0]) for _ in range(10)]
    assert feed(det, clock, resting).count(Phase.CAPTURE) == 1


def test_moving_again_rearms_the_capture(clock):
    det = StabilityDetector(hold_s=0.3, clock=clock)
    first = feed(det, clock, [(pad(), CORNERS)] * 8)
    nudged = feed(det, clock, [(pad(offset=10), CORNERS + [10, 0])] + [(pad(offset=10), CORNERS + [10, 0])] * 8)
    assert first.count(Phase.CAPTURE) == 1 and nudged.count(Phase.CAPTURE) == 1
    assert nudged[0] == Phase.MOVING


def test_corner_drift_counts_as_motion_even_when_the_picture_barely_changes(clock):
    det = StabilityDetector(hold_s=0.3, clock=clock)
    frames = [(pad(), CORNERS + [6 * i, 0]) for i in range(10)]  # 6 px a frame: 1.5 % of the diagonal
    assert set(feed(det, clock, frames)) == {Phase.MOVING}


def test_no_page_no_capture(clock):
    det = StabilityDetector(hold_s=0.2, clock=clock)
    empty = np.full((240, 320, 3), 30, np.uint8)
    assert set(feed(det, clock, [(empty, None)] * 10)) == {Phase.NO_PAGE}
    # a page arriving is a change: it must settle before it is captured
    phases = feed(det, clock, [(pad(), CORNERS)] * 6)
    assert phases[0] == Phase.MOVING and phases.count(Phase.CAPTURE) == 1


def test_without_require_page_a_still_frame_is_enough(clock):
    det = StabilityDetector(hold_s=0.2, require_page=False, clock=clock)
    empty = np.full((240, 320, 3), 30, np.uint8)
    assert feed(det, clock, [(empty, None)] * 6).count(Phase.CAPTURE) == 1


def test_on_the_simulated_desk_capture_happens_while_a_page_rests(clock):
    """Frames of sim:// at 10 fps for two cycles: every capture falls in a rest phase."""
    from devices.camera.preview import PreviewDetector

    desk = SimulatedDesk(seed=5, size=(640, 480))
    det, preview = StabilityDetector(hold_s=0.6, clock=clock), PreviewDetector()
    captures = []
    for i in range(130):
        t = i / 10
        clock.now = t
        frame = desk.frame(t)
        outline = preview.update(frame)
        if det.update(frame, outline.corners).phase == Phase.CAPTURE:
            captures.append(t)
    assert len(captures) >= 2
    cycle = desk.rest_s + 2 * desk.move_s + desk.empty_s
    for t in captures:
        into = t % cycle
        assert into < desk.rest_s or into > cycle - 0.05, f"captured at {t:.1f} s, not at rest"
        truth = desk.corners_at(t)
        assert truth is not None
