"""Configuration: built-in defaults → site file → fleet document (docs/ARCHITECTURE.md, "Configuration and the command line").

Every value is checked on load. An error names the key and the file in one line and the kiosk
refuses to start; nothing runs half-configured. The result is a tree of frozen dataclasses.
"""
from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kiosk.errors import ConfigError, UsageError

DEFAULT_SITE_FILE = Path("/etc/kiosk/kiosk.toml")
BUILT_IN = "<built-in defaults>"
DEMO_KIOSK_NUMBER = 1            # kiosk.number in the demo profile (0000 is the platform's own)
# the demo profile's technician (PIN 135792, in the README); a kiosk with a platform never gets it
DEMO_TECHNICIAN = "演示技术员=scrypt$16384$8$1$vbQM+UZPDbI6y/NUyT9Ebg==$3tCwNOm7kDPHtnBhzdhIz6yrpkUdZCvPNeqMURa/VUw="
MAX_CONFIG_BYTES = 1024 * 1024   # a site file is a few kilobytes; anything bigger is a mistake or an attack
MAX_STRING_CHARS = 4096          # longest string value (a notice, a URL, a token)
INT_RANGE = (-(2**63), 2**63 - 1)
ECHO_CHARS = 60                  # how much of a bad value an error message shows
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def brief(value: Any, limit: int = ECHO_CHARS) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for echoing a bad value in a one-line message."""
    if isinstance(value, int) and not isinstance(value, bool) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
        return f"a number of about {value.bit_length() * 3 // 10 + 1} digits"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"…({len(text)} chars)"


def shown_path(path: Any, limit: int = 120) -> str:
    """A file name (or any text) fit for a one-line message: control characters escaped, long text cut."""
    text = os.fsdecode(path) if isinstance(path, (bytes, os.PathLike)) else str(path)
    text = _CONTROL.sub(lambda m: ascii(m.group())[1:-1], text)
    return text if len(text) <= limit else text[:limit] + f"…({len(text)} chars)"


def _home_dir(env: str, fallback: str) -> Path:
    return Path(os.environ.get(env) or Path.home() / fallback) / "kiosk"


@dataclass(frozen=True)
class KioskSection:
    id: str = "demo-kiosk-001"
    number: int = 0  # 1-9999, unique among the platform's kiosks; part of every receipt number (0 = not set)
    centre_name: str = "演示镇便民服务中心"
    centre_name_en: str = "Demo Town Convenience Service Centre"
    hotline: str = "12345"
    centre_phone: str = "0773-5512345"  # the centre's own phone, shown big beside the hotline on errors and help
    time_zone: str = "Asia/Shanghai"  # the zone of times on screen and on paper, whatever the system's zone
    division_code: str = "450329000000"  # the county the kiosk stands in (12-digit code): addresses start there
    languages: tuple[str, ...] = ("zh", "en")
    default_language: str = "zh"
    notices: tuple[str, ...] = (
        "本服务区全天24小时开放，节假日不休息",
        "办事不求人 自助更便捷",
        "如需帮助请拨打 12345 政务服务便民热线",
    )
    notices_en: tuple[str, ...] = (  # the attract screen's notices in English mode (empty: none shown)
        "Open 24 hours a day, every day of the year",
        "Do it yourself: quick and easy",
        "Need help? Call the 12345 government service hotline",
    )
    place_code: str = "demo-town-24h"  # this kiosk's place in the catalogue's service places (就近办)


@dataclass(frozen=True)
class PlatformSection:
    base_url: str = ""  # empty: the demo profile embeds the reference backend on loopback
    token: str = ""
    timeout_s: float = 10.0
    catalogue_refresh_s: int = 3600


@dataclass(frozen=True)
class ScreenSection:
    orientation: str = "portrait"
    width: int = 1080
    height: int = 1920
    fullscreen: bool = False


@dataclass(frozen=True)
class SessionSection:
    idle_timeout_s: int = 60
    warning_s: int = 20
    elderly_factor: float = 2.0


@dataclass(frozen=True)
class PathsSection:
    data_dir: Path = field(default_factory=lambda: _home_dir("XDG_DATA_HOME", ".local/share"))
    log_dir: Path = field(default_factory=lambda: _home_dir("XDG_STATE_HOME", ".local/state") / "log")
    key_file: Path = field(default_factory=lambda: _home_dir("XDG_CONFIG_HOME", ".config") / "outbox.key")


@dataclass(frozen=True)
class DevicesSection:
    idcard: str = "sim://"
    qr: str = "sim://"
    camera: str = "sim://"
    receipt_printer: str = "sim://"
    document_printer: str = "sim://"
    receipt_printer_encoding: str = "gb18030"
    receipt_printer_paper_mm: int = 80


@dataclass(frozen=True)
class OutboxSection:
    quota_mb: int = 2048
    retention_days: int = 7
    concurrency: int = 4  # requests the sender may have on the link at once


@dataclass(frozen=True)
class PolicySection:
    """What the county decides for its kiosks (a fleet document may set these)."""
    enabled_services: tuple[str, ...] = ()  # service keys offered on the home screen; empty: all
    quiet_hours: str = ""  # "HH:MM-HH:MM" local time: prompts stay silent, fleet changes apply then


@dataclass(frozen=True)
class FleetSection:
    """Where this kiosk gets signed configuration from (site file only; see kiosk/fleet/)."""
    repository_url: str = ""  # TUF repository base URL; empty: fleet configuration off
    trusted_root: str = ""  # absolute path of the fleet's root metadata installed with this file
    mqtt_url: str = ""  # mqtt://host:port of the notice broker; empty: poll only
    town: str = ""  # this kiosk's town group, e.g. "pingan" (documents for town/<town> apply)
    poll_interval_s: int = 300
    health_window_s: int = 60


@dataclass(frozen=True)
class ServiceSection:
    """Service mode for technicians and the consumables it watches (see kiosk/operate/access.py)."""
    technicians: tuple[str, ...] = ()  # "name=scrypt$…" from `kiosk service hash-pin`; empty: no PIN entry
    max_tries: int = 5  # wrong PINs before the pad waits; each further one doubles the wait
    lockout_s: int = 30
    idle_exit_s: int = 180  # service mode leaves by itself after this long untouched
    receipt_roll_m: float = 50.0  # length of a full receipt roll
    a4_tray_sheets: int = 250
    paper_warn_days: float = 3.0  # warn the platform when paper lasts fewer days than this
    technician_qr_key: str = ""  # base64 Ed25519 public key of the platform's technician codes; empty: off


@dataclass(frozen=True)
class VoiceSection:
    """Spoken prompts (kiosk/voice.py): which text-to-speech engine, how fast."""
    engine: str = "espeak-ng"  # a name in kiosk.voice.ENGINES: "espeak-ng", or "none" for silence
    rate: int = 140  # words per minute (espeak-ng's own default is 175; older listeners like it slower)


@dataclass(frozen=True)
class Config:
    kiosk: KioskSection = field(default_factory=KioskSection)
    platform: PlatformSection = field(default_factory=PlatformSection)
    screen: ScreenSection = field(default_factory=ScreenSection)
    session: SessionSection = field(default_factory=SessionSection)
    paths: PathsSection = field(default_factory=PathsSection)
    devices: DevicesSection = field(default_factory=DevicesSection)
    outbox: OutboxSection = field(default_factory=OutboxSection)
    policy: PolicySection = field(default_factory=PolicySection)
    fleet: FleetSection = field(default_factory=FleetSection)
    service: ServiceSection = field(default_factory=ServiceSection)
    voice: VoiceSection = field(default_factory=VoiceSection)
    sources: tuple[str, ...] = (BUILT_IN,)

    @property
    def demo(self) -> bool:
        """No platform configured: run the embedded reference backend with its seeded data."""
        return not self.platform.base_url


SECTIONS = {f.name: f.type for f in fields(Config) if f.name != "sources"}

_KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DEVICE_SCHEMES = {
    "idcard": {"sim", "serial", "socket", "loop", "spy", "rfc2217", ""},
    "qr": {"sim", "camera", "serial", "hid", "socket", "loop", "spy", "rfc2217", "file"},
    "camera": {"sim", "v4l2", "file"},
    "receipt_printer": {"sim", "serial", "usb", "tcp", "file", "socket", "loop", "spy", "rfc2217"},
    "document_printer": {"sim", "cups"},
}


def _fail(file: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"{shown_path(file)}: {shown_path(key, 80)}: {message}")


def _coerce(file: str, key: str, expected: Any, value: Any) -> Any:
    """Check one value's type; TOML gives us ints, floats, bools, strings and arrays."""
    name = getattr(expected, "__name__", str(expected))
    if expected in ("bool", bool):
        if not isinstance(value, bool):
            raise _fail(file, key, f"must be true or false, got {brief(value)}")
        return value
    if expected in ("int", int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(file, key, f"must be a whole number, got {brief(value)}")
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise _fail(file, key, f"is out of range, got {brief(value)}")
        return value
    if expected in ("float", float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(file, key, f"must be a number, got {brief(value)}")
        if isinstance(value, int) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise _fail(file, key, f"is out of range, got {brief(value)}")
        return float(value)
    if expected in ("str", str):
        return _check_string(file, key, value)
    if expected in ("Path", Path):
        if not isinstance(value, str) or not value:
            raise _fail(file, key, f"must be a path string, got {brief(value)}")
        _check_string(file, key, value)
        try:
            path = Path(value).expanduser()
        except RuntimeError:  # "~someone/…" for a user this machine does not have
            raise _fail(file, key, f"names the home folder of an unknown user, got {brief(value)}") from None
        if not path.is_absolute():
            raise _fail(file, key, f"must be an absolute path, got {brief(value)}")
        return path
    if str(expected).startswith("tuple"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(file, key, f"must be a list of strings, got {brief(value)}")
        if len(value) > 100:
            raise _fail(file, key, f"must have at most 100 entries, got {len(value)}")
        return tuple(_check_string(file, key, v) for v in value)
    raise _fail(file, key, f"unsupported type {name}")  # pragma: no cover - schema bug


def _check_string(file: str, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(file, key, f"must be a string, got {brief(value)}")
    if len(value) > MAX_STRING_CHARS:
        raise _fail(file, key, f"must be at most {MAX_STRING_CHARS} characters, got {len(value)}")
    if _CONTROL.search(value):
        raise _fail(file, key, f"must not contain control characters (NUL, newline, tab…), got {brief(value)}")
    return value


def _merge(base: Config, doc: dict[str, Any], file: str) -> Config:
    if not isinstance(doc, dict):
        raise _fail(file, "(document)", "must be a TOML table")
    sections = {}
    for section_name, section in doc.items():
        if section_name not in SECTIONS:
            raise _fail(file, section_name, f"unknown section (known: {', '.join(SECTIONS)})")
        if not isinstance(section, dict):
            raise _fail(file, section_name, "must be a table, e.g. [" + shown_path(section_name, 40) + "]")
        current = getattr(base, section_name)
        known = {f.name: f.type for f in fields(current)}
        values = {f.name: getattr(current, f.name) for f in fields(current)}
        for key, value in section.items():
            dotted = f"{section_name}.{key}"
            if key not in known:
                raise _fail(file, dotted, f"unknown key (known: {', '.join(known)})")
            values[key] = _coerce(file, dotted, known[key], value)
        sections[section_name] = type(current)(**values)
    merged = {f.name: sections.get(f.name, getattr(base, f.name)) for f in fields(Config) if f.name != "sources"}
    return Config(**merged, sources=base.sources + (file,))


def _check_url(file: str, key: str, url: str, schemes: set[str]) -> None:
    if not url:
        raise _fail(file, key, "must not be empty (use sim:// for a simulated device)")
    if _CONTROL.search(url) or " " in url:
        raise _fail(file, key, f"must not contain spaces or control characters, got {brief(url)}")
    if url.startswith("/dev/"):
        return  # a bare serial device path, as pyserial takes it
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise _fail(file, key, f"is not a valid URL ({exc}), got {brief(url)}") from None
    if parts.scheme not in schemes:
        raise _fail(file, key, f"unsupported URL {brief(url)} (schemes: {', '.join(sorted(s for s in schemes if s))}://)")


def _known_zone(name: str) -> bool:
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(name)
    except Exception:
        return False
    return True


def validate(cfg: Config, file: str) -> Config:
    """Cross-field and range checks; ``file`` is the last layer, named in messages."""
    k, p, s, se = cfg.kiosk, cfg.platform, cfg.screen, cfg.session
    if not _KIOSK_ID.match(k.id):
        raise _fail(file, "kiosk.id", f"must be 1-64 letters, digits, '.', '_' or '-', got {brief(k.id)}")
    if not k.centre_name.strip():
        raise _fail(file, "kiosk.centre_name", "must not be empty")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}|", k.place_code):
        raise _fail(file, "kiosk.place_code", f"must be a place code like demo-town-24h, or empty, got {brief(k.place_code)}")
    if not re.fullmatch(r"[0-9-]{3,20}", k.hotline):
        raise _fail(file, "kiosk.hotline", f"must be a phone number, got {brief(k.hotline)}")
    if k.centre_phone and not re.fullmatch(r"[0-9-]{3,20}", k.centre_phone):
        raise _fail(file, "kiosk.centre_phone", f"must be a phone number or empty, got {brief(k.centre_phone)}")
    if not re.fullmatch(r"(?!00)\d\d(?!00)\d\d(?!00)\d\d000000", k.division_code):
        raise _fail(file, "kiosk.division_code", f"must be a county's 12-digit code such as 450329000000, got {brief(k.division_code)}")
    if not _known_zone(k.time_zone):
        raise _fail(file, "kiosk.time_zone", f"must be a time zone name such as Asia/Shanghai, got {brief(k.time_zone)}")
    if not k.languages or any(lang not in ("zh", "en") for lang in k.languages):
        raise _fail(file, "kiosk.languages", f"must be a non-empty list of 'zh' and 'en', got {brief(list(k.languages))}")
    if k.default_language not in k.languages:
        raise _fail(file, "kiosk.default_language", f"must be one of kiosk.languages, got {brief(k.default_language)}")
    if p.base_url:
        try:
            parts = urlsplit(p.base_url)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            raise _fail(file, "platform.base_url", f"must be an http(s) URL, got {brief(p.base_url)}") from None
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in p.base_url:
            raise _fail(file, "platform.base_url", f"must be an http(s) URL, got {brief(p.base_url)}")
        if not p.token:
            raise _fail(file, "platform.token", "must be set when platform.base_url is set")
    if not 0 <= k.number <= 9999 or (k.number == 0 and not cfg.demo):
        raise _fail(file, "kiosk.number", "must be a whole number from 1 to 9999, unique among the platform's kiosks"
                    f"{' (required when platform.base_url is set)' if k.number == 0 else f', got {k.number}'}")
    if not 0.5 <= p.timeout_s <= 120:
        raise _fail(file, "platform.timeout_s", f"must be between 0.5 and 120 seconds, got {p.timeout_s}")
    if not 60 <= p.catalogue_refresh_s <= 7 * 86400:
        raise _fail(file, "platform.catalogue_refresh_s", f"must be between 60 and 604800, got {p.catalogue_refresh_s}")
    if s.orientation not in ("portrait", "landscape"):
        raise _fail(file, "screen.orientation", f"must be 'portrait' or 'landscape', got {brief(s.orientation)}")
    for key, value in (("screen.width", s.width), ("screen.height", s.height)):
        if not 320 <= value <= 7680:
            raise _fail(file, key, f"must be between 320 and 7680 pixels, got {value}")
    if (s.orientation == "portrait") != (s.height >= s.width):
        raise _fail(file, "screen.orientation",
                    f"{brief(s.orientation)} does not match screen size {s.width}x{s.height}")
    if not 15 <= se.idle_timeout_s <= 3600:
        raise _fail(file, "session.idle_timeout_s", f"must be between 15 and 3600 seconds, got {se.idle_timeout_s}")
    if not 5 <= se.warning_s < se.idle_timeout_s:
        raise _fail(file, "session.warning_s",
                    f"must be at least 5 and less than session.idle_timeout_s, got {se.warning_s}")
    if not 1.0 <= se.elderly_factor <= 5.0:
        raise _fail(file, "session.elderly_factor", f"must be between 1 and 5, got {se.elderly_factor}")
    for name, schemes in _DEVICE_SCHEMES.items():
        _check_url(file, f"devices.{name}", getattr(cfg.devices, name), schemes)
    if cfg.devices.receipt_printer_encoding not in ("gb18030", "gbk", "utf-8"):
        raise _fail(file, "devices.receipt_printer_encoding",
                    f"must be 'gb18030', 'gbk' or 'utf-8', got {brief(cfg.devices.receipt_printer_encoding)}")
    if cfg.devices.receipt_printer_paper_mm not in (58, 80):
        raise _fail(file, "devices.receipt_printer_paper_mm", f"must be 58 or 80, got {cfg.devices.receipt_printer_paper_mm}")
    if not 1 <= cfg.outbox.quota_mb <= 1_000_000:
        raise _fail(file, "outbox.quota_mb", f"must be between 1 and 1000000, got {cfg.outbox.quota_mb}")
    if not 0 <= cfg.outbox.retention_days <= 365:
        raise _fail(file, "outbox.retention_days", f"must be between 0 and 365, got {cfg.outbox.retention_days}")
    if not 1 <= cfg.outbox.concurrency <= 32:
        raise _fail(file, "outbox.concurrency", f"must be between 1 and 32, got {cfg.outbox.concurrency}")
    _validate_policy_and_fleet(cfg, file)
    _validate_service(cfg, file)
    _validate_voice(cfg, file)
    return cfg


def _validate_service(cfg: Config, file: str) -> None:
    sv = cfg.service
    for entry in sv.technicians:
        name, sep, hashed = entry.partition("=")
        if not sep or not name.strip() or not re.fullmatch(r"(scrypt|pbkdf2_sha256)\$[^$]+(\$[^$]+){3,4}", hashed):
            raise _fail(file, "service.technicians", "entries must be NAME=HASH from `kiosk service hash-pin`")
    if sv.technician_qr_key and not re.fullmatch(r"[A-Za-z0-9+/]{43}=", sv.technician_qr_key):
        raise _fail(file, "service.technician_qr_key", "must be a base64 Ed25519 public key (44 characters)")
    for key, value, low, high in (("max_tries", sv.max_tries, 1, 20), ("lockout_s", sv.lockout_s, 1, 3600),
                                  ("idle_exit_s", sv.idle_exit_s, 30, 3600),
                                  ("receipt_roll_m", sv.receipt_roll_m, 1, 500),
                                  ("a4_tray_sheets", sv.a4_tray_sheets, 1, 10000),
                                  ("paper_warn_days", sv.paper_warn_days, 0, 60)):
        if not low <= value <= high:
            raise _fail(file, f"service.{key}", f"must be between {low} and {high}, got {value}")


def _validate_voice(cfg: Config, file: str) -> None:
    from kiosk.voice import ENGINES

    if cfg.voice.engine not in ENGINES:
        raise _fail(file, "voice.engine", f"must be one of {', '.join(map(repr, ENGINES))}, got {brief(cfg.voice.engine)}")
    if not 80 <= cfg.voice.rate <= 300:
        raise _fail(file, "voice.rate", f"must be between 80 and 300 words per minute, got {cfg.voice.rate}")


_QUIET_HOURS = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$")
_SERVICE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_TOWN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def _validate_policy_and_fleet(cfg: Config, file: str) -> None:
    po, fl = cfg.policy, cfg.fleet
    for key in po.enabled_services:
        if not _SERVICE_KEY.match(key):
            raise _fail(file, "policy.enabled_services", f"service keys are lower-case words, got {brief(key)}")
    if po.quiet_hours and not _QUIET_HOURS.match(po.quiet_hours):
        raise _fail(file, "policy.quiet_hours", f"must be 'HH:MM-HH:MM' or empty, got {brief(po.quiet_hours)}")
    if fl.repository_url:
        parts = urlsplit(fl.repository_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _fail(file, "fleet.repository_url", f"must be an http(s) URL, got {brief(fl.repository_url)}")
        if not fl.trusted_root or not Path(fl.trusted_root).is_absolute():
            raise _fail(file, "fleet.trusted_root", "must be the absolute path of the fleet's root.json")
    if fl.mqtt_url:
        parts = urlsplit(fl.mqtt_url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise _fail(file, "fleet.mqtt_url", f"must be mqtt://host:port, got {brief(fl.mqtt_url)}")
    if fl.town and not _TOWN.match(fl.town):
        raise _fail(file, "fleet.town", f"must be a lower-case name like 'pingan', got {brief(fl.town)}")
    if not 5 <= fl.poll_interval_s <= 86400:
        raise _fail(file, "fleet.poll_interval_s", f"must be between 5 and 86400 seconds, got {fl.poll_interval_s}")
    if not 5 <= fl.health_window_s <= 3600:
        raise _fail(file, "fleet.health_window_s", f"must be between 5 and 3600 seconds, got {fl.health_window_s}")


def read_bounded(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refusing special files and anything over ``limit`` bytes.

    The size is checked before reading and again while reading (a file in /proc says 0 and is not),
    so at most ``limit`` + 1 bytes are ever held. Errors are ``UsageError`` lines naming the file.
    """
    name = shown_path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # NONBLOCK: a pipe must not wait
    except ValueError:
        raise UsageError(f"{name}: the file name contains a NUL byte") from None
    except FileNotFoundError:
        raise UsageError(f"{name}: file not found") from None
    except PermissionError:
        raise UsageError(f"{name}: permission denied") from None
    except IsADirectoryError:
        raise UsageError(f"{name}: is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"{name}: cannot open: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"{name}: is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{name}: not a regular file (a device, pipe or socket)")
        if info.st_size > limit:
            raise UsageError(f"{name}: larger than {_size(limit)} ({_size(info.st_size)})")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise UsageError(f"{name}: larger than {_size(limit)}")
        return b"".join(chunks)
    except OSError as exc:
        raise UsageError(f"{name}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.0f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.0f} MiB"


def read_toml(path: str | os.PathLike, limit: int = MAX_CONFIG_BYTES) -> dict[str, Any]:
    """Parse a TOML file of at most ``limit`` bytes; every failure is one ``ConfigError`` line."""
    try:
        data = read_bounded(path, limit)
    except UsageError as exc:
        raise ConfigError(str(exc)) from None
    name = shown_path(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: not valid UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML: {shown_path(exc, 120)}") from None
    except RecursionError:
        raise ConfigError(f"{name}: not valid TOML: nested too deeply") from None
    except ValueError:  # an integer of more digits than the interpreter converts
        raise ConfigError(f"{name}: not valid TOML: a number has too many digits") from None


def load_config(path: str | os.PathLike | None = None, fleet_doc: dict[str, Any] | None = None,
                fleet_name: str = "<fleet document>") -> Config:
    """Load defaults, then the site file (``path``, or /etc/kiosk/kiosk.toml when it exists), then a fleet document.

    An explicitly named file must exist; the default one is optional (no file → demo profile).
    """
    cfg = validate(Config(), BUILT_IN)
    site = Path(path) if path is not None else (DEFAULT_SITE_FILE if DEFAULT_SITE_FILE.exists() else None)
    if site is not None:
        cfg = validate(_merge(cfg, read_toml(site), str(site)), str(site))
    if fleet_doc is not None:
        cfg = validate(_merge(cfg, fleet_doc, fleet_name), fleet_name)
    if cfg.demo and cfg.kiosk.number == 0:
        cfg = replace(cfg, kiosk=replace(cfg.kiosk, number=DEMO_KIOSK_NUMBER))
    if cfg.demo and not cfg.service.technicians:
        cfg = replace(cfg, service=replace(cfg.service, technicians=(DEMO_TECHNICIAN,)))
    return cfg


def as_dict(cfg: Any) -> Any:
    """Plain data for ``kiosk config show --json``."""
    if is_dataclass(cfg):
        return {f.name: as_dict(getattr(cfg, f.name)) for f in fields(cfg)}
    if isinstance(cfg, tuple):
        return [as_dict(v) for v in cfg]
    if isinstance(cfg, Path):
        return str(cfg)
    return cfg
