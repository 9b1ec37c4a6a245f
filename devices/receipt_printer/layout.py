"""A receipt as a list of blocks, turned into ESC/POS bytes for one printer profile.

Blocks say what is on the paper (a title, a labelled field, a two-column row, a rule, a QR code);
the profile decides columns, encoding and QR mode. Widths count a Chinese character as two columns.
Pure: the same blocks and profile always give the same bytes, which the golden tests pin down.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from devices.receipt_printer.escpos_writer import JobBuilder
from devices.receipt_printer.profiles import PrinterProfile
from devices.receipt_printer.text import display_width, fit, printable, wrap


@dataclass(frozen=True)
class Text:
    """A paragraph, wrapped to the line; ``size`` 2 doubles width and height."""

    text: str
    align: str = "left"
    bold: bool = False
    size: int = 1


@dataclass(frozen=True)
class Field:
    """``label：value`` with the value wrapped under itself (hanging indent)."""

    label: str
    value: str
    bold_value: bool = False


@dataclass(frozen=True)
class Row:
    """``left`` wrapped on the left, ``right`` flush right on its last line (a list item and its count).

    ``marker`` (``"2. "``) starts the first line and continuation lines are indented under the text.
    """

    left: str
    right: str = ""
    marker: str = ""


@dataclass(frozen=True)
class Rule:
    char: str = "-"


@dataclass(frozen=True)
class Qr:
    data: str
    caption: str = ""
    ec: str = "M"


@dataclass(frozen=True)
class Feed:
    lines: int = 1


@dataclass(frozen=True)
class Cut:
    pass


Block = Union[Text, Field, Row, Rule, Qr, Feed, Cut]


def render(blocks: list[Block], profile: PrinterProfile) -> bytes:
    """ESC/POS bytes for ``blocks`` on ``profile``: starts with ``ESC @``, ends where the blocks end."""
    job = JobBuilder(profile).init()
    cols = profile.columns
    charset = profile.font_charset
    for block in blocks:
        if isinstance(block, Text):
            job.style(align=block.align, bold=block.bold, size=block.size)
            for paragraph in block.text.split("\n"):
                for line in wrap(printable(paragraph, charset), cols // block.size):
                    job.line(line)
            job.style(align="left", bold=False, size=1)
        elif isinstance(block, Field):
            _field(job, block, cols, charset)
        elif isinstance(block, Row):
            _row(job, block, cols, charset)
        elif isinstance(block, Rule):
            job.style(align="left")
            unit = printable(block.char, charset) or "-"
            job.line(unit * (cols // display_width(unit)))
        elif isinstance(block, Qr):
            job.feed(1)  # quiet zone above the code: a scanner needs white round it
            job.qr(block.data, ec=block.ec)
            job.style(align="center")
            if block.caption:
                for line in wrap(printable(block.caption, charset), cols):
                    job.line(line)
            job.style(align="left")
        elif isinstance(block, Feed):
            job.feed(block.lines)
        elif isinstance(block, Cut):
            job.cut()
        else:
            raise TypeError(f"not a receipt block: {block!r}")
    return job.bytes()


def _field(job: JobBuilder, block: Field, cols: int, charset: str) -> None:
    label = printable(block.label, charset) + "："
    indent = display_width(label)
    if indent > cols // 2:  # a long label goes on its own line
        job.line(label)
        label, indent = "", 2
    value_lines = []
    for paragraph in (block.value or "").split("\n"):
        value_lines.extend(wrap(printable(paragraph, charset), cols - indent))
    job.style(align="left")
    for i, line in enumerate(value_lines):
        job.text(label if i == 0 else " " * indent)
        if block.bold_value:
            job.style(bold=True)
        job.line(line)
        if block.bold_value:
            job.style(bold=False)


def _row(job: JobBuilder, block: Row, cols: int, charset: str) -> None:
    marker = printable(block.marker, charset)
    indent = display_width(marker)
    right = fit(printable(block.right, charset), cols // 2)
    right_w = display_width(right)
    room = cols - indent - (right_w + 1 if right_w else 0)
    left_lines = wrap(printable(block.left, charset), max(2, room))
    job.style(align="left")
    for i, line in enumerate(left_lines):
        text = (marker if i == 0 else " " * indent) + line
        if i == len(left_lines) - 1 and right:
            text += " " * (cols - display_width(text) - right_w) + right
        job.line(text)
