"""Events the QR scanner emits to its subscribers (called on the scanner's thread)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CodeScanned:
    """A code was read. ``text`` is data from a stranger: validate it before use (kiosk.qr_content)."""

    text: str
    source: str  # the scanner URL it came from
    symbology: str  # QRCode, Code128, ... or "unknown" when the transport does not say
    at: float = field(default=0.0, compare=False)  # wall-clock time of the read

    def __repr__(self) -> str:  # codes may carry personal data: keep them out of casual logs
        return f"CodeScanned(<{len(self.text)} chars>, source={self.source!r}, symbology={self.symbology!r})"
