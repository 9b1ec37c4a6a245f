"""The card photo: an opaque 1024-byte WLT blob, decoded only by a vendor library when one is set.

No open WLT decoder exists. Vendors ship a shared library (often ``libwlt.so``) exporting
``int unpack(char *wlt, char *bmp, int save_file)`` that writes a 102×126 24-bit BMP of 38862
bytes and returns 1 on success. ``PhotoDecoder.load(path)`` wraps one with ctypes; without a path,
or when loading fails, it answers None and the UI shows a placeholder.
"""
from __future__ import annotations

import ctypes
import logging
import threading
from pathlib import Path

log = logging.getLogger(__name__)

WLT_SIZE = 1024
WLT_MAGIC = b"\x57\x4C\x66\x00\x7E\x00\x32\x00"
PHOTO_WIDTH, PHOTO_HEIGHT = 102, 126
BMP_SIZE = 54 + ((PHOTO_WIDTH * 3 + 3) // 4 * 4) * PHOTO_HEIGHT  # 38862


class PhotoDecoder:
    """A loaded vendor WLT decoder. Calls are serialised: vendor libraries are rarely re-entrant."""

    def __init__(self, library: ctypes.CDLL, function: str = "unpack") -> None:
        self._unpack = getattr(library, function)
        self._unpack.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int)
        self._unpack.restype = ctypes.c_int
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path | None, function: str = "unpack") -> "PhotoDecoder | None":
        """The decoder at ``path``, or None when no path is set or the library cannot be used."""
        if not path:
            return None
        try:
            return cls(ctypes.CDLL(str(path)), function)
        except (OSError, AttributeError) as exc:
            log.warning("photo decoder %s unusable (%s); photos will show a placeholder", path, exc)
            return None

    def decode(self, wlt: bytes) -> bytes | None:
        """BMP bytes of the photo, or None when the blob is not a photo the library accepts."""
        if len(wlt) != WLT_SIZE:
            return None
        out = ctypes.create_string_buffer(BMP_SIZE)
        with self._lock:
            result = self._unpack(bytes(wlt), out, 0)
        image = out.raw
        if result != 1 or not image.startswith(b"BM"):
            log.debug("photo decoder returned %s", result)
            return None
        return image
