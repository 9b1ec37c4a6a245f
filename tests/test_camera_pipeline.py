"""The page pipeline on a generated set with known corners (synth.evaluation_set): pages, ID cards,
household-register booklets and certificates on dark pads, wood, light grey and patterned cloth,
with shadows, uneven light, blur, noise and JPEG artefacts. Scored like SmartDoc 2015.

Out of scope on purpose: a pattern whose ground is as white as the paper (the kiosk ships a dark pad).
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from devices.camera.detect import detect_page, is_sane, order_corners
from devices.camera.pipeline import (MODES, enhance, estimate_skew, page_size, paper_level, process)
from devices.camera.quality import jaccard_smartdoc
from devices.camera.synth import EVALUATION_SET, KINDS, BACKGROUNDS, compose, evaluation_set, make_scene


@pytest.fixture(scope="module")
def scored():
    """Every scene of the evaluation set with what the detector found and its Jaccard index."""
    out = []
    for scene in evaluation_set():
        found = detect_page(scene.image)
        score = None if scene.corners is None else jaccard_smartdoc(scene.corners, None if found is None
                                                                     else found.corners, scene.doc_size)
        out.append((scene, found, score))
    return out


def test_the_set_covers_every_kind_on_every_background_and_empty_pads(scored):
    docs = [s for s, _, _ in scored if s.corners is not None]
    assert len(docs) >= 40 and len(scored) - len(docs) >= 8
    assert {(s.kind, s.background) for s in docs} == {(k, b) for k in KINDS for b in BACKGROUNDS}
    assert docs[0].image.shape[:2] == EVALUATION_SET["size"][::-1]


def test_jaccard_on_the_generated_set_meets_the_goal(scored):
    scores = np.array([j for s, _, j in scored if j is not None])
    worst = min(((j, s.kind, s.background, s.seed) for s, _, j in scored if j is not None))
    assert scores.mean() >= 0.98, f"mean Jaccard {scores.mean():.4f}"
    assert scores.min() >= 0.9, f"worst case {worst}"


def test_empty_pads_give_no_page(scored):
    for scene, found, _ in scored:
        if scene.corners is None:
            assert found is None, f"a page was seen on the empty {scene.background} (seed {scene.seed})"


def test_corners_come_in_order_tl_tr_br_bl(scored):
    for scene, found, _ in scored:
        if found is None:
            continue
        c = found.corners
        assert is_sane(c)
        area = 0.5 * sum(c[i][0] * c[(i + 1) % 4][1] - c[(i + 1) % 4][0] * c[i][1] for i in range(4))
        assert area > 0  # clockwise on screen (y down)
        assert np.argmin(c[:, 0] + c[:, 1]) == 0


def test_order_corners_from_any_order_and_rotation():
    square = np.array([[10, 10], [110, 10], [110, 60], [10, 60]], float)
    for perm in ([2, 0, 3, 1], [3, 2, 1, 0], [1, 3, 0, 2]):
        assert np.allclose(order_corners(square[perm]), square)
    c = np.array([100, 100])
    for deg in (-40, -10, 0, 25, 44):
        a = math.radians(deg)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        quad = (square - square.mean(axis=0)) @ rot.T + c
        ordered = order_corners(quad[[2, 3, 0, 1]])
        assert np.argmin(ordered[:, 0] + ordered[:, 1]) == 0
        assert np.allclose(sorted(map(tuple, ordered)), sorted(map(tuple, quad)))


def test_the_ground_truth_is_where_the_pixels_are():
    """The generator's corners follow the warpPerspective convention: the mask it pastes covers
    exactly the quadrilateral's area."""
    bg = np.zeros((300, 400, 3), np.float32)
    doc = np.full((100, 150, 3), 255, np.uint8)
    quad = np.array([[52.3, 61.7], [301.2, 40.4], [330.8, 230.1], [70.5, 250.9]])
    img, _ = compose(bg, doc, np.ones((100, 150), np.float32), quad, None, shadow=0.0)
    coverage = img[..., 0].sum() / 255.0
    area = 0.5 * abs(sum(quad[i][0] * quad[(i + 1) % 4][1] - quad[(i + 1) % 4][0] * quad[i][1] for i in range(4)))
    assert coverage == pytest.approx(area, rel=0.003)


def test_no_page_falls_back_to_the_full_frame_and_says_so():
    scene = make_scene(31, (640, 480), kind="none", background="wood")
    result = process(scene.image, "gray")
    assert result.corners is None and not result.found
    assert (result.width, result.height) == (640, 480)
    assert cv2.imdecode(np.frombuffer(result.jpeg, np.uint8), cv2.IMREAD_UNCHANGED).shape[:2] == (480, 640)


@pytest.mark.parametrize("mode", MODES)
def test_process_straightens_enhances_and_encodes(mode):
    scene = make_scene(5, (1024, 768), kind="a4", background="dark_pad")
    result = process(scene.image, mode)
    assert result.found
    assert jaccard_smartdoc(scene.corners, result.corners, scene.doc_size) > 0.98
    # an A4 page comes out with A4 proportions, portrait or landscape as it lies
    assert max(result.width, result.height) / min(result.width, result.height) == pytest.approx(math.sqrt(2), abs=0.01)
    page = cv2.imdecode(np.frombuffer(result.jpeg, np.uint8), cv2.IMREAD_UNCHANGED)
    assert page.shape[:2] == (result.height, result.width)
    assert (page.ndim == 3) == (mode == "color")
    if mode == "bw":
        assert set(np.unique(result.image)) <= {0, 255}
    assert set(result.timings_ms) >= {"detect", "deskew", "warp", "enhance", "encode", "total"}


def test_enhancement_removes_a_shadow_from_the_paper():
    page = np.full((400, 300, 3), 235, np.uint8)
    cv2.putText(page, "TEXT", (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 2, (20, 20, 20), 4)
    shade = np.ones((400, 300, 1), np.float32)
    shade[:, 150:] = 0.55
    shadowed = (page * cv2.GaussianBlur(shade, (0, 0), 5)[..., None]).astype(np.uint8)
    for mode in ("gray", "color"):
        out = enhance(shadowed, mode)
        gray = out if out.ndim == 2 else cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
        lit, dark = gray[20:60, 20:120], gray[20:60, 200:280]
        assert abs(float(lit.mean()) - float(dark.mean())) < 12  # the shadow is gone
        assert lit.mean() > 230 and gray[170:200, 60:200].min() < 60  # paper white, text dark
    assert paper_level(cv2.cvtColor(shadowed, cv2.COLOR_BGR2GRAY)).shape == (400, 300)


@pytest.mark.parametrize("angle", [0.0, 1.2, -2.5, 4.0])
def test_skew_of_text_lines_is_measured(angle):
    from devices.camera.synth import render_document

    doc = render_document("a4", 700, np.random.default_rng(3))
    gray = cv2.cvtColor(doc, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    rotated = cv2.warpAffine(gray, cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), (w, h),
                             borderMode=cv2.BORDER_REPLICATE)
    assert estimate_skew(rotated) == pytest.approx(angle, abs=0.2)


def test_deskew_is_folded_into_the_warp():
    """A page photographed flat but printed crooked comes out with level text lines."""
    from devices.camera.synth import render_document

    doc = render_document("a4", 600, np.random.default_rng(8))
    h, w = doc.shape[:2]
    crooked = cv2.warpAffine(doc, cv2.getRotationMatrix2D((w / 2, h / 2), 2.0, 1.0), (w, h),
                             borderMode=cv2.BORDER_REPLICATE)
    scene = np.full((1000, 1000, 3), 30, np.uint8)
    scene[100:100 + h, 200:200 + w] = crooked
    result = process(scene, "gray")
    assert result.found and result.skew_deg == pytest.approx(2.0, abs=0.3)
    assert abs(estimate_skew(result.image)) < 0.3


def test_page_size_snaps_to_known_formats():
    a4ish = np.array([[0, 0], [1000, 0], [1000, 1400], [0, 1400]], float)  # 1.40: A4 is 1.414
    w, h = page_size(a4ish)
    assert (w, h) == (990, 1400)
    card = np.array([[0, 0], [860, 0], [860, 545], [0, 545]], float)
    w, h = page_size(card)
    assert w == 860 and h == round(860 / (85.6 / 53.98))
    odd = np.array([[0, 0], [1000, 0], [1000, 500], [0, 500]], float)
    assert page_size(odd) == (1000, 500)
