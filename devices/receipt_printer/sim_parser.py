"""An incremental ESC/POS parser: bytes as they arrive in, printer operations out.

Commands may be split across reads, so an incomplete command waits in the buffer for the rest.
Text is decoded the way the printer would: ASCII and the code page outside Chinese mode, GB18030,
GBK or UTF-8 inside it (``FS &`` … ``FS .``). A 4-byte GB18030 sequence on a printer whose font is
GBK only comes out as garbage, which is counted, so tests can prove the driver never sends one.

Operations are tuples ``(kind, *args)``:

====================  ==========================================================
``("init",)``          ESC @
``("text", str)``      printable characters; U+FFFD marks a garbage glyph
``("lf",)``            LF: print the line and feed
``("ht",)``            HT
``("feed_lines", n)``  ESC d n          ``("feed_dots", n)``  ESC J n
``("align", n)``       ESC a n          ``("mode", n)``       ESC ! n
``("size", n)``        GS ! n           ``("kanji_mode", n)`` FS ! n
``("bold", on)``       ESC E / ESC G    ``("underline", n)``  ESC - n / FS - n
``("font", n)``        ESC M n          ``("spacing", n)``    ESC 3 n (None: ESC 2)
``("invert", on)``     GS B n           ``("chinese", on)``   FS & / FS .
``("encoding", e)``    FS ( C fn 48     ``("status", n)``     DLE EOT n
``("qr", fn, data)``   GS ( k cn=49: fn 65 model, 67 module size, 69 EC level, 80 store, 81 print
``("raster", m, width_bytes, height, data)``  GS v 0
``("cut", partial, feed_dots)``  GS V, ESC i, ESC m
``("ignored", raw)``   understood but not drawn (drawer pulse, barcodes, margins…)
``("unknown", raw)``   not understood; a real printer might print it as text
====================  ==========================================================
"""
from __future__ import annotations

ESC, FS, GS, DLE = 0x1B, 0x1C, 0x1D, 0x10
MAX_BLOCK = 16 * 1024 * 1024  # a declared data length beyond this is noise, not a command

GARBAGE = "\ufffd"

# ESC x: total command length in bytes for the fixed-length ones
_ESC_FIXED = {
    "@": 2, "!": 3, "E": 3, "G": 3, "-": 3, "M": 3, "a": 3, "d": 3, "J": 3, "K": 3, "e": 3,
    "2": 2, "3": 3, "A": 3, "+": 3, "t": 3, "R": 3, "V": 3, "{": 3, "r": 3, "p": 5, "i": 2,
    "m": 2, " ": 3, "$": 4, "\\": 4, "%": 3, "?": 3, "=": 3, "L": 2, "S": 2, "W": 10, "T": 3,
    "u": 3, "v": 2, "U": 3, "c": 4, "<": 2, "l": 3, "f": 4,
}
_FS_FIXED = {"&": 2, ".": 2, "!": 3, "-": 3, "S": 4, "W": 3, "C": 3, "p": 4, "?": 4, "2": 76}
_GS_FIXED = {
    "!": 3, "B": 3, "a": 3, "r": 3, "H": 3, "f": 3, "h": 3, "w": 3, "L": 4, "W": 4, "P": 4,
    "I": 3, "/": 3, "b": 3, "|": 3, "T": 3, "$": 4, "\\": 4, "E": 3, "Z": 3, ":": 2, "^": 5,
    "j": 3,
}
_CODEPAGES = {0: "cp437", 2: "cp850", 3: "cp860", 16: "cp1252", 17: "cp866", 19: "cp858"}


class _Incomplete(Exception):
    """The buffer ends inside a command or a character: wait for more bytes."""


class EscposParser:
    def __init__(self, encoding: str = "gb18030", font_charset: str = "gbk", chinese_default: bool = False) -> None:
        self.default_encoding = encoding
        self.font_charset = font_charset
        self.chinese_default = chinese_default
        self._buf = bytearray()
        self.reset()

    def reset(self) -> None:
        """What ``ESC @`` resets: Chinese mode, encoding selection, code page."""
        self.chinese = self.chinese_default
        self.encoding = self.default_encoding
        self.codepage = "cp437"

    @property
    def pending(self) -> int:
        """Bytes waiting for the rest of a command."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[tuple]:
        self._buf += data
        ops: list[tuple] = []
        i = 0
        buf = self._buf
        while i < len(buf):
            try:
                i = self._one(buf, i, ops)
            except _Incomplete:
                break
        del buf[:i]
        return ops

    # -- commands ---------------------------------------------------------------------------

    def _one(self, buf: bytearray, i: int, ops: list[tuple]) -> int:
        b = buf[i]
        if b == ESC:
            return self._esc(buf, i, ops)
        if b == GS:
            return self._gs(buf, i, ops)
        if b == FS:
            return self._fs(buf, i, ops)
        if b == DLE:
            return self._dle(buf, i, ops)
        if b == 0x0A:
            ops.append(("lf",))
            return i + 1
        if b == 0x09:
            ops.append(("ht",))
            return i + 1
        if b < 0x20 or b == 0x7F:  # CR, NUL, CAN, FF…: nothing to print on a roll in standard mode
            return i + 1
        return self._text(buf, i, ops)

    @staticmethod
    def _need(buf: bytearray, end: int) -> None:
        if end > len(buf):
            raise _Incomplete

    def _esc(self, buf, i, ops) -> int:
        self._need(buf, i + 2)
        c = chr(buf[i + 1])
        if c == "*":  # ESC * m nL nH d…: column bit image
            self._need(buf, i + 5)
            m, n = buf[i + 2], buf[i + 3] | buf[i + 4] << 8
            end = i + 5 + n * (1 if m in (0, 1) else 3)
            return self._skip(buf, i, end, ops)
        if c == "D":  # tab positions, NUL-terminated
            end = buf.find(0, i + 2)
            if end < 0:
                if len(buf) - i > 34:
                    return self._unknown(buf, i, 2, ops)
                raise _Incomplete
            ops.append(("ignored", bytes(buf[i:end + 1])))
            return end + 1
        if c == "&":  # user-defined characters: ESC & y c1 c2 [x d1…d(y*x)]…
            self._need(buf, i + 5)
            y, c1, c2 = buf[i + 2], buf[i + 3], buf[i + 4]
            j = i + 5
            for _ in range(max(0, c2 - c1 + 1)):
                self._need(buf, j + 1)
                j += 1 + y * buf[j]
            return self._skip(buf, i, j, ops)
        if c == "(":
            return self._paren(buf, i, ops, lambda fn, body: None)
        n = _ESC_FIXED.get(c)
        if n is None:
            return self._unknown(buf, i, 2, ops)
        self._need(buf, i + n)
        arg = buf[i + 2] if n >= 3 else 0
        if c == "@":
            self.reset()
            ops.append(("init",))
        elif c == "!":
            ops.append(("mode", arg))
        elif c in "EG":
            ops.append(("bold", bool(arg & 1)))
        elif c == "-":
            ops.append(("underline", _underline(arg)))
        elif c == "M":
            ops.append(("font", arg & 1 if arg < 48 else (arg - 48) & 1))
        elif c == "a":
            ops.append(("align", arg % 48 if arg >= 48 else arg))
        elif c == "d":
            ops.append(("feed_lines", arg))
        elif c == "J":
            ops.append(("feed_dots", arg))
        elif c == "2":
            ops.append(("spacing", None))
        elif c == "3":
            ops.append(("spacing", arg))
        elif c in "im":
            ops.append(("cut", True, 0))
        elif c == "t":
            self.codepage = _CODEPAGES.get(arg, "cp437")
            ops.append(("ignored", bytes(buf[i:i + n])))
        else:
            ops.append(("ignored", bytes(buf[i:i + n])))
        return i + n

    def _gs(self, buf, i, ops) -> int:
        self._need(buf, i + 2)
        c = chr(buf[i + 1])
        if c == "V":
            self._need(buf, i + 3)
            m = buf[i + 2]
            if m in (65, 66, 97, 98, 103, 104):
                self._need(buf, i + 4)
                ops.append(("cut", m in (66, 98, 104), buf[i + 3]))
                return i + 4
            ops.append(("cut", m in (1, 49), 0))
            return i + 3
        if c == "v":  # GS v 0 m xL xH yL yH d…
            self._need(buf, i + 8)
            if buf[i + 2] != 0x30:
                return self._unknown(buf, i, 2, ops)
            m = buf[i + 3] % 48 if buf[i + 3] >= 48 else buf[i + 3]
            xb, y = buf[i + 4] | buf[i + 5] << 8, buf[i + 6] | buf[i + 7] << 8
            end = i + 8 + xb * y
            if xb * y > MAX_BLOCK:
                return self._unknown(buf, i, 2, ops)
            self._need(buf, end)
            ops.append(("raster", m, xb, y, bytes(buf[i + 8:end])))
            return end
        if c == "(":
            return self._paren(buf, i, ops, self._gs_paren)
        if c == "8":  # GS 8 L p1 p2 p3 p4 …: large graphics data
            self._need(buf, i + 7)
            n = int.from_bytes(buf[i + 3:i + 7], "little")
            return self._skip(buf, i, i + 7 + n, ops)
        if c == "*":  # define downloaded bit image
            self._need(buf, i + 4)
            return self._skip(buf, i, i + 4 + buf[i + 2] * buf[i + 3] * 8, ops)
        if c == "Q":  # GS Q 0 m xL xH yL yH d…: variable vertical size bit image
            self._need(buf, i + 8)
            xb, y = buf[i + 4] | buf[i + 5] << 8, buf[i + 6] | buf[i + 7] << 8
            return self._skip(buf, i, i + 8 + xb * y, ops)
        if c == "k":  # barcodes
            self._need(buf, i + 3)
            m = buf[i + 2]
            if m <= 6:
                end = buf.find(0, i + 3)
                if end < 0:
                    if len(buf) - i > 260:
                        return self._unknown(buf, i, 2, ops)
                    raise _Incomplete
                return self._skip(buf, i, end + 1, ops)
            self._need(buf, i + 4)
            return self._skip(buf, i, i + 4 + buf[i + 3], ops)
        n = _GS_FIXED.get(c)
        if n is None:
            return self._unknown(buf, i, 2, ops)
        self._need(buf, i + n)
        arg = buf[i + 2] if n >= 3 else 0
        if c == "!":
            ops.append(("size", arg))
        elif c == "B":
            ops.append(("invert", bool(arg & 1)))
        else:
            ops.append(("ignored", bytes(buf[i:i + n])))
        return i + n

    def _fs(self, buf, i, ops) -> int:
        self._need(buf, i + 2)
        c = chr(buf[i + 1])
        if c == "(":
            return self._paren(buf, i, ops, self._fs_paren)
        if c == "q":  # FS q n [xL xH yL yH d…]…: define NV bit images
            self._need(buf, i + 3)
            j = i + 3
            for _ in range(buf[i + 2]):
                self._need(buf, j + 4)
                j += 4 + (buf[j] | buf[j + 1] << 8) * (buf[j + 2] | buf[j + 3] << 8) * 8
            return self._skip(buf, i, j, ops)
        n = _FS_FIXED.get(c)
        if n is None:
            return self._unknown(buf, i, 2, ops)
        self._need(buf, i + n)
        if c == "&":
            self.chinese = True
            ops.append(("chinese", True))
        elif c == ".":
            self.chinese = False
            ops.append(("chinese", False))
        elif c == "!":
            ops.append(("kanji_mode", buf[i + 2]))
        elif c == "-":
            ops.append(("underline", _underline(buf[i + 2])))
        else:
            ops.append(("ignored", bytes(buf[i:i + n])))
        return i + n

    def _dle(self, buf, i, ops) -> int:
        self._need(buf, i + 2)
        c = buf[i + 1]
        if c == 0x04:  # DLE EOT n: real-time status
            self._need(buf, i + 3)
            ops.append(("status", buf[i + 2]))
            return i + 3
        if c == 0x05:  # DLE ENQ n
            self._need(buf, i + 3)
            ops.append(("ignored", bytes(buf[i:i + 3])))
            return i + 3
        if c == 0x14:  # DLE DC4 fn …
            self._need(buf, i + 3)
            n = 10 if buf[i + 2] == 8 else 5
            return self._skip(buf, i, i + n, ops)
        return i + 1  # a lone DLE is a control character

    def _paren(self, buf, i, ops, handle) -> int:
        """``ESC|GS|FS ( X pL pH body``: length-prefixed function commands."""
        self._need(buf, i + 5)
        n = buf[i + 3] | buf[i + 4] << 8
        end = i + 5 + n
        self._need(buf, end)
        if handle(chr(buf[i + 2]), bytes(buf[i + 5:end]), ops) is None:
            ops.append(("ignored", bytes(buf[i:end])))
        return end

    @staticmethod
    def _gs_paren(fn: str, body: bytes, ops) -> bool | None:
        if fn == "k" and len(body) >= 2 and body[0] == 49:  # cn 49: QR code
            qfn = body[1]
            data = body[3:] if qfn in (80, 81, 82) and len(body) >= 3 else body[2:]
            ops.append(("qr", qfn, data))
            return True
        return None

    def _fs_paren(self, fn: str, body: bytes, ops) -> bool | None:
        if fn == "C" and len(body) >= 2 and body[0] == 48:  # select character encoding
            self.encoding = "utf-8" if body[1] == 2 else self.default_encoding
            ops.append(("encoding", self.encoding))
            return True
        return None

    def _skip(self, buf, i, end, ops) -> int:
        if end - i > MAX_BLOCK:
            return self._unknown(buf, i, 2, ops)
        self._need(buf, end)
        ops.append(("ignored", bytes(buf[i:end])))
        return end

    @staticmethod
    def _unknown(buf, i, n, ops) -> int:
        ops.append(("unknown", bytes(buf[i:i + n])))
        return i + n

    # -- text -------------------------------------------------------------------------------

    def _text(self, buf: bytearray, i: int, ops: list[tuple]) -> int:
        out: list[str] = []
        j = i
        try:
            while j < len(buf):
                b = buf[j]
                if b < 0x20 or b == 0x7F:
                    break
                if b < 0x80:
                    out.append(chr(b))
                    j += 1
                elif not self.chinese:
                    out.append(bytes((b,)).decode(self.codepage, errors="replace"))
                    j += 1
                elif self.encoding == "utf-8":
                    j = self._utf8_char(buf, j, out)
                else:
                    j = self._gb_char(buf, j, out)
        except _Incomplete:
            if j == i:
                raise
        if out:
            ops.append(("text", "".join(out)))
        return j

    def _gb_char(self, buf, j, out) -> int:
        b = buf[j]
        if not 0x81 <= b <= 0xFE:
            out.append(GARBAGE)
            return j + 1
        self._need(buf, j + 2)
        b2 = buf[j + 1]
        if 0x30 <= b2 <= 0x39:  # a 4-byte GB18030 sequence
            self._need(buf, j + 4)
            seq = bytes(buf[j:j + 4])
            if self.font_charset == "gbk" or self.encoding == "gbk":
                out.extend((GARBAGE, GARBAGE))  # a GBK font prints two wrong glyphs
            else:
                out.append(seq.decode("gb18030", errors="replace"))
            return j + 4
        seq = bytes(buf[j:j + 2])
        try:
            ch = seq.decode("gbk" if self.encoding == "gbk" else "gb18030")
        except UnicodeDecodeError:
            ch = GARBAGE
        if self.font_charset == "gbk" and ch != GARBAGE:
            try:
                ch.encode("gbk")
            except UnicodeEncodeError:
                ch = GARBAGE
        out.append(ch)
        return j + 2

    @staticmethod
    def _utf8_char(buf, j, out) -> int:
        b = buf[j]
        n = 2 if 0xC2 <= b <= 0xDF else 3 if 0xE0 <= b <= 0xEF else 4 if 0xF0 <= b <= 0xF4 else 0
        if n == 0:
            out.append(GARBAGE)
            return j + 1
        EscposParser._need(buf, j + n)
        try:
            out.append(bytes(buf[j:j + n]).decode("utf-8"))
        except UnicodeDecodeError:
            out.append(GARBAGE)
            return j + 1
        return j + n


def _underline(n: int) -> int:
    return n - 48 if n >= 48 else n

