"""The live-preview outline, and the simulated desk it is shown on."""
from __future__ import annotations

import numpy as np

from devices.camera.preview import PreviewDetector, draw_outline
from devices.camera.quality import jaccard
from devices.camera.synth import SimulatedDesk


def test_the_simulated_desk_is_a_function_of_seed_and_time():
    a, b = SimulatedDesk(7, (320, 240)), SimulatedDesk(7, (320, 240))
    for t in (0.0, 2.5, 3.7, 4.9, 6.1):
        assert np.array_equal(a.frame(t), b.frame(t))
    assert not np.array_equal(a.frame(0.0), SimulatedDesk(8, (320, 240)).frame(0.0))
    cycle = a.rest_s + 2 * a.move_s + a.empty_s
    assert a.corners_at(0.0) is not None
    assert a.corners_at(a.rest_s + a.move_s + a.empty_s / 2) is None  # the pad is empty between pages
    assert np.allclose(a.corners_at(cycle + 0.1), a.corners_at(cycle + 1.0))  # the next one rests


def test_preview_follows_the_page_on_a_1280x720_desk():
    desk = SimulatedDesk(3, (1280, 720))
    det = PreviewDetector()
    cycle = desk.rest_s + 2 * desk.move_s + desk.empty_s
    scores = []
    for t in np.arange(0.0, 2 * cycle, 0.2):
        outline = det.update(desk.frame(t))
        truth = desk.corners_at(t)
        resting = truth is not None and (t % cycle) < desk.rest_s
        if resting:
            assert outline.corners is not None, f"no outline at {t:.1f} s"
            scores.append(jaccard(truth, outline.corners))
    assert np.mean(scores) > 0.97 and min(scores) > 0.9


def test_draw_outline_marks_the_frame_without_touching_the_original():
    frame = np.zeros((100, 160, 3), np.uint8)
    corners = np.array([[20.5, 10.2], [140.0, 15.0], [130.0, 90.0], [25.0, 85.0]])
    out = draw_outline(frame, corners)
    assert frame.max() == 0 and out[:, :, 1].max() > 0
    assert np.array_equal(draw_outline(frame, None), frame)
