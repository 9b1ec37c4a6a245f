"""What kiosks and the platform say to each other outside TUF: MQTT topics and heartbeat fields.

MQTT (the broker is a convenience; kiosks also poll, so nothing depends on it):

* ``kiosk/fleet/notice/<scope>`` — retained, from the platform: ``{"revision": N}``. Only a number:
  a kiosk that sees a revision newer than its own refreshes through TUF. Scopes are ``county``,
  ``town/<town>`` and ``kiosk/<id>``.
* ``kiosk/fleet/presence/<kiosk id>`` — retained, from the kiosk: ``online``; its MQTT last will
  says ``offline``.
* ``kiosk/fleet/command/<kiosk id>`` — from the platform: ``{"command": "refresh"}`` or
  ``{"command": "diagnostics"}``. Nothing else is obeyed; configuration travels only through TUF.
"""
from __future__ import annotations

from urllib.parse import urlsplit

NOTICE_PREFIX = "kiosk/fleet/notice/"
PRESENCE_PREFIX = "kiosk/fleet/presence/"
COMMAND_PREFIX = "kiosk/fleet/command/"
COMMANDS = ("refresh", "diagnostics")


def notice_topic(scope: str) -> str:
    return NOTICE_PREFIX + scope


def presence_topic(kiosk_id: str) -> str:
    return PRESENCE_PREFIX + kiosk_id


def command_topic(kiosk_id: str) -> str:
    return COMMAND_PREFIX + kiosk_id


def broker_address(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` → (host, port); port 1883 when not given."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"not an mqtt:// URL: {url!r}")
    return parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883)
