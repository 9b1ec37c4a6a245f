"""Chinese text for receipt printers: what the font can print, how it is encoded, how wide it is.

Printers sold in China print 2-byte GB codes from a GBK font in Chinese mode (``FS &`` … ``FS .``).
Characters outside that font (the 4-byte GB18030 area: ¥ U+00A5, ©, ™, emoji, rare ideographs) come
out as garbage, so text is first made printable: known symbols get a safe equivalent, the rest a
``?``. Control bytes are removed so data (a name, an item title) can never become a command.

On such printers every 2-byte character is printed double width (24 dots in font A) and every
ASCII character single width (12 dots), so the width of a string in columns is its GBK byte count.
"""
from __future__ import annotations

import unicodedata

FS_CHINESE_ON = b"\x1c\x26"  # FS &
FS_CHINESE_OFF = b"\x1c\x2e"  # FS .
#: FS ( C fn=48: select character encoding, 2 = UTF-8 (Epson Chinese/Japanese models)
FS_SELECT_UTF8 = b"\x1c\x28\x43\x02\x00\x30\x02"

ENCODINGS = ("gb18030", "gbk", "utf-8")
#: what the printer's font holds: "gbk" (2-byte GB codes only, the common case) or "gb18030"
FONT_CHARSETS = ("gbk", "gb18030")

# Safe equivalents for characters a GBK font lacks. Checked before NFKC, which handles the rest
# of the compatibility characters (™ → TM, ½ → 1⁄2 …).
REPLACEMENTS: dict[str, str] = {
    "\u00a5": "\uffe5",  # ¥ (4-byte GB18030) → ￥ (GB2312 A3A4, in every Chinese font)
    "\u20ac": "EUR",
    "\u00a9": "(C)",
    "\u00ae": "(R)",
    "\u2122": "TM",
    "\u2022": "\u00b7",  # • → ·
    "\u2027": "\u00b7",
    "\u00a0": " ",
    "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u200b": "",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-",
    "\u201a": ",", "\u201e": '"', "\u2039": "<", "\u203a": ">",
    "\u00ab": "<<", "\u00bb": ">>",
    "\u2713": "\u221a", "\u2714": "\u221a",  # ✓ → √
    "\u2717": "x", "\u2718": "x",
    "\u00b2": "2", "\u00b3": "3", "\u00b9": "1",
    "\ufeff": "",
}
PLACEHOLDER = "?"


def _fits_gbk(ch: str) -> bool:
    """True when ``ch`` is printable ASCII or a 2-byte GBK code outside the user-defined areas."""
    cp = ord(ch)
    if 0x20 <= cp < 0x7F:
        return True
    if cp < 0xA0 or 0xE000 <= cp <= 0xF8FF:  # controls, private use (GBK user-defined areas)
        return False
    try:
        b = ch.encode("gbk")
    except UnicodeEncodeError:
        return False
    return len(b) == 2 and b[0] >= 0x81


def _fits_gb18030(ch: str) -> bool:
    """A full GB18030 font: the whole Basic Multilingual Plane but private use; no emoji, no
    supplementary ideographs (those fonts are rare on printers)."""
    cp = ord(ch)
    return 0x20 <= cp < 0x7F or (0xA0 <= cp <= 0xFFFF and not 0xE000 <= cp <= 0xF8FF
                                  and unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Cn"))


def printable_char(ch: str, font_charset: str = "gbk") -> str:
    """A replacement for one character that the printer's font can print ('' to drop it)."""
    fits = _fits_gbk if font_charset == "gbk" else _fits_gb18030
    if fits(ch):
        return ch
    if ch in "\t\n\r":
        return " "
    if unicodedata.category(ch) in ("Cc", "Cf"):
        return REPLACEMENTS.get(ch, "")
    if ch in REPLACEMENTS:
        return REPLACEMENTS[ch]
    folded = unicodedata.normalize("NFKC", ch)
    if folded != ch and folded and all(fits(c) for c in folded):
        return folded
    return PLACEHOLDER


def printable(text: str, font_charset: str = "gbk") -> str:
    """``text`` with every character the font lacks replaced and every control removed."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(printable_char(ch, font_charset) for ch in text)


def char_width(ch: str) -> int:
    """Columns taken by one printable character: 1 for ASCII, 2 for anything printed from the GB font."""
    return 1 if ord(ch) < 0x80 else 2


def display_width(text: str) -> int:
    return sum(char_width(ch) for ch in text)


def encode(text: str, encoding: str = "gb18030") -> bytes:
    """Bytes of printable text for the printer's Chinese mode. Raises on a character that cannot be
    encoded -- callers pass text through :func:`printable` first."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown printer encoding {encoding!r} (use one of {', '.join(ENCODINGS)})")
    return text.encode(encoding)


def text_bytes(text: str, encoding: str = "gb18030") -> bytes:
    """Printable text as bytes, in Chinese mode (``FS &`` … ``FS .``) when it is not plain ASCII."""
    if text.isascii():
        return text.encode("ascii")
    return FS_CHINESE_ON + encode(text, encoding) + FS_CHINESE_OFF


# Chinese line-breaking rules: closing punctuation never begins a line (避头), opening brackets
# never end one (避尾).
NO_LINE_START = set("，。、；：？！）》」』】〕”’,.;:?!)]}%")
NO_LINE_END = set("（《「『【〔“‘([{")


def wrap(text: str, width: int) -> list[str]:
    """Break printable text into lines of at most ``width`` columns.

    CJK characters break anywhere, Latin words break at spaces when they fit, and closing
    punctuation is kept off the start of a line. Always returns at least one line.
    """
    if width < 2:
        raise ValueError("wrap width must be at least 2 columns")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_paragraph(paragraph, width))
    return lines or [""]


def _wrap_paragraph(text: str, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    used = 0
    for ch in text:
        w = char_width(ch)
        if used + w <= width:
            line += ch
            used += w
            continue
        if ch == " ":  # a space at the break is swallowed
            lines.append(line.rstrip())
            line, used = "", 0
            continue
        head, tail = _break(line, ch)
        lines.append(head.rstrip())
        line = tail.lstrip(" ") + ch
        used = display_width(line)
        while used > width:  # a single unbreakable run longer than the line
            cut, cut_used = "", 0
            for c in line:
                if cut_used + char_width(c) > width:
                    break
                cut += c
                cut_used += char_width(c)
            lines.append(cut)
            line = line[len(cut):]
            used = display_width(line)
    lines.append(line.rstrip())
    return lines


def _break(line: str, nxt: str) -> tuple[str, str]:
    """Where to break ``line`` before ``nxt``: at the last space of a Latin word, or so that
    closing punctuation does not start the next line."""
    if nxt.isascii() and nxt != " " and line and line[-1].isascii():
        space = line.rfind(" ")
        if space > 0 and len(line) - space <= 16:
            return line[:space], line[space + 1:]
    if nxt in NO_LINE_START and len(line) > 1:
        line, carried = line[:-1], line[-1]
    else:
        carried = ""
    while len(line) > 1 and line[-1] in NO_LINE_END:
        line, carried = line[:-1], line[-1] + carried
    return line, carried


def fit(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns (no ellipsis: receipts should not lose meaning silently,
    so callers wrap instead; this is for fixed fields like a receipt number)."""
    out, used = "", 0
    for ch in text:
        if used + char_width(ch) > width:
            break
        out += ch
        used += char_width(ch)
    return out
