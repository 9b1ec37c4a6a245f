"""Flat synthetic documents: A4 pages, ID cards, household-register booklets and certificates.

Drawn with OpenCV primitives (Hershey text stands in for print; no fonts are needed), each at a given
pixel width, for the scenes in synth.py. Nothing here is personal data: the words are random.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

KINDS = ("a4", "id_card", "booklet", "certificate")

# Physical sizes in millimetres (width, height) of the upright document.
SIZES_MM = {
    "a4": (210.0, 297.0),
    "certificate": (297.0, 210.0),
    "id_card": (85.6, 53.98),
    "booklet": (203.0, 146.0),  # an open household-register booklet: two pages and the cover rim
}
_WORDS = ("name address date county township village office certificate resident household number "
          "applicant approved section article seal register pension medical insurance social affairs "
          "the of and for with by under per record").split()


def _text_line(img, x, y, width, height, rng, color=(30, 30, 30), thickness=1) -> None:
    """Random words filling about ``width`` pixels at baseline ``y`` with glyph height ``height``."""
    scale = height / 22.0
    cursor = x
    while True:
        word = _WORDS[rng.integers(len(_WORDS))]
        (tw, _), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        if cursor + tw > x + width:
            break
        cv2.putText(img, word, (int(cursor), int(y)), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thickness, cv2.LINE_AA)
        cursor += tw + height * 0.6


def _paragraphs(img, x0, y0, x1, y1, rng, line_h, color=(30, 30, 30)) -> None:
    y = y0 + line_h
    thickness = max(1, int(round(line_h / 18)))
    while y < y1:
        if rng.random() < 0.12:  # paragraph break
            y += line_h
            continue
        width = (x1 - x0) * (rng.uniform(0.35, 0.8) if rng.random() < 0.15 else 1.0)
        _text_line(img, x0, y, width, line_h * 0.55, rng, color, thickness)
        y += line_h


def _seal(img, cx, cy, r, rng) -> None:
    red = (int(rng.integers(20, 60)), int(rng.integers(20, 60)), int(rng.integers(170, 220)))
    t = max(2, int(r * 0.07))
    cv2.circle(img, (int(cx), int(cy)), int(r), red, t, cv2.LINE_AA)
    pts = []
    for i in range(10):
        a = -math.pi / 2 + i * math.pi / 5
        rr = r * (0.32 if i % 2 == 0 else 0.13)
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    cv2.fillPoly(img, [np.int32(pts)], red, cv2.LINE_AA)


def _paper(w, h, rng, base) -> np.ndarray:
    img = np.empty((h, w, 3), np.uint8)
    img[:] = base
    return img


def _render_a4(w, h, rng) -> np.ndarray:
    tone = int(rng.integers(232, 252))
    img = _paper(w, h, rng, (tone - int(rng.integers(0, 8)), tone - int(rng.integers(0, 4)), tone))
    m = int(w * rng.uniform(0.08, 0.13))
    line_h = w * rng.uniform(0.028, 0.04)
    y = m
    if rng.random() < 0.8:  # title
        _text_line(img, w * 0.3, y + line_h, w * 0.4, line_h * 0.9, rng, (20, 20, 20), max(1, int(line_h / 10)))
        y += int(line_h * 2.2)
    if rng.random() < 0.35:  # a form table
        rows, cols = int(rng.integers(4, 9)), int(rng.integers(2, 5))
        th = int(line_h * 1.6)
        for r in range(rows + 1):
            cv2.line(img, (m, y + r * th), (w - m, y + r * th), (40, 40, 40), max(1, w // 700))
        for c in range(cols + 1):
            xx = m + (w - 2 * m) * c // cols
            cv2.line(img, (xx, y), (xx, y + rows * th), (40, 40, 40), max(1, w // 700))
        for r in range(rows):
            for c in range(cols):
                xx = m + (w - 2 * m) * c // cols
                _text_line(img, xx + 6, y + r * th + th * 0.7, (w - 2 * m) / cols * 0.6, line_h * 0.45, rng)
        y += rows * th + int(line_h)
    fill = rng.uniform(0.25, 0.85)  # some pages are mostly blank
    _paragraphs(img, m, y, w - m, y + (h - m - y) * fill, rng, line_h)
    if rng.random() < 0.5:
        _seal(img, w * rng.uniform(0.6, 0.75), h * rng.uniform(0.75, 0.85), w * 0.09, rng)
    return img


def _render_certificate(w, h, rng) -> np.ndarray:
    img = _paper(w, h, rng, (int(rng.integers(200, 225)), int(rng.integers(228, 240)), int(rng.integers(240, 252))))
    frame = (int(rng.integers(20, 60)), int(rng.integers(40, 130)), int(rng.integers(150, 210)))
    for inset, t in ((0.035, 0.006), (0.05, 0.002)):
        d, th = int(w * inset), max(1, int(w * t))
        cv2.rectangle(img, (d, d), (w - d, h - d), frame, th, cv2.LINE_AA)
    step = int(w * 0.02)
    d = int(w * 0.0425)
    for x in range(d + step, w - d - step, step):  # ornament between the two frames
        for yy in (d, h - d):
            cv2.circle(img, (x, yy), max(1, step // 4), frame, -1, cv2.LINE_AA)
    line_h = w * 0.03
    _text_line(img, w * 0.32, h * 0.22, w * 0.36, line_h * 1.4, rng, (30, 30, 150), max(1, int(line_h / 8)))
    _paragraphs(img, w * 0.15, h * 0.3, w * 0.85, h * 0.7, rng, line_h * 1.2)
    _seal(img, w * 0.72, h * 0.78, w * 0.07, rng)
    return img


def _render_id_card(w, h, rng) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.array([rng.uniform(200, 245), rng.uniform(215, 240), rng.uniform(215, 240)], np.float32)
    b = np.array([rng.uniform(225, 250), rng.uniform(220, 245), rng.uniform(190, 235)], np.float32)
    t = (xx / w * 0.7 + yy / h * 0.3)[..., None]
    img = a * (1 - t) + b * t
    for k in range(6):  # guilloche
        phase = rng.uniform(0, 2 * math.pi)
        wave = np.sin(xx / w * 2 * math.pi * (2 + k) + phase) * h * 0.08 + h * (0.15 + 0.13 * k)
        near = np.exp(-((yy - wave) ** 2) / (2 * (h * 0.006) ** 2))[..., None]
        img = img * (1 - 0.25 * near) + np.array([200, 170, 150], np.float32) * 0.25 * near
    img = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:  # front: portrait and personal fields
        px0, py0, px1, py1 = int(w * 0.64), int(h * 0.14), int(w * 0.92), int(h * 0.72)
        img[py0:py1, px0:px1] = (int(rng.integers(200, 235)), int(rng.integers(205, 235)), int(rng.integers(205, 235)))
        cx, cy = (px0 + px1) // 2, int(py0 + (py1 - py0) * 0.55)
        cv2.ellipse(img, (cx, int(py0 + (py1 - py0) * 0.42)), (int((px1 - px0) * 0.3), int((py1 - py0) * 0.35)),
                    0, 0, 360, (40, 40, 50), -1, cv2.LINE_AA)
        cv2.ellipse(img, (cx, cy), (int((px1 - px0) * 0.24), int((py1 - py0) * 0.3)), 0, 0, 360,
                    (150, 175, 215), -1, cv2.LINE_AA)
        cv2.ellipse(img, (cx, py1), (int((px1 - px0) * 0.45), int((py1 - py0) * 0.25)), 0, 180, 360,
                    (60, 60, 70), -1, cv2.LINE_AA)
        for i in range(5):
            _text_line(img, w * 0.06, h * (0.2 + 0.12 * i), w * 0.5, h * 0.05, rng)
        _text_line(img, w * 0.3, h * 0.88, w * 0.6, h * 0.06, rng, (20, 20, 20), max(1, int(h / 160)))
    else:  # back: national emblem and issuing authority
        _seal(img, w * 0.16, h * 0.28, h * 0.16, rng)
        _text_line(img, w * 0.34, h * 0.3, w * 0.55, h * 0.09, rng, (20, 20, 20), max(1, int(h / 120)))
        for i in range(2):
            _text_line(img, w * 0.3, h * (0.75 + 0.1 * i), w * 0.6, h * 0.05, rng)
    return img


def _render_booklet(w, h, rng) -> np.ndarray:
    cover = (int(rng.integers(30, 70)), int(rng.integers(30, 60)), int(rng.integers(110, 170)))
    img = _paper(w, h, rng, cover)
    rim = max(2, int(w * 2.5 / 203))  # the cover overhangs the pages
    page = (int(rng.integers(225, 245)), int(rng.integers(222, 240)), int(rng.integers(232, 250)))
    mid = w // 2
    ink = (40, 50, 120)
    for x0, x1 in ((rim, mid - 1), (mid + 1, w - rim)):
        img[rim:h - rim, x0:x1] = page
        # fine background print on the pages
        for yy in range(rim + 3, h - rim, max(3, h // 90)):
            cv2.line(img, (x0, yy), (x1, yy), (page[0] - 8, page[1] - 10, page[2] - 4), 1)
        pw = x1 - x0
        rows = 9
        top = int(rim + h * 0.14)
        rh = (h - rim - top - h * 0.06) / rows
        cv2.rectangle(img, (int(x0 + pw * 0.06), top), (int(x1 - pw * 0.06), int(top + rows * rh)), ink, 1)
        for r in range(1, rows):
            yy = int(top + r * rh)
            cv2.line(img, (int(x0 + pw * 0.06), yy), (int(x1 - pw * 0.06), yy), ink, 1)
            _text_line(img, x0 + pw * 0.1, yy - rh * 0.25, pw * 0.6, rh * 0.45, rng)
        _text_line(img, x0 + pw * 0.3, rim + h * 0.09, pw * 0.4, h * 0.04, rng, (30, 30, 30), 2)
    shade = np.exp(-((np.arange(w, dtype=np.float32) - mid) ** 2) / (2 * (w * 0.012) ** 2))
    img = (img.astype(np.float32) * (1 - 0.35 * shade[None, :, None])).astype(np.uint8)
    return img


_RENDER = {"a4": _render_a4, "certificate": _render_certificate, "id_card": _render_id_card,
           "booklet": _render_booklet}


def render_document(kind: str, width: int, rng: np.random.Generator, *, landscape: bool | None = None) -> np.ndarray:
    """A flat document of ``kind`` ``width`` pixels wide (portrait or landscape per the kind)."""
    wmm, hmm = SIZES_MM[kind]
    if landscape is not None and (wmm > hmm) != landscape:
        wmm, hmm = hmm, wmm
    height = max(8, int(round(width * hmm / wmm)))
    return _RENDER[kind](width, height, rng)


def document_mask(kind: str, w: int, h: int) -> np.ndarray:
    """Coverage of the document in its own pixels: 1 inside; ID cards have rounded corners (ISO 7810)."""
    mask = np.ones((h, w), np.float32)
    if kind == "id_card":
        r = int(round(w * 3.18 / 85.6))
        corner = np.zeros((r, r), np.float32)
        cv2.circle(corner, (r - 1, r - 1), r, 1.0, -1, cv2.LINE_AA)
        mask[:r, :r] = corner
        mask[:r, w - r:] = corner[:, ::-1]
        mask[h - r:, :r] = corner[::-1, :]
        mask[h - r:, w - r:] = corner[::-1, ::-1]
    return mask
