"""Image files read with limits: the one loader for file:// scanners and cameras and the CLI.

A picture file is input from outside (a USB stick, a technician's folder), so before anything is
decoded: only a regular file is opened (not ``/dev/zero``, a FIFO or a terminal), at most
:data:`MAX_FILE_BYTES` are read, and the width and height are taken from the file's header
(Pillow reads headers without decoding) and refused above :data:`MAX_PIXELS` or :data:`MAX_SIDE`.
A PNG of 30000×30000 zeros is under a megabyte on disk but 900 MB decoded: it is refused here,
having cost a megabyte. Every refusal is an :class:`ImageError` with one line.
"""
from __future__ import annotations

import io
import os
import stat
import struct
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 60_000_000  # a 16 MP document camera gives 16; a phone photo 12 to 50
MAX_SIDE = 20_000


class ImageError(ValueError):
    """An image file that cannot or may not be read; the message is one line for the CLI."""


def read_file(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway
        fd = os.open(os.fspath(path), os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except IsADirectoryError:
        raise ImageError("is a directory") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise ImageError(getattr(exc, "strerror", None) or str(exc)) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ImageError("is a directory")
        if not stat.S_ISREG(mode):
            raise ImageError("not a regular file (a device, FIFO or socket is not an image)")
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ImageError(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if size > limit:
        raise ImageError(f"file larger than {limit // (1024 * 1024)} MiB")
    return b"".join(chunks)


def header_size(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) from the image's header, without decoding its pixels.

    PNG, GIF and JPEG are read here (they are what scanners, phones and the tests give); other
    formats through Pillow, which reads only their headers when it opens them.
    """
    size = _png_gif_jpeg_size(data)
    if size is not None:
        return size
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as picture:  # reads the header only
                width, height = picture.size
                return picture.format or "?", width, height
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours
        raise ImageError(f"image too large (more than {2 * Image.MAX_IMAGE_PIXELS} pixels)") from None
    except Exception:
        raise ImageError("not an image that can be read") from None


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _png_gif_jpeg_size(data: bytes) -> tuple[str, int, int] | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "PNG", width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])  # the logical screen every frame lies in
        return "GIF", width, height
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 4 <= len(data):
            if data[i] != 0xFF:
                raise ImageError("not an image that can be read (damaged JPEG header)")
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
                i += 2
                continue
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if marker in _SOF and i + 9 <= len(data):
                height, width = struct.unpack(">HH", data[i + 5:i + 9])
                return "JPEG", width, height
            if marker in (0xD9, 0xDA) or length < 2:  # end of image, or the scan before any frame header
                break
            i += 2 + length
        raise ImageError("not an image that can be read (no JPEG frame header)")
    return None


def check_size(width: int, height: int, max_pixels: int = MAX_PIXELS) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"image has no pixels ({width}x{height})")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > max_pixels:
        raise ImageError(f"image too large ({width}x{height}; at most {max_pixels // 1_000_000} megapixels "
                         f"and {MAX_SIDE} pixels a side)")


def decode(data: bytes, *, gray: bool, max_pixels: int = MAX_PIXELS) -> Any:
    """An 8-bit numpy image (gray, or BGR) from file bytes whose header size passed the limits."""
    import cv2
    import numpy as np

    _, width, height = header_size(data)
    check_size(width, height, max_pixels)
    image = None
    quiet = cv2.utils.logging  # a refused file is our one line, not OpenCV's log line on stderr too
    level = quiet.getLogLevel()
    quiet.setLogLevel(quiet.LOG_LEVEL_SILENT)
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR)
    except cv2.error:
        image = None
    finally:
        quiet.setLogLevel(level)
    if image is None:  # formats OpenCV lacks: through Pillow, whose header we have checked
        image = _decode_with_pillow(data, gray)
    if image.shape[0] * image.shape[1] > max_pixels:  # the header lied
        raise ImageError(f"image too large ({image.shape[1]}x{image.shape[0]})")
    return np.ascontiguousarray(image)


def _decode_with_pillow(data: bytes, gray: bool) -> Any:
    import numpy as np
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as picture:
            if gray:
                return np.asarray(picture.convert("L"))
            return np.asarray(picture.convert("RGB"))[:, :, ::-1]  # RGB -> BGR, as OpenCV gives
    except Exception:
        raise ImageError("not an image that can be read") from None


def load(path: str | Path, *, gray: bool = False, max_pixels: int = MAX_PIXELS) -> Any:
    """Read an image file within the limits: a numpy array (gray, or BGR), or ImageError."""
    data = read_file(path)
    if not data:
        raise ImageError("not an image (the file is empty)")
    return decode(data, gray=gray, max_pixels=max_pixels)
