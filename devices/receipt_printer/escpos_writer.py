"""ESC/POS commands generated with python-escpos, written through a transport of our own.

Why our own ``Escpos`` subclass rather than one of python-escpos's printer classes:

* its ``Serial`` opens ``serial.Serial``, not ``serial.serial_for_url``, so pyserial URLs
  (``socket://``, ``loop://``, ``spy://``, ``rfc2217://``) cannot be used, and it opens at construction;
* ``Dummy``, ``File`` and ``LP`` cannot read, so they cannot ask ``DLE EOT`` at all;
* ``Network._read`` is a bare ``recv(16)`` with the connect timeout, so silence becomes a 60 s hang;
* its ``text()`` sends a string with any CJK ideograph whole as GB18030 without ``FS &``, which
  GBK-font printers print as garbage.

So python-escpos builds the commands (styles, native and raster QR, raster images, feeds, cuts),
``_raw`` hands them to whatever sink we give it (a byte buffer for a job, a transport for a status
query), ``_read`` reads one reply byte with a deadline, and Chinese text is encoded by
:mod:`devices.receipt_printer.text`.

python-escpos is imported on first use only: importing it reads its capability database (0.5 s)
and makes a temporary directory.
"""
from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable

from devices.receipt_printer.profiles import PrinterProfile
from devices.receipt_printer.text import FS_SELECT_UTF8, printable, text_bytes

ESC_INIT = b"\x1b\x40"
GS_ASB_OFF = b"\x1d\x61\x00"  # GS a 0: no automatic status back, so only DLE EOT replies arrive


def _escpos_module():
    """Import python-escpos, then remove the temporary directory its import made.

    python-escpos 3.1 pickles its capability database into ``mkdtemp()`` on every import (even
    when ``ESCPOS_CAPABILITIES_PICKLE_DIR`` is set, the default argument is evaluated) and never
    removes it; the data is in memory by then, so the directory can go.
    """
    first = "escpos.escpos" not in sys.modules
    import escpos.capabilities
    import escpos.escpos

    scratch = Path(escpos.capabilities.pickle_dir)
    if first and "ESCPOS_CAPABILITIES_PICKLE_DIR" not in os.environ and scratch.parent == Path(tempfile.gettempdir()):
        shutil.rmtree(scratch, ignore_errors=True)
    return escpos.escpos


@functools.cache
def _escpos_profile_class(profile: PrinterProfile):
    """A python-escpos capability profile that says what our profile says (width, cutter, QR)."""
    from escpos.capabilities import CAPABILITIES, Profile

    data = dict(CAPABILITIES["profiles"]["default"])
    data["name"] = f"kiosk-{profile.name}"
    data["media"] = {"dpi": profile.dpi, "width": {"mm": profile.paper_mm, "pixels": profile.dots}}
    data["fonts"] = {"0": {"name": "Font A", "columns": profile.columns},
                     "1": {"name": "Font B", "columns": profile.dots // 9}}
    features = dict(data["features"])
    features.update(paperFullCut=profile.cutter, paperPartCut=profile.cutter and profile.partial_cut,
                    qrCode=profile.qr == "native", bitImageRaster=True)
    data["features"] = features
    return type(f"Kiosk{profile.dots}Profile", (Profile,), {"profile_data": data}), features


@functools.cache
def writer_class():
    base = _escpos_module().Escpos

    class EscposWriter(base):
        """python-escpos with a byte sink for ``_raw`` and a reply source for ``_read``."""

        def __init__(self, profile: PrinterProfile, sink: Callable[[bytes], None],
                     source: Callable[[], bytes] | None = None) -> None:
            cls, features = _escpos_profile_class(profile)
            super().__init__(profile=cls(columns=profile.columns, features=features))
            self.kiosk_profile = profile
            self._sink = sink
            self._source = source

        def _raw(self, msg: bytes) -> None:
            self._sink(bytes(msg))

        def _read(self) -> bytes:
            if self._source is None:
                return b""
            return self._source()

        def close(self) -> None:  # the transport is owned by the driver, not by this writer
            pass

    return EscposWriter


def qr_ec_constant(level: str) -> int:
    from escpos.constants import QR_ECLEVEL_H, QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q

    return {"L": QR_ECLEVEL_L, "M": QR_ECLEVEL_M, "Q": QR_ECLEVEL_Q, "H": QR_ECLEVEL_H}[level]


class JobBuilder:
    """Builds one print job as bytes for a profile: python-escpos for commands, our encoder for text."""

    def __init__(self, profile: PrinterProfile) -> None:
        self.profile = profile
        self._chunks: list[bytes] = []
        self._p = writer_class()(profile, sink=self._chunks.append)

    def raw(self, data: bytes) -> "JobBuilder":
        self._chunks.append(bytes(data))
        return self

    def init(self) -> "JobBuilder":
        self._p.hw("INIT")
        if self.profile.encoding == "utf-8":
            self.raw(FS_SELECT_UTF8)
        return self

    def style(self, *, align: str | None = None, bold: bool | None = None, size: int | None = None) -> "JobBuilder":
        """Alignment, emphasis and character size (``GS !``, which scales Chinese characters too)."""
        if size is not None:
            self._p.set(custom_size=True, width=size, height=size)
        self._p.set(align=align, bold=bold)
        return self

    def text(self, text: str) -> "JobBuilder":
        """One piece of text (no newline); made printable for the font and encoded for the printer."""
        safe = printable(text, self.profile.font_charset)
        if safe:
            self.raw(text_bytes(safe, self.profile.encoding))
        return self

    def line(self, text: str = "") -> "JobBuilder":
        self.text(text)
        self._p.control("LF")
        return self

    def feed(self, lines: int = 1) -> "JobBuilder":
        self._p.print_and_feed(lines)
        return self

    def qr(self, data: str, *, module: int | None = None, ec: str = "M") -> "JobBuilder":
        """A QR code, centred: ``GS ( k`` on printers that have it, otherwise a ``GS v 0`` raster."""
        module = module or self.profile.qr_module
        if self.profile.qr == "native":
            self._p.set(align="center")
            self._p.qr(data, ec=qr_ec_constant(ec), size=module, native=True)
            self._p.control("LF")
        else:
            self._p.image(qr_image(data, module=module, ec=ec), center=True)
            self._p.control("LF")  # white below the code, as after GS ( k
        return self

    def cut(self) -> "JobBuilder":
        """Feed past the cutter and cut (partial when the printer can); feed only without a cutter."""
        self._p.cut(mode="PART" if self.profile.partial_cut else "FULL")
        return self

    def bytes(self) -> bytes:
        return b"".join(self._chunks)


def qr_image(data: str, *, module: int, ec: str = "M", border: int = 0):
    """A 1-bit QR code image, ``module`` dots per module, drawn by the ``qrcode`` package."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q

    levels = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}
    code = qrcode.QRCode(version=None, error_correction=levels[ec], box_size=module, border=border)
    code.add_data(data.encode("utf-8") if isinstance(data, str) else data)
    code.make(fit=True)
    return code.make_image().get_image().convert("1")


def status_writer(profile: PrinterProfile, write: Callable[[bytes], None], read_reply: Callable[[], bytes]):
    """A writer whose ``query_status`` goes straight to a transport (python-escpos builds the query;
    the reply is judged by :mod:`devices.receipt_printer.status`, not by python-escpos)."""
    return writer_class()(profile, sink=write, source=read_reply)
