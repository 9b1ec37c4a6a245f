"""Scanner URLs: one string says which transport, which device and how to frame its codes.

    serial:///dev/ttyACM0?baud=9600      USB-CDC / RS-232 scanner (pyserial has no serial:// handler,
    /dev/ttyACM0                          so we turn it into a path and a baud rate)
    socket://127.0.0.1:7002, loop://, spy://..., rfc2217://...   passed to serial_for_url unchanged
    hid:///dev/hidraw0?mode=auto|keyboard|pos
    camera:///dev/video0?width=1280&height=720, camera://0, camera:// (frames from a callable)
    file:///path/to/images/               a folder (or one image) played as camera frames
    sim://?code=TEXT&terminator=crlf      an in-process scanner simulator behind a loopback socket

Options common to serial-like transports: ``gap`` (inter-character timeout, seconds), ``encoding``
(auto = UTF-8 then GB18030, or utf-8, gb18030), ``suffix`` (any = CR, LF or CRLF; none = a code ends
when the line goes quiet), ``aim`` (1 = codes start with an AIM symbology identifier such as ``]Q1``).
Camera options: ``engine`` (zxing, zbar), ``formats`` (comma list), ``fps``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs

from devices import simports
from devices.urls import PYSERIAL_SCHEMES, DeviceUrlError, choice, flag, number, query_options, pyserial_url, split

ENCODINGS = ("auto", "utf-8", "gb18030")
SUFFIXES = ("any", "none")
ENGINES = ("zxing", "zbar")
HID_MODES = ("auto", "keyboard", "pos")
TERMINATORS = ("cr", "lf", "crlf", "none")

_FRAMING_KEYS = {"gap", "encoding", "suffix", "aim"}
_CAMERA_KEYS = {"engine", "formats", "fps", "width", "height", "loop"}
_SIM_KEYS = {"code", "every", "terminator", "encoding", "chunked", "slow", "noisy", "aim", "gap", "seed"}


@dataclass(frozen=True)
class Framing:
    """How bytes from a serial-like scanner become codes."""

    gap: float = 0.15
    encoding: str = "auto"
    suffix: str = "any"
    aim: bool = False


@dataclass(frozen=True)
class ScannerUrl:
    kind: str  # serial (sim:// included), hid, camera, file
    url: str  # as given, for status lines
    target: str = ""  # pyserial URL or path, hidraw path, camera path/index, file path
    baudrate: int = 9600
    framing: Framing = field(default_factory=Framing)
    hid_mode: str = "auto"
    engine: str = "zxing"
    formats: tuple[str, ...] = ("QRCode",)
    fps: float = 10.0
    width: int | None = None
    height: int | None = None
    loop: bool = True
    sim: dict[str, object] = field(default_factory=dict)


def _framing(params) -> Framing:
    return Framing(
        gap=number(params, "gap", float, 0.01, 5.0, Framing.gap),
        encoding=choice(params, "encoding", ENCODINGS, "auto"),
        suffix=choice(params, "suffix", SUFFIXES, "any"),
        aim=flag(params, "aim"),
    )


def _formats(params) -> tuple[str, ...]:
    raw = params.get("formats")
    if raw is None:
        return ("QRCode",)
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    if not names:
        raise DeviceUrlError("option formats= is empty")
    return names


def parse_scanner_url(url: str) -> ScannerUrl:
    """Parse and validate a scanner URL; raises DeviceUrlError with a one-line reason."""
    url, parts = split(url, "scanner")
    if url.startswith("/"):  # a bare device path, as pyserial takes it
        url, parts = split("serial://" + url, "scanner")
    scheme = parts.scheme.lower()
    codes = tuple(parse_qs(parts.query, keep_blank_values=True).get("code", ()))  # the one repeatable key
    allowed = (_FRAMING_KEYS | {"baud"} if scheme == "serial" else _FRAMING_KEYS | {"mode"} if scheme == "hid"
               else _CAMERA_KEYS if scheme in ("camera", "file") else _SIM_KEYS if scheme == "sim" else None)
    params = query_options(parts, url, allowed)

    if scheme == "serial":
        path = parts.netloc + parts.path if parts.netloc else parts.path
        if not path:
            raise DeviceUrlError(f"no device path in {url} (expected serial:///dev/ttyACM0)")
        baud = number(params, "baud", int, 50, 4_000_000, 9600)
        return ScannerUrl("serial", url, target=path, baudrate=baud, framing=_framing(params))

    if scheme in PYSERIAL_SCHEMES:
        # Our options are ours; whatever else is in the query belongs to pyserial's handler.
        ours = {k: v for k, v in params.items() if k in _FRAMING_KEYS | {"baud"}}
        target = pyserial_url(url, parts, _FRAMING_KEYS | {"baud"})
        try:
            port = parts.port
        except ValueError:
            port = None
        if scheme == "socket" and not port:
            raise DeviceUrlError(f"no port in {url} (expected socket://HOST:PORT)")
        baud = number(ours, "baud", int, 50, 4_000_000, 9600)
        return ScannerUrl("serial", url, target=target, baudrate=baud, framing=_framing(ours))

    if scheme == "hid":
        path = parts.netloc + parts.path if parts.netloc else parts.path
        if not path:
            raise DeviceUrlError(f"no device path in {url} (expected hid:///dev/hidraw0)")
        return ScannerUrl("hid", url, target=path, framing=_framing(params),
                          hid_mode=choice(params, "mode", HID_MODES, "auto"))

    if scheme in ("camera", "file"):
        target = parts.netloc + parts.path if scheme == "camera" else parts.path
        if scheme == "file" and not target:
            raise DeviceUrlError(f"no path in {url} (expected file:///path/to/images/)")
        return ScannerUrl(
            scheme, url, target=target,
            engine=choice(params, "engine", ENGINES, "zxing"),
            formats=_formats(params),
            fps=number(params, "fps", float, 0.1, 120.0, 10.0),
            width=number(params, "width", int, 16, 10000, None),
            height=number(params, "height", int, 16, 10000, None),
            loop=flag(params, "loop", True),
        )

    if scheme == "sim":
        # encoding= and terminator= describe what the simulated scanner sends; the driver side
        # decodes automatically, as it must with a real scanner whose settings nobody wrote down.
        terminator = choice(params, "terminator", TERMINATORS, "cr")
        aim = flag(params, "aim")
        sim = {
            "codes": codes,
            "every": number(params, "every", float, 0.05, 3600.0, None),
            "terminator": terminator,
            "encoding": choice(params, "encoding", ("utf-8", "gb18030"), "utf-8"),
            "chunked": flag(params, "chunked"),
            "slow": flag(params, "slow"),
            "noisy": flag(params, "noisy"),
            "aim": aim,
        }
        number(params, "seed", int, 0, 2**31 - 1, None)
        framing = Framing(gap=number(params, "gap", float, 0.01, 5.0, Framing.gap), encoding="auto",
                          suffix="none" if terminator == "none" else "any", aim=aim)
        # pyserial opens sim://qr-N through devices.simports: the simulator behind a loopback socket
        return ScannerUrl("serial", url, target=simports.sim_url("qr", parts.query), framing=framing, sim=sim)

    if not scheme:
        raise DeviceUrlError(f"{url!r} is not a scanner URL (expected serial://, hid://, camera://, file:// or sim://)")
    raise DeviceUrlError(f"unknown scanner URL scheme {scheme}:// (expected serial, hid, camera, file, sim or a pyserial URL)")
