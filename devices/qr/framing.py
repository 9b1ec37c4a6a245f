"""Serial scanner bytes → codes: framing on CR, LF or CRLF, text decoding, AIM identifiers. Pure.

A scanner sends each code as one burst followed by its suffix (CR, LF or CRLF, set on the scanner
by scanning a configuration barcode, so we accept any of them). Bytes that stop arriving before a
suffix came are a broken transmission or line noise and are dropped once the line has been quiet
for the inter-character gap; a scanner configured without a suffix is framed by that gap alone.

Only a read that found nothing shows the line was quiet. Bytes read late, because the reading
thread waited for the CPU or the interpreter on a busy kiosk, waited in the port's buffer: the time
since the previous read is not a gap on the line, and cutting there lost the head of a code and
passed its tail on as a code (seen on a loaded machine: "nd code" for "second code").
"""
from __future__ import annotations

CR, LF = 0x0D, 0x0A
MAX_CODE_BYTES = 4096  # a QR code holds at most 2953 bytes; anything longer is not one code

# AIM symbology identifiers (ISO/IEC 15424): "]" + code character + modifier digit.
AIM_SYMBOLOGIES = {
    "Q": "QRCode", "C": "Code128", "E": "EAN-UPC", "d": "DataMatrix", "L": "PDF417",
    "A": "Code39", "G": "Code93", "F": "Codabar", "I": "ITF", "e": "DataBar", "z": "Aztec",
}
# GS (0x1D) is the GS1 field separator and is legitimate inside a code; nothing else below 0x20 is.
_ALLOWED_CONTROLS = {0x1D}


class BadFrame(ValueError):
    """Bytes that framed as a code but are not text we accept (invalid encoding, control bytes)."""


class LineFramer:
    """Cuts a byte stream into frames. Time is passed in so tests never sleep.

    ``feed(data, now)`` returns the complete frames in ``data``; ``expire(now)`` is called after a
    read that found nothing and returns a frame only when ``end_on_gap`` (scanner without suffix). ``dropped`` counts
    partial frames abandoned on the gap, ``overlong`` frames longer than ``max_len``.
    """

    def __init__(self, gap: float = 0.15, end_on_gap: bool = False, max_len: int = MAX_CODE_BYTES):
        self.gap = gap
        self.end_on_gap = end_on_gap
        self.max_len = max_len
        self.dropped = 0
        self.overlong = 0
        self._pending = bytearray()
        self._overflowing = False
        self._last_byte_at: float | None = None

    @property
    def pending(self) -> bytes:
        return bytes(self._pending)

    def expire(self, now: float) -> list[bytes]:
        if self._last_byte_at is None or now - self._last_byte_at <= self.gap:
            return []
        self._last_byte_at = None
        if self._overflowing:
            self._overflowing = False
            return []
        if not self._pending:
            return []
        frame = bytes(self._pending)
        self._pending.clear()
        if self.end_on_gap:
            return [frame]
        self.dropped += 1
        return []

    def feed(self, data: bytes, now: float) -> list[bytes]:
        if not data:   # an empty read: the line was quiet since the last bytes
            return self.expire(now)
        frames: list[bytes] = []
        self._last_byte_at = now
        start = 0
        for i, byte in enumerate(data):
            if byte != CR and byte != LF:
                continue
            self._take(data[start:i])
            start = i + 1
            if self._overflowing:
                self._overflowing = False  # the overlong frame ends here; it was counted already
            elif self._pending:  # an empty frame is the LF of a CRLF, or a blank line: not a code
                frames.append(bytes(self._pending))
            self._pending.clear()
        self._take(data[start:])
        return frames

    def _take(self, chunk: bytes) -> None:
        if self._overflowing or not chunk:
            return
        self._pending += chunk
        if len(self._pending) > self.max_len:
            self._pending.clear()
            self._overflowing = True
            self.overlong += 1


def decode_text(raw: bytes, encoding: str = "auto") -> str:
    """Bytes of one code → text. ``auto`` tries UTF-8, then GB18030 (Chinese scanners' other mode).

    Raises BadFrame for bytes that are not valid in the encoding or carry control characters, so
    line noise never reaches the application as a code.
    """
    candidates = ("utf-8", "gb18030") if encoding == "auto" else (encoding,)
    text = None
    for name in candidates:
        try:
            text = raw.decode(name)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise BadFrame(f"not valid {' or '.join(candidates)} ({len(raw)} bytes)")
    if text.startswith("\ufeff"):
        text = text[1:]
    for ch in text:
        code = ord(ch)
        if (code < 0x20 and code not in _ALLOWED_CONTROLS) or 0x7F <= code <= 0x9F:
            raise BadFrame(f"control character U+{code:04X} in code")
    if not text.strip():
        raise BadFrame("blank code")
    return text


def split_aim(text: str) -> tuple[str, str]:
    """``"]Q1payload"`` → ``("QRCode", "payload")``; text without an identifier → ``("unknown", text)``."""
    if len(text) >= 3 and text[0] == "]" and text[1].isalpha() and text[2].isalnum():
        return AIM_SYMBOLOGIES.get(text[1], "other"), text[3:]
    return "unknown", text


def aim_prefix(symbology: str) -> str:
    """The identifier a scanner would put before a code of this symbology (for the simulator)."""
    for letter, name in AIM_SYMBOLOGIES.items():
        if name == symbology:
            return f"]{letter}{'1' if letter == 'Q' else '0'}"
    return "]X0"
