"""Receipt printer URLs: where the printer is, and its settings, in one string.

=====================================  ============================================================
``serial:///dev/ttyS0?baud=9600``      a serial port through ``serial.serial_for_url`` (pyserial
                                       has no ``serial://`` handler, so this becomes the path and a
                                       baud rate); ``rtscts``, ``dsrdtr``, ``xonxoff`` switch flow
                                       control on
``/dev/ttyUSB0``, ``socket://h:p``,    any other pyserial URL is passed through unchanged
``loop://``, ``spy://…``, ``rfc2217://``
``tcp://host:9100``                    a network printer (raw port 9100)
``usb://0x0416:0x5011``                a USB printer through python-escpos ``Usb`` (needs pyusb)
``file:///path/job.bin``               append every job to a file or device node; write-only
``sim://?paper=58&out=DIR&paper_cm=N``  the in-process simulator
=====================================  ============================================================

Any URL may carry printer settings: ``profile=58mm``, ``encoding=gbk``, ``font=gb18030``,
``qr=raster``, ``qr_module=5``, ``cutter=false`` (see profiles.json).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from devices.receipt_printer.profiles import PrinterProfile, ProfileError, get_profile
from devices.urls import PYSERIAL_SCHEMES, DeviceUrlError, flag, pyserial_url, split

SETTING_KEYS = ("encoding", "font", "qr", "qr_module", "cutter")
SIM_KEYS = ("paper", "out", "paper_cm", "near_end_cm", "chinese_default")


@dataclass(frozen=True)
class PrinterUrl:
    kind: str  # serial, tcp, usb, file, sim
    target: str  # serial: pyserial URL or path; tcp: host; usb: "VID:PID"; file: path; sim: ""
    profile: PrinterProfile
    port: int | None = None
    options: dict = field(default_factory=dict)  # serial / usb / sim options
    text: str = ""

    @property
    def readable(self) -> bool:
        return self.kind != "file"


def parse_printer_url(url: str) -> PrinterUrl:
    url, parts = split(url, "printer")
    if url.startswith("/"):  # a bare device path is a serial port
        return PrinterUrl("serial", url, get_profile(None), options={"baudrate": 9600}, text=url)
    scheme = parts.scheme.lower()
    query = parse_qsl(parts.query, keep_blank_values=True)
    settings = {k: v for k, v in query if k in SETTING_KEYS}
    profile_name = next((v for k, v in query if k == "profile"), None)
    rest = [(k, v) for k, v in query if k not in SETTING_KEYS and k != "profile"]
    if scheme == "sim":
        sim = dict(rest)
        if profile_name is None and sim.get("paper") == "58":
            profile_name = "58mm"
    profile = _profile(profile_name, settings)

    if scheme == "serial":
        path = unquote(parts.path) or unquote(parts.netloc)
        if not path:
            raise DeviceUrlError(f"{url}: serial URL needs a device path (serial:///dev/ttyS0)")
        return PrinterUrl("serial", path, profile, options=_serial_options(url, rest), text=url)
    if scheme in PYSERIAL_SCHEMES:
        passthrough = pyserial_url(url, parts, set(SETTING_KEYS) | {"profile"})
        return PrinterUrl("serial", passthrough, profile, options={"baudrate": 9600}, text=url)
    if scheme == "tcp":
        _no_options(url, rest)
        if not parts.hostname:
            raise DeviceUrlError(f"{url}: tcp URL needs a host (tcp://host:9100)")
        try:
            port = parts.port or 9100
        except ValueError:
            raise DeviceUrlError(f"{url}: bad port") from None
        return PrinterUrl("tcp", parts.hostname, profile, port=port, text=url)
    if scheme == "usb":
        return PrinterUrl("usb", parts.netloc, profile, options=_usb_options(url, parts.netloc, rest), text=url)
    if scheme == "file":
        _no_options(url, rest)
        path = unquote(parts.path)
        if not path.startswith("/"):
            raise DeviceUrlError(f"{url}: file URL needs an absolute path (file:///path/job.bin)")
        return PrinterUrl("file", path, profile, text=url)
    if scheme == "sim":
        return PrinterUrl("sim", "", profile, options=_sim_options(url, rest, profile), text=url)
    raise DeviceUrlError(f"{url}: unknown printer URL scheme {scheme!r} "
                          "(use serial://, tcp://, usb://, file://, sim:// or a pyserial URL)")


def _profile(name: str | None, settings: dict[str, str]) -> PrinterProfile:
    try:
        return get_profile(name).with_overrides(**settings)
    except ProfileError as exc:
        raise DeviceUrlError(str(exc)) from None


def _no_options(url: str, rest: list[tuple[str, str]]) -> None:
    if rest:
        raise DeviceUrlError(f"{url}: unknown option {rest[0][0]!r}")


def _flag(url: str, key: str, value: str) -> bool:
    try:
        return flag({key: value}, key)
    except DeviceUrlError:
        raise DeviceUrlError(f"{url}: option {key}={value!r}: use true or false") from None


def _serial_options(url: str, rest: list[tuple[str, str]]) -> dict:
    options: dict = {"baudrate": 9600}
    for key, value in rest:
        if key in ("baud", "baudrate"):
            if not value.isdigit() or not 300 <= int(value) <= 921600:
                raise DeviceUrlError(f"{url}: baud={value!r} is not a baud rate")
            options["baudrate"] = int(value)
        elif key in ("rtscts", "dsrdtr", "xonxoff"):
            options[key] = _flag(url, key, value)
        else:
            raise DeviceUrlError(f"{url}: unknown serial option {key!r} (baud, rtscts, dsrdtr, xonxoff)")
    return options


def _usb_options(url: str, ids: str, rest: list[tuple[str, str]]) -> dict:
    try:
        vid, pid = (int(x, 16) for x in ids.split(":"))
    except ValueError:
        raise DeviceUrlError(f"{url}: usb URL needs VID:PID in hex (usb://0x0416:0x5011)") from None
    options = {"idVendor": vid, "idProduct": pid}
    for key, value in rest:
        if key not in ("in_ep", "out_ep", "timeout"):
            raise DeviceUrlError(f"{url}: unknown usb option {key!r} (in_ep, out_ep, timeout)")
        try:
            options[key] = int(value, 0)
        except ValueError:
            raise DeviceUrlError(f"{url}: usb option {key}={value!r} is not a number") from None
    return options


def _sim_options(url: str, rest: list[tuple[str, str]], profile: PrinterProfile) -> dict:
    options: dict = {"paper_mm": profile.paper_mm, "encoding": profile.encoding,
                     "font_charset": profile.font_charset}
    for key, value in rest:
        if key == "paper":
            if value not in ("58", "80"):
                raise DeviceUrlError(f"{url}: paper={value!r}: use 58 or 80")
            options["paper_mm"] = int(value)
        elif key == "out":
            options["out_dir"] = value
        elif key in ("paper_cm", "near_end_cm"):
            try:
                options[key] = float(value)
            except ValueError:
                raise DeviceUrlError(f"{url}: {key}={value!r} is not a number") from None
        elif key == "chinese_default":
            options[key] = _flag(url, key, value)
        else:
            raise DeviceUrlError(f"{url}: unknown sim option {key!r} ({', '.join(SIM_KEYS)})")
    return options


def with_settings(url: str, *, encoding: str | None = None, paper_mm: int | None = None) -> str:
    """``url`` with site-wide printer settings added where the URL does not say otherwise.

    ``paper_mm`` picks the generic 58/80 mm profile when the URL names no profile; ``encoding`` is
    added when the URL names neither a profile nor an encoding (a named profile knows its own).
    """
    if url.startswith("/"):
        return url
    parts = urlsplit(url)
    keys = {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
    extra = []
    if paper_mm == 58 and "profile" not in keys:
        extra.append("profile=58mm")
    if encoding and "profile" not in keys and "encoding" not in keys:
        extra.append(f"encoding={encoding}")
    if not extra:
        return url
    base, _, query = url.partition("?")
    return base + "?" + "&".join(filter(None, [query, *extra]))
