"""Codes from images: zxing-cpp first, pyzbar second, restricted to the formats the kiosk expects.

The common case is cheap: a citizen holds a code close to the camera, so one pass on a frame
downscaled to at most 960 pixels (area averaging also smooths sensor noise) usually reads it in a
millisecond or two; a full-resolution pass follows for small codes. Only when those fail *and*
there is reason to hope (zxing located a symbol but could not decode it, or the caller asks for a
thorough look, as the CLI does on files) do we spend more: another binarizer; zxing's own search
over rotations, inversion (dark-mode phone screens) and downscales; then a sharpened, a denoised,
a contrast-stretched and a 2x upscaled copy of the region around the candidate.

ZBar guesses text encodings and turns UTF-8 Chinese without an ECI marker into Shift-JIS mojibake;
the zbar engine undoes that when the bytes prove it (re-encoded as Shift-JIS they are valid UTF-8).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from devices.images import MAX_PIXELS as MAX_IMAGE_PIXELS
from devices.images import ImageError  # noqa: F401 - callers catch it from here

FAST_MAX_SIDE = 960
MAX_IMAGE_PIXELS = 60_000_000
ZBAR_NAMES = {  # ZBar symbol type → the zxing-cpp format name we report everywhere
    "QRCODE": "QRCode", "CODE128": "Code128", "EAN13": "EAN13", "EAN8": "EAN8", "UPCA": "UPCA",
    "UPCE": "UPCE", "CODE39": "Code39", "CODE93": "Code93", "I25": "ITF", "PDF417": "PDF417",
    "DATABAR": "DataBar", "DATABAR_EXP": "DataBarExpanded", "CODABAR": "Codabar", "SQCODE": "SQCode",
}


@dataclass(frozen=True)
class DecodedCode:
    text: str
    format: str  # zxing-cpp format name: QRCode, Code128, ...
    position: tuple[tuple[int, int], ...]  # corners in the original image: tl, tr, br, bl
    attempt: str = "fast"  # which attempt read it (for the benchmark and debugging)

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "format": self.format, "position": [list(p) for p in self.position]}


def _cv2():
    import cv2  # imported on first use: the CLI and the drivers must start fast

    return cv2


def to_gray(image: Any):
    """numpy gray/BGR/BGRA array or PIL image → contiguous 8-bit gray array."""
    import numpy as np

    if not isinstance(image, np.ndarray):  # PIL image
        image = np.asarray(image.convert("L"))
    if image.dtype != np.uint8:
        raise ValueError(f"expected an 8-bit image, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3:
        cv2 = _cv2()
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        image = cv2.cvtColor(image, code)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D or 3-D image array, got shape {image.shape}")
    return np.ascontiguousarray(image)


def load_image(path: str | Path):
    """Read an image file as gray within the limits of devices.images; ImageError with a one-line reason."""
    from devices.images import load

    return load(path, gray=True, max_pixels=MAX_IMAGE_PIXELS)


@dataclass(frozen=True)
class _View:
    """A transformed copy of (part of) the frame and how to map its points back."""

    image: Any
    x0: float = 0.0
    y0: float = 0.0
    scale: float = 1.0

    def back(self, points) -> tuple[tuple[int, int], ...]:
        return tuple((round(self.x0 + x / self.scale), round(self.y0 + y / self.scale)) for x, y in points)


class FrameDecoder:
    """Decode codes in frames with one engine and a fixed set of formats; reusable across frames."""

    def __init__(self, engine: str = "zxing", formats: Sequence[str] = ("QRCode",)):
        if engine not in ("zxing", "zbar"):
            raise ValueError(f"unknown engine {engine!r} (zxing or zbar)")
        self.engine = engine
        self.formats = tuple(formats)
        self._zx_formats = None
        self._zbar_symbols = None
        self._check_formats()

    # -- engines ---------------------------------------------------------------------------
    def _check_formats(self) -> None:
        if self.engine == "zxing":
            import zxingcpp

            try:
                self._zx_formats = [getattr(zxingcpp.BarcodeFormat, name) for name in self.formats]
            except AttributeError as exc:
                raise ValueError(f"unknown barcode format {exc.name!r}") from None
        else:
            from pyzbar.pyzbar import ZBarSymbol

            reverse = {v: k for k, v in ZBAR_NAMES.items()}
            try:
                self._zbar_symbols = [ZBarSymbol[reverse[name]] for name in self.formats]
            except KeyError as exc:
                raise ValueError(f"format {exc.args[0]!r} is not supported by zbar") from None

    def _zxing(self, view: _View, attempt: str, *, binarizer=None, full=False):
        """Returns (codes, candidate positions of symbols located but not decoded)."""
        import zxingcpp

        # Plain text mode: the content as a serial scanner would send it (GS stays GS), not the
        # "human readable" rendering that turns control characters into "<ESC>".
        options = dict(formats=self._zx_formats, try_rotate=full, try_invert=full, try_downscale=full,
                       return_errors=True, text_mode=zxingcpp.TextMode.Plain)
        if binarizer is not None:
            options["binarizer"] = getattr(zxingcpp.Binarizer, binarizer)
        codes, candidates = [], []
        for result in zxingcpp.read_barcodes(view.image, **options):
            corners = [(p.x, p.y) for p in (result.position.top_left, result.position.top_right,
                                            result.position.bottom_right, result.position.bottom_left)]
            if result.valid:
                codes.append(DecodedCode(result.text, result.format.name, view.back(corners), attempt))
            else:
                candidates.append(view.back(corners))
        return codes, candidates

    def _zbar(self, view: _View, attempt: str, **_ignored):
        from pyzbar import pyzbar

        codes = []
        for result in pyzbar.decode(view.image, symbols=self._zbar_symbols):
            text = repair_zbar_text(result.data)
            name = ZBAR_NAMES.get(result.type, result.type)
            corners = [(p.x, p.y) for p in result.polygon] or [
                (result.rect.left, result.rect.top), (result.rect.left + result.rect.width, result.rect.top),
                (result.rect.left + result.rect.width, result.rect.top + result.rect.height),
                (result.rect.left, result.rect.top + result.rect.height)]
            codes.append(DecodedCode(text, name, view.back(corners[:4]), attempt))
        return codes, []

    # -- the ladder ------------------------------------------------------------------------
    def decode(self, image: Any, thorough: bool = False) -> list[DecodedCode]:
        """Codes in ``image`` (gray or BGR array, or PIL image); empty list when none.

        ``thorough`` runs the recovery attempts even when nothing was located (for files and the
        occasional camera frame); otherwise they run only when a symbol was located but not read.
        """
        cv2 = _cv2()
        gray = to_gray(image)
        read: Callable = self._zxing if self.engine == "zxing" else self._zbar
        height, width = gray.shape
        candidates: list = []

        side = max(height, width)
        if side > FAST_MAX_SIDE:
            step = math.ceil(side / FAST_MAX_SIDE)  # whole steps: each output pixel averages step² inputs
            small = cv2.resize(gray, (width // step, height // step), interpolation=cv2.INTER_AREA)
            codes, found = read(_View(small, 0, 0, 1.0 / step), "fast")
            if codes:
                return codes
            candidates += found
        codes, found = read(_View(gray), "full")
        if codes:
            return codes
        candidates += found
        if not (thorough or candidates):
            return []

        if self.engine == "zxing":
            for attempt, options in (("histogram", {"binarizer": "GlobalHistogram"}),
                                     ("pyramid", {"full": True})):  # rotations, inversion, downscales
                codes, _ = read(_View(gray), attempt, **options)
                if codes:
                    return codes
        x0, y0, x1, y1 = _region(gray.shape, candidates)
        crop = gray[y0:y1, x0:x1]
        for attempt, make in (("sharpened", _sharpen), ("denoised", _denoise), ("stretched", _stretch)):
            codes, _ = read(_View(make(crop), x0, y0, 1.0), attempt)
            if codes:
                return codes
        if max(crop.shape) <= 2000:
            big = _sharpen(cv2.resize(crop, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC), 1.0)
            codes, _ = read(_View(big, x0, y0, 2.0), "upscaled")
            if codes:
                return codes
        return []

    def decode_file(self, path: str | Path) -> tuple[list[DecodedCode], float]:
        """Decode one image file thoroughly; returns the codes and the decode time in ms."""
        image = load_image(path)
        started = time.perf_counter()
        codes = self.decode(image, thorough=True)
        return codes, (time.perf_counter() - started) * 1000.0


def _region(shape, candidates) -> tuple[int, int, int, int]:
    """Bounding box of the located-but-unread symbols with a margin, or the centre of the frame."""
    height, width = shape
    if candidates:
        xs = [x for corners in candidates for x, _ in corners]
        ys = [y for corners in candidates for _, y in corners]
        margin = 0.25 * max(max(xs) - min(xs), max(ys) - min(ys), 32)
        x0, x1 = min(xs) - margin, max(xs) + margin
        y0, y1 = min(ys) - margin, max(ys) + margin
    else:  # citizens are asked to hold the code in the middle of the window
        x0, x1 = width * 0.2, width * 0.8
        y0, y1 = height * 0.15, height * 0.85
    x0, y0 = max(0, int(x0)), max(0, int(y0))
    x1, y1 = min(width, int(x1)), min(height, int(y1))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return 0, 0, width, height
    return x0, y0, x1, y1


def _sharpen(gray, amount: float = 2.0):
    """Unsharp mask: out-of-focus codes (citizens hold them too close) regain their module edges."""
    cv2 = _cv2()
    blurred = cv2.GaussianBlur(gray, (0, 0), 2.0)
    return cv2.addWeighted(gray, 1.0 + amount, blurred, -amount, 0)


def _denoise(gray):
    return _cv2().GaussianBlur(gray, (0, 0), 1.2)


def _stretch(gray):
    """Low contrast under noise: smooth, then spread the remaining range over 0..255."""
    cv2 = _cv2()
    return cv2.normalize(cv2.GaussianBlur(gray, (0, 0), 1.5), None, 0, 255, cv2.NORM_MINMAX)


def repair_zbar_text(data: bytes) -> str:
    """Undo ZBar's Shift-JIS guess on UTF-8 content.

    ZBar hands back UTF-8 of what it decoded; when it wrongly took UTF-8 bytes for Shift-JIS,
    encoding its text back to Shift-JIS restores the original bytes, which then decode as strict
    UTF-8 (real Shift-JIS text practically never does, its lead bytes are UTF-8 continuation bytes).
    """
    text = data.decode("utf-8", errors="replace")
    if text.isascii():
        return text
    try:
        original = text.encode("shift_jis").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
    return original
