"""The Jaccard index used to score page detection (SmartDoc 2015), checked against cases with known
answers, and against a pixel count."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from devices.camera.quality import clip_polygon, jaccard, jaccard_smartdoc, polygon_area

SQUARE = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)


def test_area_and_orientation():
    assert polygon_area(SQUARE) == pytest.approx(100)
    assert polygon_area(SQUARE[::-1]) == pytest.approx(-100)


def test_identical_disjoint_and_half_overlapping():
    assert jaccard(SQUARE, SQUARE) == pytest.approx(1.0)
    assert jaccard(SQUARE, SQUARE[::-1]) == pytest.approx(1.0)  # orientation does not matter
    assert jaccard(SQUARE, SQUARE + [20, 0]) == 0.0
    assert jaccard(SQUARE, SQUARE + [5, 0]) == pytest.approx(50 / 150)
    assert jaccard(SQUARE, SQUARE * 0.5) == pytest.approx(0.25)


def test_clipping_a_rotated_square():
    diamond = np.array([[5, -2], [12, 5], [5, 12], [-2, 5]], float)
    inter = clip_polygon(diamond, SQUARE)
    assert len(inter) == 8
    assert abs(polygon_area(inter)) == pytest.approx(14 * 14 / 2 - 4 * (4 * 2 / 2))  # diamond less four tips


def test_against_counting_pixels():
    rng = np.random.default_rng(4)
    for _ in range(20):
        a = np.array([[100, 100], [400, 120], [380, 390], [90, 370]], float) + rng.uniform(-40, 40, (4, 2))
        b = a + rng.uniform(-30, 30, (4, 2))
        scale = 4  # count on a finer grid
        ma = np.zeros((500 * scale, 500 * scale), np.uint8)
        mb = np.zeros_like(ma)
        cv2.fillPoly(ma, [np.round(a * scale).astype(np.int32)], 1)
        cv2.fillPoly(mb, [np.round(b * scale).astype(np.int32)], 1)
        counted = np.logical_and(ma, mb).sum() / np.logical_or(ma, mb).sum()
        assert jaccard(a, b) == pytest.approx(counted, abs=0.01)


def test_smartdoc_measure_is_taken_in_the_document_frame():
    truth = np.array([[100, 100], [300, 120], [310, 400], [90, 380]], float)
    assert jaccard_smartdoc(truth, truth, (210, 297)) == pytest.approx(1.0)
    assert jaccard_smartdoc(truth, None) == 0.0
    # a detection one pixel outside all round scores just under 1
    grown = truth + np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]])
    assert 0.98 < jaccard_smartdoc(truth, grown) < 1.0
    # the same error in the document frame scores the same wherever perspective puts the page
    H = cv2.getPerspectiveTransform(np.float32([[0, 0], [1, 0], [1, 1], [0, 1]]), np.float32(truth))
    ref = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
    shrunk = ref * 0.9 + 0.05

    def to_image(p):
        q = np.hstack([p, np.ones((4, 1))]) @ H.T
        return q[:, :2] / q[:, 2:]

    assert jaccard_smartdoc(truth, to_image(shrunk), (1, 1)) == pytest.approx(0.81, abs=1e-6)
