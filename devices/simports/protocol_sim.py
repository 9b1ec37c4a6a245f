"""pyserial's handler for ``sim://`` URLs (found through ``serial.protocol_handler_packages``)."""
from __future__ import annotations

from devices.simports import port_class


def serial_class_for_url(url: str) -> tuple[str, type]:
    """What ``serial_for_url`` asks a handler: the URL to open and the class that opens it."""
    return url, port_class(url)
