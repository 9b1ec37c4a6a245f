"""The simulated paper: printer operations drawn at the real head width, one PNG per job.

Font A is 12 x 24 dots for ASCII and 24 x 24 for Chinese (font B 9 x 17), scaled by ``GS !``,
``ESC !`` and ``FS !`` the way a thermal head does it: whole dots, no smoothing. Lines are bottom
aligned and advance by the line spacing (30 dots by default) or the tallest character. QR codes are
drawn with the ``qrcode`` package from the data the printer stored, so a scanner can read the PNG.
Every drawn band uses paper; when the roll is used up the rest of the job is lost, as on a printer.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

from devices.receipt_printer.sim_parser import GARBAGE

WQY = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
DEFAULT_SPACING = 30
DOTS_PER_MM = 8  # 203 dpi

# (cell width, cell height, font size, baseline) for each character set
_CELLS = {"a": (12, 24, 20, 19), "b": (9, 17, 15, 13), "kanji": (24, 24, 24, 20)}
_QR_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}
_INVERT = bytes(255 - i for i in range(256))


class SimulatorError(RuntimeError):
    """The simulator cannot run here (no CJK font)."""


@functools.cache
def find_cjk_font() -> str:
    """WenQuanYi Micro Hei when present, otherwise the first Chinese font fontconfig knows."""
    if os.path.exists(WQY):
        return WQY
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True,
                                 timeout=10, check=False).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for line in sorted(out.splitlines()):
            path = line.split(":")[0].strip()
            if path and os.path.exists(path):
                return path
    raise SimulatorError("no CJK font found: install fonts-wqy-microhei (or any font fc-list knows for :lang=zh)")


class GlyphCache:
    """1-bit glyph masks (255 = ink) per character, font, emphasis and magnification."""

    def __init__(self, font_path: str | None = None) -> None:
        self.font_path = font_path or find_cjk_font()
        self._fonts: dict[tuple[int, int], ImageFont.FreeTypeFont] = {}
        self._masks: dict[tuple, Image.Image] = {}

    def _font(self, size: int, mono: bool) -> ImageFont.FreeTypeFont:
        index = 1 if mono and self.font_path.endswith(".ttc") else 0
        key = (size, index)
        if key not in self._fonts:
            try:
                self._fonts[key] = ImageFont.truetype(self.font_path, size, index=index)
            except OSError:
                self._fonts[key] = ImageFont.truetype(self.font_path, size)
        return self._fonts[key]

    def mask(self, ch: str, cell: str, bold: bool, wm: int, hm: int) -> Image.Image:
        key = (ch, cell, bold, wm, hm)
        mask = self._masks.get(key)
        if mask is None:
            mask = self._draw(ch, cell, bold)
            if wm > 1 or hm > 1:
                mask = mask.resize((mask.width * wm, mask.height * hm), Image.NEAREST)
            self._masks[key] = mask
        return mask

    def _draw(self, ch: str, cell: str, bold: bool) -> Image.Image:
        w, h, size, baseline = _CELLS[cell]
        img = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(img)
        if ch == GARBAGE:  # what a printer does with a code its font lacks: a meaningless blot
            for y in range(2, h - 2, 3):
                for x in range(2 + y % 2, w - 2, 3):
                    draw.point((x, y), 255)
            return img
        font = self._font(size, mono=(cell != "kanji"))
        advance = font.getlength(ch)
        if advance > w + 1:  # a proportional fallback font: squeeze into the cell like the printer's ROM font
            wide = Image.new("L", (int(advance) + 2, h), 0)
            ImageDraw.Draw(wide).text((1, baseline), ch, font=font, fill=255, anchor="ls")
            img = wide.resize((w, h), Image.BILINEAR)
        else:
            draw.text((w / 2, baseline), ch, font=font, fill=255, anchor="ms")
        if bold:  # emphasis as a head does it: each dot printed again one dot to the right
            shifted = Image.new("L", (w, h), 0)
            shifted.paste(img, (1, 0))
            img = ImageChops.lighter(img, shifted)
        return img.point(lambda v: 255 if v >= 96 else 0)


@dataclass
class PrintedLine:
    text: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in job pixels


@dataclass
class PrintedJob:
    """One job as it came out of the printer (up to a cut)."""

    seq: int
    image: Image.Image  # mode "1", head width wide
    lines: list[PrintedLine]
    qr_payloads: list[bytes]
    truncated: bool  # the paper ran out (or the printer could not print) during the job
    garbage: int  # glyphs printed as garbage (codes the font lacks, bad sequences)
    unknown: list[bytes]  # commands the printer did not understand
    cut: bool
    bytes_received: int = 0
    png_path: Path | None = None

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass
class _Char:
    ch: str
    cell: str
    bold: bool
    wm: int
    hm: int
    underline: int
    invert: bool

    @property
    def width(self) -> int:
        return _CELLS[self.cell][0] * self.wm

    @property
    def height(self) -> int:
        return _CELLS[self.cell][1] * self.hm


@dataclass
class _Band:
    height: int
    image: Image.Image | None = None  # None: blank paper


class Paper:
    """Applies parsed operations to a roll of paper ``dots`` wide."""

    def __init__(self, dots: int, glyphs: GlyphCache, paper_left_dots: float | None = None) -> None:
        self.dots = dots
        self.glyphs = glyphs
        self.paper_left = paper_left_dots  # None: an endless roll
        self.can_print = True  # False while the cover is open, offline or in error: data is lost
        self._new_job()
        self._reset_modes()

    # -- state --------------------------------------------------------------------------------

    def _reset_modes(self) -> None:
        self.align = 0
        self.font = "a"
        self.bold = False
        self.underline = 0
        self.invert = False
        self.ank_size = (1, 1)
        self.kanji_size = (1, 1)
        self.spacing = DEFAULT_SPACING
        self.qr_module = 3
        self.qr_ec = "L"
        self.qr_data = b""
        self._line: list[_Char] = []
        self._line_width = 0
        self._line_align = 0

    def _new_job(self) -> None:
        self._bands: list[_Band] = []
        self._lines: list[PrintedLine] = []
        self._qr: list[bytes] = []
        self._y = 0
        self._truncated = False
        self._garbage = 0
        self._unknown: list[bytes] = []
        self._content = False

    @property
    def has_content(self) -> bool:
        return self._content or bool(self._line)

    # -- operations -----------------------------------------------------------------------------

    def apply(self, op: tuple) -> PrintedJob | None:
        """Apply one operation; returns the finished job when the operation cut the paper."""
        kind = op[0]
        if kind == "text":
            self._add_text(op[1])
        elif kind == "lf":
            self._flush_line(empty_feeds=True)
        elif kind == "ht":
            cw = _CELLS[self.font][0] * self.ank_size[0]
            used = self._line_width
            for _ in range((8 * cw - used % (8 * cw)) // cw):
                self._add_char(" ")
        elif kind == "init":
            job = self.finish(cut=False) if self.has_content else None
            self._reset_modes()
            return job
        elif kind == "align":
            self.align = op[1] if op[1] in (0, 1, 2) else 0
            if not self._line:
                self._line_align = self.align
        elif kind == "mode":
            n = op[1]
            self.font = "b" if n & 1 else "a"
            self.bold = bool(n & 0x08)
            self.ank_size = (2 if n & 0x20 else 1, 2 if n & 0x10 else 1)
            self.underline = 1 if n & 0x80 else 0
        elif kind == "size":
            n = op[1]
            self.ank_size = self.kanji_size = (min(8, (n >> 4 & 7) + 1), min(8, (n & 7) + 1))
        elif kind == "kanji_mode":
            n = op[1]
            self.kanji_size = (2 if n & 0x04 else 1, 2 if n & 0x08 else 1)
        elif kind == "bold":
            self.bold = op[1]
        elif kind == "underline":
            self.underline = op[1] if op[1] in (0, 1, 2) else 0
        elif kind == "font":
            self.font = "b" if op[1] else "a"
        elif kind == "invert":
            self.invert = op[1]
        elif kind == "spacing":
            self.spacing = DEFAULT_SPACING if op[1] is None else op[1]
        elif kind == "feed_lines":
            self._flush_line()
            self._emit(_Band(self.spacing * op[1]))
        elif kind == "feed_dots":
            self._flush_line()
            self._emit(_Band(op[1]))
        elif kind == "qr":
            self._qr_op(op[1], op[2])
        elif kind == "raster":
            self._raster(*op[1:])
        elif kind == "cut":
            self._flush_line()
            if op[2]:
                self._emit(_Band(op[2]))
            return self.finish(cut=True)
        elif kind == "unknown":
            self._unknown.append(op[1])
        return None

    def finish(self, cut: bool) -> PrintedJob | None:
        """Close the current job (at a cut, a new ``ESC @`` or the end of the connection)."""
        self._flush_line()
        if not self._content:
            self._new_job()
            return None
        height = max(1, self._y)
        page = Image.new("L", (self.dots, height), 255)
        y = 0
        for band in self._bands:
            if band.image is not None:
                page.paste(band.image, (0, y))
            y += band.height
        job = PrintedJob(0, page.point(lambda v: 255 if v >= 128 else 0, "1"), self._lines, self._qr,
                         self._truncated, self._garbage, self._unknown, cut)
        self._new_job()
        return job

    # -- text -------------------------------------------------------------------------------------

    def _add_text(self, text: str) -> None:
        for ch in text:
            self._add_char(ch)

    def _add_char(self, ch: str) -> None:
        if ord(ch) < 0x80:
            wm, hm = self.ank_size
            c = _Char(ch, self.font, self.bold, wm, hm, self.underline, self.invert)
        else:
            wm, hm = self.kanji_size
            c = _Char(ch, "kanji", self.bold, wm, hm, self.underline, self.invert)
            if ch == GARBAGE:
                self._garbage += 1
        if self._line and self._line_width + c.width > self.dots:
            self._flush_line()  # the printer wraps a full line by itself
        if not self._line:
            self._line_align = self.align
        self._line.append(c)
        self._line_width += c.width

    def _flush_line(self, empty_feeds: bool = False) -> None:
        if not self._line:
            if empty_feeds:
                self._emit(_Band(self.spacing))
            return
        chars, width = self._line, self._line_width
        self._line, self._line_width = [], 0
        height = max(c.height for c in chars)
        advance = max(self.spacing, height)
        band = Image.new("L", (self.dots, advance), 255)
        x0 = self._offset(width, self._line_align)
        x = x0
        for c in chars:
            top = height - c.height
            mask = self.glyphs.mask(c.ch, c.cell, c.bold, c.wm, c.hm)
            if c.invert:
                band.paste(0, (x, top, x + c.width, top + c.height))
                band.paste(255, (x, top), mask)
            else:
                band.paste(0, (x, top), mask)
            if c.underline:
                band.paste(0, (x, height - c.underline, x + c.width, height))
            x += c.width
        text = "".join(c.ch for c in chars)
        top = self._y
        if self._emit(_Band(advance, band)):
            bottom = min(top + height, self._y)
            self._lines.append(PrintedLine(text, (x0, top, x0 + width, bottom)))

    def _offset(self, width: int, align: int) -> int:
        if align == 1:
            return max(0, (self.dots - width) // 2)
        if align == 2:
            return max(0, self.dots - width)
        return 0

    # -- images -------------------------------------------------------------------------------------

    def _qr_op(self, fn: int, data: bytes) -> None:
        if fn == 67 and data:
            self.qr_module = min(16, max(1, data[0]))
        elif fn == 69 and data:
            self.qr_ec = _QR_EC.get(data[0], "L")
        elif fn == 80:
            self.qr_data = bytes(data)
        elif fn == 81:
            self._flush_line()
            if not self.qr_data:
                return
            image = _qr_image(self.qr_data, self.qr_module, self.qr_ec)
            if image is None:
                self._unknown.append(b"\x1d(k QR data too long")
                return
            self._qr.append(self.qr_data)
            self._emit_image(image)

    def _raster(self, m: int, width_bytes: int, height: int, data: bytes) -> None:
        self._flush_line()
        if not width_bytes or not height:
            return
        image = Image.frombytes("1", (width_bytes * 8, height), data.translate(_INVERT)).convert("L")
        if m & 1 or m & 2:
            image = image.resize((image.width * (2 if m & 1 else 1), image.height * (2 if m & 2 else 1)), Image.NEAREST)
        self._emit_image(image)

    def _emit_image(self, image: Image.Image) -> None:
        if image.width > self.dots:
            image = image.crop((0, 0, self.dots, image.height))
        band = Image.new("L", (self.dots, image.height), 255)
        band.paste(image, (self._offset(image.width, self.align), 0))
        self._emit(_Band(image.height, band))

    # -- paper ---------------------------------------------------------------------------------------

    def _emit(self, band: _Band) -> bool:
        """Put a band on the paper if there is paper and the printer may print; True when printed."""
        if band.height <= 0:
            return False
        self._content = True
        if not self.can_print or (self.paper_left is not None and self.paper_left <= 0):
            self._truncated = True
            return False
        if self.paper_left is not None:
            if band.height > self.paper_left:
                keep = int(self.paper_left)
                band = _Band(keep, band.image.crop((0, 0, self.dots, keep)) if band.image else None)
                self._truncated = True
            self.paper_left -= band.height
        if band.height <= 0:
            return False
        self._bands.append(band)
        self._y += band.height
        return True


def _qr_image(data: bytes, module: int, ec: str) -> Image.Image | None:
    import qrcode
    from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q
    from qrcode.exceptions import DataOverflowError

    levels = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}
    code = qrcode.QRCode(version=None, error_correction=levels[ec], box_size=module, border=0)
    code.add_data(data)
    try:
        code.make(fit=True)
    except DataOverflowError:
        return None
    return code.make_image().get_image().convert("L")
