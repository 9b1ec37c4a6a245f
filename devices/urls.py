"""Device URLs: what every driver's URL parser shares, and the one error they raise.

A device is configured by one string, ``scheme://where?option=value``. Each driver's ``urls``
module says which schemes and options it takes; the splitting, the option checks and the error
(:class:`DeviceUrlError`, one line that says what is wrong) are here. Nothing here opens a device.

pyserial has URL handlers of its own (``socket://``, ``loop://``, ``spy://``, ``rfc2217://``…);
:data:`PYSERIAL_SCHEMES` lists them, and :func:`pyserial_url` passes such a URL on without the
options that are the kiosk's.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable, TypeVar
from urllib.parse import SplitResult, parse_qsl, urlsplit

PYSERIAL_SCHEMES = ("socket", "loop", "spy", "rfc2217", "alt", "hwgrep", "cp2110")
MAX_URL_LENGTH = 4096

T = TypeVar("T", int, float)


class DeviceUrlError(ValueError):
    """The URL cannot name the device (bad usage, not a device failure); the message is one line."""


def split(url: object, what: str) -> tuple[str, SplitResult]:
    """The URL stripped and split; refuses an empty, overlong or control-character URL.

    ``what`` names the device in the message ("reader", "scanner", ...).
    """
    if not isinstance(url, str) or not url.strip():
        raise DeviceUrlError(f"no {what} URL given (the URL is empty)")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise DeviceUrlError(f"the {what} URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise DeviceUrlError(f"the {what} URL contains a control character")
    return url, urlsplit(url)


def query_options(parts: SplitResult, url: str, allowed: Iterable[str] | None = None, *,
            twice: str = "last", word: str = "option") -> dict[str, str]:
    """The query as ``{key: value}``. A malformed query, a key not in ``allowed`` and (with
    ``twice="error"``) a key given twice are refused; otherwise the last value of a key wins."""
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise DeviceUrlError(f"malformed query in {url!r}") from None
    found: dict[str, str] = {}
    known = None if allowed is None else tuple(allowed)
    for key, value in pairs:
        if known is not None and key not in known:
            raise DeviceUrlError(f"unknown {word} {key!r} in {url!r} (known: {', '.join(sorted(known))})")
        if twice == "error" and key in found:
            raise DeviceUrlError(f"{word} {key!r} given twice in {url!r}")
        found[key] = value
    return found


def number(params: dict[str, str], key: str, kind: Callable[[str], T], low: T, high: T,
           default: T | None, url: str = "") -> T | None:
    """``params[key]`` as a number in ``low..high``; ``default`` when the key is absent."""
    raw = params.get(key)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise DeviceUrlError(f"option {key}={raw!r} is not a number" + (f" in {url!r}" if url else "")) from None
    if isinstance(value, float) and not math.isfinite(value) or not low <= value <= high:
        raise DeviceUrlError(f"option {key}={raw} is out of range {low}..{high}" + (f" in {url!r}" if url else ""))
    return value


def flag(params: dict[str, str], key: str, default: bool = False) -> bool:
    """A yes/no option: empty, 1, true, yes, on, or 0, false, no, off."""
    raw = params.get(key)
    if raw is None:
        return default
    if raw.lower() in ("", "1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise DeviceUrlError(f"option {key}={raw!r} must be 1 or 0 (true or false)")


def choice(params: dict[str, str], key: str, choices: Iterable[str], default: str) -> str:
    """One of ``choices`` (case-insensitive)."""
    raw = params.get(key)
    if raw is None:
        return default
    raw = raw.lower()
    choices = tuple(choices)
    if raw not in choices:
        raise DeviceUrlError(f"option {key}={raw!r} must be one of {', '.join(choices)}")
    return raw


def pyserial_url(url: str, parts: SplitResult, ours: Iterable[str]) -> str:
    """A pyserial URL without the query keys in ``ours`` (the kiosk's options), the rest untouched."""
    base = url.partition("?")[0]  # not urlunsplit: it turns "loop://" into "loop:"
    own = set(ours)
    kept = [item for item in parts.query.split("&") if item and item.partition("=")[0] not in own]
    return base + ("?" + "&".join(kept) if kept else "")
