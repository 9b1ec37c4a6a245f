"""Printer profiles are data: head width, columns, encoding, QR mode, cutter (profiles.json).

A printer URL names a profile and may override single settings
(``tcp://10.0.0.5:9100?profile=58mm&encoding=gbk&qr=raster``), so a fleet configuration carries
strings, not code. The file is read on first use, never at import.
"""
from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from importlib import resources

from devices.receipt_printer.text import ENCODINGS, FONT_CHARSETS

DEFAULT_PROFILE = "80mm"
QR_MODES = ("native", "raster")


class ProfileError(ValueError):
    """A profile name or setting is wrong; the message names it."""


@dataclass(frozen=True)
class PrinterProfile:
    name: str
    description: str
    paper_mm: int
    dots: int  # print head width in dots (576 for 80 mm, 384 for 58 mm)
    columns: int  # font A (12 x 24) characters per line
    dpi: int
    encoding: str  # Chinese-mode bytes: gb18030, gbk or utf-8
    font_charset: str  # what the printer's font holds: gbk or gb18030
    qr: str  # native (GS ( k) or raster (GS v 0)
    qr_module: int  # QR module size in dots
    cutter: bool
    partial_cut: bool

    def with_overrides(self, **settings: str) -> "PrinterProfile":
        """A copy with settings from a URL query (strings) applied and checked."""
        changes: dict = {}
        for key, value in settings.items():
            if key == "encoding":
                changes["encoding"] = _choice(key, value.lower(), ENCODINGS)
            elif key == "font":
                changes["font_charset"] = _choice(key, value.lower(), FONT_CHARSETS)
            elif key == "qr":
                changes["qr"] = _choice(key, value.lower(), QR_MODES)
            elif key == "qr_module":
                changes["qr_module"] = _int_in(key, value, 1, 16)
            elif key == "cutter":
                changes["cutter"] = _bool(key, value)
            else:
                raise ProfileError(f"unknown printer setting {key!r}")
        return dataclasses.replace(self, **changes)


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ProfileError(f"printer setting {key}={value!r}: use one of {', '.join(allowed)}")
    return value


def _int_in(key: str, value, low: int, high: int) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ProfileError(f"printer setting {key}={value!r}: not a whole number") from None
    if not low <= n <= high:
        raise ProfileError(f"printer setting {key}={n}: must be {low}..{high}")
    return n


def _bool(key: str, value) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("1", "true", "yes", "on"):
        return True
    if str(value).lower() in ("0", "false", "no", "off"):
        return False
    raise ProfileError(f"printer setting {key}={value!r}: use true or false")


_FIELDS = {f.name for f in dataclasses.fields(PrinterProfile)} - {"name"}


def _from_data(name: str, data: dict) -> PrinterProfile:
    unknown = set(data) - _FIELDS
    missing = _FIELDS - set(data)
    if unknown or missing:
        raise ProfileError(f"printer profile {name!r}: unknown keys {sorted(unknown)}, missing {sorted(missing)}")
    profile = PrinterProfile(name=name, **data)
    _int_in(f"{name}.dots", profile.dots, 128, 832)
    if profile.dots % 8:
        raise ProfileError(f"printer profile {name!r}: dots must be a multiple of 8")
    if profile.columns * 12 > profile.dots:
        raise ProfileError(f"printer profile {name!r}: {profile.columns} columns do not fit {profile.dots} dots")
    _choice(f"{name}.encoding", profile.encoding, ENCODINGS)
    _choice(f"{name}.font_charset", profile.font_charset, FONT_CHARSETS)
    _choice(f"{name}.qr", profile.qr, QR_MODES)
    _int_in(f"{name}.qr_module", profile.qr_module, 1, 16)
    return profile


@functools.cache
def all_profiles() -> dict[str, PrinterProfile]:
    text = resources.files("devices.receipt_printer").joinpath("profiles.json").read_text(encoding="utf-8")
    return {name: _from_data(name, data) for name, data in json.loads(text).items()}


def get_profile(name: str | None = None) -> PrinterProfile:
    profiles = all_profiles()
    name = name or DEFAULT_PROFILE
    if name not in profiles:
        raise ProfileError(f"unknown printer profile {name!r} (known: {', '.join(profiles)})")
    return profiles[name]
