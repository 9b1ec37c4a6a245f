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
from urllib.parse import parse_qs, urlencode, urlsplit

PYSERIAL_SCHEMES = ("socket", "loop", "spy", "rfc2217", "alt", "hwgrep")
ENCODINGS = ("auto", "utf-8", "gb18030")
SUFFIXES = ("any", "none")
ENGINES = ("zxing", "zbar")
HID_MODES = ("auto", "keyboard", "pos")
TERMINATORS = ("cr", "lf", "crlf", "none")

_FRAMING_KEYS = {"gap", "encoding", "suffix", "aim"}
_CAMERA_KEYS = {"engine", "formats", "fps", "width", "height", "loop"}
_SIM_KEYS = {"code", "every", "terminator", "encoding", "chunked", "slow", "noisy", "aim", "gap"}


class ScannerUrlError(ValueError):
    """The URL cannot be opened as a scanner; the message says why in one line."""


@dataclass(frozen=True)
class Framing:
    """How bytes from a serial-like scanner become codes."""

    gap: float = 0.15
    encoding: str = "auto"
    suffix: str = "any"
    aim: bool = False


@dataclass(frozen=True)
class ScannerUrl:
    kind: str  # serial, hid, camera, file, sim
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


def _one(params: dict[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[-1] if values else None


def _number(params, key, kind, low, high, default):
    raw = _one(params, key)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ScannerUrlError(f"option {key}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ScannerUrlError(f"option {key}={raw} is out of range {low}..{high}")
    return value


def _choice(params, key, choices, default):
    raw = _one(params, key)
    if raw is None:
        return default
    raw = raw.lower()
    if raw not in choices:
        raise ScannerUrlError(f"option {key}={raw!r} must be one of {', '.join(choices)}")
    return raw


def _flag(params, key) -> bool:
    raw = _one(params, key)
    if raw is None:
        return False
    if raw.lower() in ("", "1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ScannerUrlError(f"option {key}={raw!r} must be 1 or 0")


def _reject_unknown(params, allowed, url):
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ScannerUrlError(f"unknown option {unknown[0]!r} in {url}")


def _framing(params) -> Framing:
    return Framing(
        gap=_number(params, "gap", float, 0.01, 5.0, Framing.gap),
        encoding=_choice(params, "encoding", ENCODINGS, "auto"),
        suffix=_choice(params, "suffix", SUFFIXES, "any"),
        aim=_flag(params, "aim"),
    )


def _formats(params) -> tuple[str, ...]:
    raw = _one(params, "formats")
    if raw is None:
        return ("QRCode",)
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    if not names:
        raise ScannerUrlError("option formats= is empty")
    return names


def parse_scanner_url(url: str) -> ScannerUrl:
    """Parse and validate a scanner URL; raises ScannerUrlError with a one-line reason."""
    if not isinstance(url, str) or not url.strip():
        raise ScannerUrlError("no scanner URL given")
    url = url.strip()
    if url.startswith("/"):  # a bare device path, as pyserial takes it
        url = "serial://" + url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        params = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ScannerUrlError(f"cannot read the options in {url}") from None

    if scheme == "serial":
        _reject_unknown(params, _FRAMING_KEYS | {"baud"}, url)
        path = parts.netloc + parts.path if parts.netloc else parts.path
        if not path:
            raise ScannerUrlError(f"no device path in {url} (expected serial:///dev/ttyACM0)")
        baud = _number(params, "baud", int, 50, 4_000_000, 9600)
        return ScannerUrl("serial", url, target=path, baudrate=baud, framing=_framing(params))

    if scheme in PYSERIAL_SCHEMES:
        # Our options are ours; whatever else is in the query belongs to pyserial's handler.
        ours = {k: v for k, v in params.items() if k in _FRAMING_KEYS | {"baud"}}
        theirs = [(k, v) for k, values in params.items() if k not in ours for v in values]
        query = urlencode(theirs)
        target = f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")
        if scheme == "socket" and not parts.port:
            raise ScannerUrlError(f"no port in {url} (expected socket://HOST:PORT)")
        baud = _number(ours, "baud", int, 50, 4_000_000, 9600)
        return ScannerUrl("serial", url, target=target, baudrate=baud, framing=_framing(ours))

    if scheme == "hid":
        _reject_unknown(params, _FRAMING_KEYS | {"mode"}, url)
        path = parts.netloc + parts.path if parts.netloc else parts.path
        if not path:
            raise ScannerUrlError(f"no device path in {url} (expected hid:///dev/hidraw0)")
        return ScannerUrl("hid", url, target=path, framing=_framing(params),
                          hid_mode=_choice(params, "mode", HID_MODES, "auto"))

    if scheme in ("camera", "file"):
        _reject_unknown(params, _CAMERA_KEYS, url)
        target = parts.netloc + parts.path if scheme == "camera" else parts.path
        if scheme == "file" and not target:
            raise ScannerUrlError(f"no path in {url} (expected file:///path/to/images/)")
        return ScannerUrl(
            scheme, url, target=target,
            engine=_choice(params, "engine", ENGINES, "zxing"),
            formats=_formats(params),
            fps=_number(params, "fps", float, 0.1, 120.0, 10.0),
            width=_number(params, "width", int, 16, 10000, None),
            height=_number(params, "height", int, 16, 10000, None),
            loop=not (_one(params, "loop") is not None and not _flag(params, "loop")),
        )

    if scheme == "sim":
        # encoding= and terminator= describe what the simulated scanner sends; the driver side
        # decodes automatically, as it must with a real scanner whose settings nobody wrote down.
        _reject_unknown(params, _SIM_KEYS, url)
        terminator = _choice(params, "terminator", TERMINATORS, "cr")
        aim = _flag(params, "aim")
        sim = {
            "codes": tuple(params.get("code", ())),
            "every": _number(params, "every", float, 0.05, 3600.0, None),
            "terminator": terminator,
            "encoding": _choice(params, "encoding", ("utf-8", "gb18030"), "utf-8"),
            "chunked": _flag(params, "chunked"),
            "slow": _flag(params, "slow"),
            "noisy": _flag(params, "noisy"),
            "aim": aim,
        }
        framing = Framing(gap=_number(params, "gap", float, 0.01, 5.0, Framing.gap), encoding="auto",
                          suffix="none" if terminator == "none" else "any", aim=aim)
        return ScannerUrl("sim", url, framing=framing, sim=sim)

    if not scheme:
        raise ScannerUrlError(f"{url!r} is not a scanner URL (expected serial://, hid://, camera://, file:// or sim://)")
    raise ScannerUrlError(f"unknown scanner URL scheme {scheme}:// (expected serial, hid, camera, file, sim or a pyserial URL)")
