"""Document printer URLs: which CUPS queue (and which CUPS server), or the in-process simulator.

=============================================  ======================================================
``cups://QUEUE``                               a queue on the default CUPS server (``CUPS_SERVER``
                                               in the environment, else the local one)
``cups://QUEUE?server=127.0.0.1:8631``         a queue on that server (``HOST:PORT``, or the path
``cups://QUEUE?server=/run/cups/cups.sock``    of its domain socket)
``sim://?paper=50&out=DIR``                    the in-process simulator: sheets in the tray, and a
                                               folder to keep every printed PDF in
=============================================  ======================================================

Every URL may carry ``timeout=SECONDS`` (how long a job may take before it is cancelled) and
``poll=SECONDS`` (how often a running job is asked about).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import unquote

from devices.urls import DeviceUrlError, query_options, split

COMMON_KEYS = ("timeout", "poll")
SIM_KEYS = ("paper", "out")


@dataclass(frozen=True)
class DocPrinterUrl:
    kind: str  # "cups" or "sim"
    queue: str  # the CUPS queue name ("" for sim)
    server: str | None = None  # "HOST:PORT" or a socket path; None: libcups' default
    job_timeout: float = 120.0
    job_poll_interval: float = 0.25  # how often a running job is asked about
    options: dict = field(default_factory=dict)  # simulator settings
    text: str = ""

    @property
    def display(self) -> str:
        """The URL without the server part: what goes into the print ledger and the logs."""
        return f"cups://{self.queue}" if self.kind == "cups" else "sim://"


def _positive(name: str, value: str, url: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise DeviceUrlError(f"{name} must be a positive number of seconds in {url!r}")
    return number


def parse_docprinter_url(url: str) -> DocPrinterUrl:
    url, parts = split(url, "document printer")
    scheme = parts.scheme.lower()
    if scheme not in ("cups", "sim"):
        raise DeviceUrlError(f"unsupported document printer URL {url!r} (use cups://QUEUE or sim://)")
    query = query_options(parts, url, COMMON_KEYS + (("server",) if scheme == "cups" else SIM_KEYS), word="setting")
    timing = {}
    if "timeout" in query:
        timing["job_timeout"] = _positive("timeout", query["timeout"], url)
    if "poll" in query:
        timing["job_poll_interval"] = _positive("poll", query["poll"], url)
    if scheme == "sim":
        options: dict = {}
        if "paper" in query:
            if not query["paper"].isdigit():
                raise DeviceUrlError(f"paper must be a whole number of sheets in {url!r}")
            options["paper"] = int(query["paper"])
        if query.get("out"):
            options["out"] = query["out"]
        return DocPrinterUrl("sim", "", options=options, text=url, **timing)
    queue = unquote(parts.netloc + parts.path).strip("/")
    if not queue:
        raise DeviceUrlError(f"no queue name in {url!r} (cups://QUEUE_NAME)")
    # CUPS queue names: printable, no space, slash or '#' (lpadmin refuses them too)
    if len(queue) > 127 or any(c in queue for c in " /#\t\\") or not queue.isprintable():
        raise DeviceUrlError(f"{queue!r} is not a CUPS queue name")
    server = query.get("server") or None
    if server is not None and not server.startswith("/"):
        host, sep, port = server.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise DeviceUrlError(f"server must be HOST:PORT or a socket path, not {server!r}")
    return DocPrinterUrl("cups", queue, server=server, text=url, **timing)
