"""Reader URLs → an open pyserial port.

Every pyserial URL works (a device path, ``socket://``, ``loop://``, ``spy://``, ``rfc2217://``,
``hwgrep://``, ``alt://``). pyserial has no ``serial://`` handler, so ``serial:///dev/ttyUSB0?baud=N``
is mapped here to the device path at that rate. ``sim://?card=NAME&mode=...`` becomes
``sim://idcard-N?...``, which pyserial opens through the handler in devices.simports (a simulator
behind a pty), so the same serial code runs against it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

import serial

from devices import simports
from devices.idcard.commands import BAUD_CODES
from devices.urls import PYSERIAL_SCHEMES, DeviceUrlError, query_options, split

DEFAULT_BAUD = 115200
SIM_MODES = {"slow", "chunked", "noisy", "corrupt", "silent", "nosam"}


@dataclass(frozen=True)
class ReaderUrl:
    scheme: str  # "sim", "serial" (a device path) or a pyserial scheme
    target: str  # what serial_for_url gets; the fixture card name for sim://
    baud: int = DEFAULT_BAUD
    sim_modes: frozenset[str] = field(default_factory=frozenset)


def parse_reader_url(url: str) -> ReaderUrl:
    """Check a URL without touching any device; raises DeviceUrlError with one clear line."""
    url, parts = split(url, "reader")
    if "://" not in url:
        return ReaderUrl("serial", url)
    scheme = url.split("://", 1)[0].lower()
    if scheme == "serial":
        query = query_options(parts, url, {"baud"})
        path = parts.netloc + parts.path
        if not path:
            raise DeviceUrlError(f"{url}: no device path (use serial:///dev/ttyUSB0?baud=115200)")
        return ReaderUrl("serial", path, _baud(query.get("baud", str(DEFAULT_BAUD)), url))
    if scheme == "sim":
        query = query_options(parts, url, {"card", "mode", "baud"})
        modes = frozenset(m for m in query.get("mode", "").split(",") if m)
        unknown = modes - SIM_MODES
        if unknown:
            raise DeviceUrlError(f"{url}: unknown simulator mode {sorted(unknown)[0]!r} "
                               f"(known: {', '.join(sorted(SIM_MODES))})")
        baud = _baud(query["baud"], url) if "baud" in query else DEFAULT_BAUD
        card = query.get("card", "") or parts.netloc
        options = urlencode([(k, v) for k, v in (("card", card), ("mode", ",".join(sorted(modes))),
                                                  ("baud", str(baud))) if v])
        return ReaderUrl("sim", simports.sim_url("idcard", options), baud, modes)
    if scheme in PYSERIAL_SCHEMES:
        return ReaderUrl(scheme, url)
    raise DeviceUrlError(f"{url}: unknown URL scheme {scheme!r} for an ID-card reader")


def open_port(target: str, baud: int = DEFAULT_BAUD) -> serial.SerialBase:
    """Open a pyserial port (raises serial.SerialException when it cannot be opened)."""
    simports.install()
    try:
        return serial.serial_for_url(target, baudrate=baud, timeout=0.02, write_timeout=1.0)
    except ValueError as exc:  # pyserial reports bad settings and unknown schemes this way
        raise serial.SerialException(str(exc)) from exc


def _baud(text: str, url: str) -> int:
    if not text.isdigit() or int(text) not in BAUD_CODES:
        raise DeviceUrlError(f"{url}: baud must be one of {', '.join(map(str, sorted(BAUD_CODES)))}")
    return int(text)
