"""``sim://`` as a pyserial protocol handler, so drivers open a simulator like any serial port.

pyserial's ``serial_for_url`` finds the class for ``scheme://`` in a module ``protocol_SCHEME`` of
a package listed in ``serial.protocol_handler_packages``; :func:`install` adds this package, whose
``protocol_sim`` answers ``sim://``. A driver's URL parser turns the ``sim://?options`` of the
configuration into ``sim://KIND-N?options`` (:func:`sim_url`): KIND says which device's
simulator (:data:`KINDS`), N gives each driver a simulator of its own. The driver then opens its
port with ``serial_for_url`` whatever the URL: it has no simulator branch.

:func:`simulator` is the one simulator behind such a URL (for the demo's hotkeys and for tests),
made on first use and kept while a driver or an open port holds it; :func:`release` closes it.
"""
from __future__ import annotations

import importlib
import itertools
import threading
import weakref
from typing import Any
from urllib.parse import urlsplit

PACKAGE = __name__
KINDS = {"idcard": "devices.idcard.sim_links:SimulatedPort", "qr": "devices.qr.simulator:SimulatedPort"}  # KIND -> the port class for sim://KIND-N

_live: "weakref.WeakValueDictionary[str, Any]" = weakref.WeakValueDictionary()
_lock = threading.Lock()
_numbers = itertools.count(1)


def install() -> None:
    """Let pyserial find ``sim://`` (idempotent)."""
    import serial

    if PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(PACKAGE)


def sim_url(kind: str, query: str = "") -> str:
    """A new ``sim://KIND-N?query`` for one driver's simulator."""
    if kind not in KINDS:
        raise ValueError(f"no simulator for {kind!r}")
    return f"sim://{kind}-{next(_numbers)}" + (f"?{query}" if query else "")


def port_class(url: str) -> type:
    """The pyserial class that serves ``sim://KIND-N`` (ValueError, as pyserial reports bad URLs)."""
    kind = urlsplit(url).netloc.rpartition("-")[0]
    if kind not in KINDS:
        raise ValueError(f"{url}: no simulator for {kind or 'this URL'!r} (known: {', '.join(sorted(KINDS))})")
    module, _, name = KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def release(url: str) -> None:
    """Close the simulator behind ``url`` (its threads and sockets), if there is one."""
    with _lock:
        found = _live.pop(url, None)
    close = getattr(found, "close", None)
    if close is not None:
        close()


def simulator(url: str) -> Any:
    """The simulator behind a ``sim://KIND-N`` URL; None for any other URL."""
    if not url.lower().startswith("sim://"):
        return None
    with _lock:
        found = _live.get(url)
        if found is None:
            found = port_class(url).make_simulator(url)
            _live[url] = found
        return found
