"""From a camera frame to a clean page: find, straighten, enhance, encode; and pages into one PDF.

Pure functions of numpy images (no Kivy, no devices), so the capture screen, the CLI, the tests and
the benchmark run exactly the same code. Detection runs on a small copy; the perspective warp runs
once, at full resolution, with the residual skew of the text folded into the same homography, so the
page is resampled only once. When no page is found the whole frame is used (still deskewed) and the
result says so: ``corners`` is None; a whole frame with no skew to remove is delivered as it is, not
warped (in ``original`` mode the frame itself is the result's image).

Doubtful detections are never cropped silently: when the outline's confidence is below
detect.DOUBTFUL (or there is none), the whole frame is delivered, ``doubtful`` is True and ``outline``
still carries the outline that was found (if any), for the screen to show so the citizen can retake
the picture or accept the outline (``process(frame, outline=PageOutline(...))`` then crops to it).
A page lying sideways or upside down is turned upright in the same warp; ``rotation`` says by how
many degrees (clockwise).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from devices.camera.detect import DOUBTFUL, PageOutline, detect_page, downscale, orientation

MODES = ("color", "gray", "bw")
ALL_MODES = MODES + ("original",)  # original: straightened only, no enhancement (and for comparisons)
JPEG_QUALITY = 85
MAX_SKEW_DEG = 5.0
MIN_SKEW_DEG = 0.3

# Known document shapes (long side / short side), snapped to when the measured shape is within 3 %.
_ASPECTS = (math.sqrt(2.0), 85.6 / 53.98)


@dataclass(frozen=True)
class PageResult:
    """A processed page: ``corners`` (TL, TR, BR, BL in source pixels) or None when no page was found
    and the full frame was used instead."""

    corners: np.ndarray | None
    image: np.ndarray
    jpeg: bytes
    skew_deg: float  # the text's measured skew, removed in the output
    timings_ms: dict[str, float] = field(default_factory=dict)
    outline: np.ndarray | None = None  # the outline detection found, even when doubtful (else None)
    confidence: float = 0.0            # how sure detection is of ``outline`` (0..1)
    doubtful: bool = False             # no clear page: the whole frame was delivered, ask the citizen
    rotation: int = 0                  # degrees (0, 90, 180, 270) the page was turned clockwise
    @property
    def found(self) -> bool:
        return self.corners is not None

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    def corners_list(self) -> list[list[float]] | None:
        if self.corners is None:
            return None
        return [[round(float(x), 1), round(float(y), 1)] for x, y in self.corners]


def page_size(corners: np.ndarray, max_side: int = 6000) -> tuple[int, int]:
    """Output (width, height) for a page with these corners: the longer of each pair of opposite
    sides, snapped to A4 or ID-1 proportions when within 3 %."""
    c = np.asarray(corners, np.float64)
    w = max(np.linalg.norm(c[1] - c[0]), np.linalg.norm(c[2] - c[3]))
    h = max(np.linalg.norm(c[3] - c[0]), np.linalg.norm(c[2] - c[1]))
    long_, short = max(w, h), min(w, h)
    for aspect in _ASPECTS:
        if abs(long_ / short / aspect - 1) < 0.03:
            short = long_ / aspect
    scale = min(1.0, max_side / long_)
    long_, short = long_ * scale, short * scale
    w, h = (long_, short) if w >= h else (short, long_)
    return max(1, int(round(w))), max(1, int(round(h)))


def page_homography(corners: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Source pixels → page pixels, mapping the page's outer edge onto the output's outer edge."""
    w, h = size
    dst = np.float32([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    return cv2.getPerspectiveTransform(np.float32(corners), dst).astype(np.float64)


def _rotation_about_centre(angle_deg: float, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    r = np.eye(3)
    r[:2] = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), angle_deg, 1.0)
    return r


# ---------------------------------------------------------------------------------------------
# Skew of the text that is left after straightening

def estimate_skew(gray: np.ndarray, max_deg: float = MAX_SKEW_DEG, step: float = 0.1) -> float:
    """How far the text lines are turned from level, in degrees, counter-clockwise positive as
    cv2.getRotationMatrix2D counts (turning by the negative levels them); 0.0 when the page has too
    little text to tell.

    Projection profiles of the ink pixels: at the right angle each text line falls into few rows, so
    the sum of squared row counts peaks.
    """
    h, w = gray.shape[:2]
    block = max(3, (min(h, w) // 30) | 1)
    ink = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15)
    m = max(2, int(min(h, w) * 0.04))  # ignore a margin: page edges are not text
    ys, xs = np.nonzero(ink[m:h - m, m:w - m])
    if len(xs) < 200 or len(xs) > 0.4 * (h - 2 * m) * (w - 2 * m):
        return 0.0
    if len(xs) > 4000:
        pick = np.random.default_rng(0).choice(len(xs), 4000, replace=False)
        xs, ys = xs[pick], ys[pick]
    xs = xs.astype(np.float64) - xs.mean()
    ys = ys.astype(np.float64)

    def sharpness(deg: float) -> float:
        a = math.radians(deg)
        rows = np.round(ys * math.cos(a) + xs * math.sin(a)).astype(np.int64)  # y after rotating by +a
        counts = np.bincount(rows - rows.min())
        return float(np.dot(counts, counts))

    coarse = np.arange(-max_deg, max_deg + 1e-9, 0.5)
    scores = [sharpness(a) for a in coarse]
    best = float(coarse[int(np.argmax(scores))])
    fine = np.arange(best - 0.4, best + 0.4 + 1e-9, step)
    fine_scores = [sharpness(a) for a in fine]
    best = float(fine[int(np.argmax(fine_scores))])
    if max(fine_scores) < 1.05 * sharpness(0.0):
        return 0.0  # no clear winner: leave the page as it is
    return round(best, 2)


# ---------------------------------------------------------------------------------------------
# Enhancement

def paper_level(gray: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """The brightness of bare paper at every pixel: text removed by a max filter, then smoothed.
    Works on a small straightened copy; ``size`` (w, h) scales the answer up to the full page."""
    h, w = gray.shape[:2]
    f = max(1, min(h, w) // 200)
    small = gray if f == 1 else cv2.resize(gray[: h - h % f, : w - w % f], (w // f, h // f),
                                           interpolation=cv2.INTER_AREA)
    k = max(3, (min(small.shape[:2]) // 25) | 1)
    level = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    sh, sw = level.shape[:2]
    coarse = cv2.resize(level, (max(1, sw // 4), max(1, sh // 4)), interpolation=cv2.INTER_AREA)  # it is smooth:
    level = np.maximum(cv2.GaussianBlur(coarse, (0, 0), k / 4), 1)                                 # blur it small
    return cv2.resize(level, size or (w, h), interpolation=cv2.INTER_LINEAR)


# paper → white, 25 → black: out = v * 235 / level, then levels (x - 25) * 255 / 210, in two fast steps
_GAIN = 235.0 * 255.0 / 210.0
_OFFSET = 25.0 * 255.0 / 210.0
_BLACK = np.round(np.arange(256) * (_OFFSET / _GAIN)).astype(np.uint8)  # paper level → black point


def enhance(page: np.ndarray, mode: str, paper: np.ndarray | None = None) -> np.ndarray:
    """``color``: shadows and uneven light divided out, colours kept, paper white; ``gray``: the
    same in grey; ``bw``: black text on white by adaptive thresholding. ``paper`` is the paper level
    from paper_level() at the page's size (estimated from the page itself when not given)."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (expected one of {', '.join(MODES)})")
    gray = page if page.ndim == 2 else (cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
                                        if mode != "color" or paper is None else None)
    if mode == "bw":
        block = max(15, (min(gray.shape[:2]) // 40) | 1)
        return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 12)
    if paper is None:
        paper = paper_level(gray)
    # out = gain * v / paper - offset = gain * (v - paper * offset / gain) / paper, which saturating
    # uint8 arithmetic gets right in two steps (the other order would clip at 255 before subtracting)
    black = cv2.LUT(paper, _BLACK)
    if mode == "gray":
        return cv2.divide(cv2.subtract(gray, black), paper, scale=_GAIN)
    if page.ndim == 2:
        page = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    return cv2.divide(cv2.subtract(page, cv2.cvtColor(black, cv2.COLOR_GRAY2BGR)),
                      cv2.cvtColor(paper, cv2.COLOR_GRAY2BGR), scale=_GAIN)


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


# ---------------------------------------------------------------------------------------------

def _quarter_turns(turns: int, size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """Page pixels → the page turned ``turns`` quarter turns clockwise, and the turned size."""
    w, h = size
    turns %= 4
    if turns == 0:
        return np.eye(3), size
    if turns == 1:
        return np.array([[0, -1, h - 1], [1, 0, 0], [0, 0, 1]], np.float64), (h, w)
    if turns == 2:
        return np.array([[-1, 0, w - 1], [0, -1, h - 1], [0, 0, 1]], np.float64), (w, h)
    return np.array([[0, 1, 0], [-1, 0, w - 1], [0, 0, 1]], np.float64), (h, w)


def process(frame: np.ndarray, mode: str = "color", *, quality: int = JPEG_QUALITY, deskew: bool = True,
            outline: PageOutline | None | bool = True, upright: bool = True) -> PageResult:
    """Detect, straighten (with deskew), turn upright, enhance and encode one frame.

    ``outline``: True to detect here; a PageOutline already found (by the live preview, or one the
    citizen accepted) to use it whatever its confidence; None or False to use the full frame.
    ``upright``: turn a page that lies sideways or upside down.
    """
    if mode not in ALL_MODES:
        raise ValueError(f"unknown mode {mode!r} (expected one of {', '.join(ALL_MODES)})")
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    small, k = downscale(frame)
    detected = outline is True
    if outline is True:
        outline = detect_page(frame, small=(small, k))
    found = outline if isinstance(outline, PageOutline) else None
    doubtful = detected and (found is None or found.confidence < DOUBTFUL)
    use = found if found is not None and not doubtful or not detected and found is not None else None
    t1 = time.perf_counter()
    timings["detect"] = (t1 - t0) * 1000

    h, w = frame.shape[:2]
    if use is not None:
        corners = use.corners
    else:
        corners = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
    size = page_size(corners)
    H = page_homography(corners, size)
    # The page straightened at the small copy's resolution: where the skew is measured and the
    # paper's brightness estimated, before the one full-resolution warp.
    s = min(1.0, 1.0 / k, 900.0 / max(size))
    preview_size = (max(8, int(size[0] * s)), max(8, int(size[1] * s)))
    from_small = np.array([[k, 0, (k - 1) / 2], [0, k, (k - 1) / 2], [0, 0, 1]])
    small_gray = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)

    def straightened(hom):
        return cv2.warpPerspective(small_gray, np.diag([s, s, 1.0]) @ hom @ from_small, preview_size,
                                   flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    turns = 0
    if upright and use is not None:  # which way up: judged on a copy about 800 px long
        f = min(1.0, 800.0 / max(size))
        look = (max(8, int(size[0] * f)), max(8, int(size[1] * f)))
        seen = cv2.warpPerspective(frame, np.diag([f, f, 1.0]) @ H, look, flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE)
        turns, _ = orientation(seen)
        if turns:
            R, size = _quarter_turns(turns, size)
            H = R @ H
            preview_size = (max(8, int(size[0] * s)), max(8, int(size[1] * s)))
    preview = straightened(H) if deskew or mode in ("color", "gray") else None
    angle = estimate_skew(preview) if deskew else 0.0
    if abs(angle) < MIN_SKEW_DEG:
        angle = 0.0
    if angle:
        H = _rotation_about_centre(-angle, size) @ H
        preview = straightened(H)
    t2 = time.perf_counter()
    timings["deskew"] = (t2 - t1) * 1000

    source = frame if mode in ("color", "original") else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)  # one channel, not three
    if use is None and not angle and size == (w, h):
        page = source  # the whole frame as it is: warping it would only copy it
    else:
        page = cv2.warpPerspective(source, H, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    t3 = time.perf_counter()
    timings["warp"] = (t3 - t2) * 1000
    if mode != "original":
        page = enhance(page, mode, None if mode == "bw" else paper_level(preview, size))
    t4 = time.perf_counter()
    timings["enhance"] = (t4 - t3) * 1000
    jpeg = encode_jpeg(page, quality)
    t5 = time.perf_counter()
    timings["encode"] = (t5 - t4) * 1000
    timings["total"] = (t5 - t0) * 1000
    return PageResult(corners if use is not None else None, page, jpeg, angle, timings,
                      None if found is None else found.corners, 0.0 if found is None else found.confidence,
                      doubtful, 90 * turns)
