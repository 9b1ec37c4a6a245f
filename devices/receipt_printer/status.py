"""Real-time status (``DLE EOT n``) replies decoded into one printer condition.

A printer answers ``DLE EOT n`` (``10 04 n``) with one byte of the fixed pattern ``0xx1xx10``
(bit 7 = 0, bit 4 = 1, bit 1 = 1, bit 0 = 0). A byte that does not match is not a status: it may be
a stale automatic-status-back message, line noise or another device, so it decodes to ``unknown``.
Silence decodes to ``offline`` (or ``unknown`` on a transport that cannot read). Nothing but three
valid replies that say so is ever ``ready`` -- unlike python-escpos 3.1, whose ``paper_status()``
calls silence "paper OK" and whose ``is_online()`` never checks the pattern.

Pure functions of bytes, so every bit pattern is tested without a printer.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

DLE_EOT = b"\x10\x04"

#: the ``n`` of ``DLE EOT n`` queried, in order: printer, offline cause, paper sensor
QUERIED = (1, 2, 4)
#: queried only when the offline cause says "error"
ERROR_CAUSE = 3

STATUS_MASK = 0x93  # bits 7, 4, 1, 0
STATUS_VALUE = 0x12  # 0xx1xx10


class PrinterState(str, enum.Enum):
    READY = "ready"
    PAPER_NEAR_END = "paper_near_end"  # still prints
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    ERROR = "error"
    UNKNOWN = "unknown"


PRINTABLE_STATES = frozenset({PrinterState.READY, PrinterState.PAPER_NEAR_END})

_DETAIL = {
    PrinterState.READY: ("打印机就绪", "ready"),
    PrinterState.PAPER_NEAR_END: ("打印纸即将用完", "paper near end (still printing)"),
    PrinterState.PAPER_OUT: ("打印机缺纸", "paper out"),
    PrinterState.COVER_OPEN: ("打印机纸仓盖未关", "cover open"),
    PrinterState.OFFLINE: ("打印机无响应", "printer offline"),
    PrinterState.ERROR: ("打印机故障", "printer error"),
    PrinterState.UNKNOWN: ("打印机状态未知", "status unknown"),
}


def is_status_byte(value: int) -> bool:
    """True when ``value`` has the fixed ``0xx1xx10`` pattern of a ``DLE EOT`` reply."""
    return (value & STATUS_MASK) == STATUS_VALUE


def status_query(n: int) -> bytes:
    return DLE_EOT + bytes((n,))


@dataclass(frozen=True)
class PrinterCondition:
    """What the printer said, reduced to what the kiosk needs: can it print, and if not, why."""

    state: PrinterState
    online: bool | None  # the printer's own offline bit; None when it did not say
    paper: str  # "ok", "near_end", "out" or "unknown"
    detail_en: str
    detail_zh: str
    answered: bool  # at least one valid or invalid reply byte came back
    write_only: bool = False  # the transport cannot read: printing is blind, not refused
    replies: dict[int, int | None] = field(default_factory=dict)

    @property
    def can_print(self) -> bool:
        """A job may be sent: the printer said it can, or the transport is write-only by design."""
        return self.state in PRINTABLE_STATES or (self.state is PrinterState.UNKNOWN and self.write_only)

    def as_dict(self) -> dict:
        return {
            "state": self.state.value,
            "online": self.online,
            "paper": self.paper,
            "detail": self.detail_en,
            "detail_zh": self.detail_zh,
            "replies": {str(n): (None if b is None else f"0x{b:02x}") for n, b in sorted(self.replies.items())},
        }


def condition(state: PrinterState, *, online: bool | None = None, paper: str = "unknown",
              answered: bool = False, write_only: bool = False, why: str = "",
              replies: dict[int, int | None] | None = None) -> PrinterCondition:
    """Build a condition with the standard wording, ``why`` appended to the English detail."""
    zh, en = _DETAIL[state]
    return PrinterCondition(state, online, paper, f"{en}: {why}" if why else en, zh, answered,
                            write_only, dict(replies or {}))


def write_only_condition() -> PrinterCondition:
    return condition(PrinterState.UNKNOWN, write_only=True,
                     why="write-only transport, the printer cannot be asked")


def silent_condition(why: str = "no reply to DLE EOT") -> PrinterCondition:
    return condition(PrinterState.OFFLINE, online=False, why=why)


def _paper(byte4: int) -> str:
    if byte4 & 0x60:
        return "out"
    if byte4 & 0x0C:
        return "near_end"
    return "ok"


def decode(replies: dict[int, bytes | None]) -> PrinterCondition:
    """Decode the replies to ``DLE EOT 1, 2, 4`` (and 3 when asked) into one condition.

    ``replies[n]`` is the bytes read after ``DLE EOT n``: ``b""`` or ``None`` for silence.
    Only the first byte of each reply is a status; anything after it is ignored.
    """
    raw: dict[int, int | None] = {n: (r[0] if r else None) for n, r in replies.items()}
    answered = any(b is not None for b in raw.values())
    if raw.get(1) is None:
        return condition(PrinterState.OFFLINE, online=False, answered=answered, replies=raw,
                         why="no reply to DLE EOT 1")
    for n in sorted(raw):
        b = raw[n]
        if b is not None and not is_status_byte(b):
            return condition(PrinterState.UNKNOWN, answered=True, replies=raw,
                             why=f"reply 0x{b:02x} to DLE EOT {n} is not a status byte")
    missing = [n for n in QUERIED if raw.get(n) is None]
    if missing:
        return condition(PrinterState.UNKNOWN, answered=True, replies=raw,
                         why="no reply to DLE EOT " + ", ".join(map(str, missing)))
    b1, b2, b4 = raw[1], raw[2], raw[4]
    online = not (b1 & 0x08)
    paper = _paper(b4)
    common = dict(online=online, paper=paper, answered=True, replies=raw)
    if b2 & 0x04:
        return condition(PrinterState.COVER_OPEN, **common)
    if paper == "out" or b2 & 0x20:
        return condition(PrinterState.PAPER_OUT, **common)
    if b2 & 0x40:
        return condition(PrinterState.ERROR, why=_error_cause(raw.get(ERROR_CAUSE)), **common)
    if not online:
        why = "paper being fed by the button" if b2 & 0x08 else "the printer reports offline"
        return condition(PrinterState.OFFLINE, why=why, **common)
    if paper == "near_end":
        return condition(PrinterState.PAPER_NEAR_END, **common)
    return condition(PrinterState.READY, **common)


def _error_cause(b3: int | None) -> str:
    if b3 is None or not is_status_byte(b3):
        return "cause not reported"
    causes = []
    if b3 & 0x08:
        causes.append("autocutter error")
    if b3 & 0x20:
        causes.append("unrecoverable error")
    if b3 & 0x40:
        causes.append("auto-recoverable error (head temperature or voltage)")
    return ", ".join(causes) or "cause not reported"


def needs_error_cause(reply2: bytes | None) -> bool:
    """True when the offline-cause reply says "error", so ``DLE EOT 3`` is worth asking."""
    return bool(reply2) and is_status_byte(reply2[0]) and bool(reply2[0] & 0x40)
