"""A serial QR scanner as a real peer: it sends each code as the scanner's own bytes (optional AIM
identifier, the text in UTF-8 or GB18030, the configured suffix) over a TCP socket or a pty, so the
production driver reads it through ``socket://HOST:PORT`` or the pty's path, unchanged.

It misbehaves on request, as cheap scanners and long cables do: ``chunked`` (a code in small pieces
with pauses shorter than the inter-character gap), ``slow`` (byte by byte at low-baud pacing),
``noisy`` (bursts of line noise before a code, sometimes ended by a stray CR).
Scans made while no host is connected wait for one, like a scanner in batch mode.
"""
from __future__ import annotations

import logging
import os
import queue
import random
import socket
import threading
import time
import tty
from dataclasses import dataclass

from devices.qr.framing import aim_prefix

log = logging.getLogger(__name__)

TERMINATOR_BYTES = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "none": b""}
SLOW_BYTE_DELAY = 0.004  # about 2400 baud
# A host flushes its input right after opening the port (pyserial's open() does, for socket:// too);
# a code sent in that instant would be thrown away, so a new connection gets a moment first.
HOST_SETTLE = 0.2


@dataclass
class Misbehaviour:
    terminator: str = "cr"
    encoding: str = "utf-8"
    aim: bool = False
    chunked: bool = False
    slow: bool = False
    noisy: bool = False


class ScannerSimulator:
    def __init__(self, gap: float = 0.15, seed: int | None = None, **misbehaviour):
        self.gap = gap
        self.behaviour = Misbehaviour(**misbehaviour)
        self._check(self.behaviour)
        self._rng = random.Random(seed)
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._clients: list[socket.socket] = []
        self._client_since = 0.0
        self._client_joined = threading.Condition(self._lock)
        self._listener: socket.socket | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.address: tuple[str, int] | None = None
        self.pty_path: str | None = None
        self.sent = 0

    # -- set-up ------------------------------------------------------------------------------
    @staticmethod
    def _check(b: Misbehaviour) -> None:
        if b.terminator not in TERMINATOR_BYTES:
            raise ValueError(f"terminator must be one of {', '.join(TERMINATOR_BYTES)}")
        if b.encoding not in ("utf-8", "gb18030"):
            raise ValueError("encoding must be utf-8 or gb18030")

    def configure(self, **misbehaviour) -> None:
        """Change terminator, encoding or misbehaviour for the following scans."""
        behaviour = Misbehaviour(**{**self.behaviour.__dict__, **misbehaviour})
        self._check(behaviour)
        self.behaviour = behaviour

    def listen(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, port))
        except OSError:
            listener.close()
            raise
        listener.listen(4)
        listener.settimeout(0.2)
        self._listener = listener
        self.address = listener.getsockname()[:2]
        self._spawn(self._accept_loop, "qr-sim-accept")
        self._spawn(self._send_loop, "qr-sim-send")
        return self.address

    def open_pty(self) -> str:
        """A pty pair; the driver opens the returned path as its serial port."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no CR→LF translation, no echo: the line is a wire
        self._master, self._slave = master, slave
        self.pty_path = os.ttyname(slave)
        self._spawn(self._send_loop, "qr-sim-send")
        return self.pty_path

    def _spawn(self, target, name) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- control (tests, demo hotkey, CLI) ---------------------------------------------------
    def scan(self, text: str, symbology: str = "QRCode", wait: bool = False, timeout: float = 10.0) -> bool:
        """Send ``text`` as a scanned code; with ``wait``, return once its last byte went out."""
        done = threading.Event()
        self._queue.put((text, symbology, done))
        return done.wait(timeout) if wait else True

    def repeat(self, codes: tuple[str, ...], every: float | None) -> None:
        """Scan ``codes`` once, or again every ``every`` seconds, until closed."""
        def feed() -> None:
            while not self._stop.is_set():
                for text in codes:
                    self.scan(text)
                if every is None or self._stop.wait(every):
                    return

        self._spawn(feed, "qr-sim-codes")

    def send_raw(self, data: bytes, wait: bool = True, timeout: float = 10.0) -> bool:
        """Put arbitrary bytes on the line (for tests of the driver's framing)."""
        done = threading.Event()
        self._queue.put((data, None, done))
        return done.wait(timeout) if wait else True

    def wait_for_client(self, timeout: float = 5.0) -> bool:
        if self._master is not None:
            return True
        with self._lock:
            self._client_joined.wait_for(lambda: bool(self._clients) or self._stop.is_set(), timeout)
            return bool(self._clients)

    def drop_clients(self) -> None:
        """Unplug: close every host connection (the listener stays, so the host can reconnect)."""
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            _close_quietly(client)

    def close(self) -> None:
        self._stop.set()
        self._queue.put(None)
        with self._lock:
            self._client_joined.notify_all()
        if self._listener is not None:
            _close_quietly(self._listener)
        self.drop_clients()
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the wire ----------------------------------------------------------------------------
    def wire_bytes(self, text: str, symbology: str = "QRCode") -> bytes:
        """The bytes one scan puts on the line, without noise or pacing."""
        b = self.behaviour
        prefix = aim_prefix(symbology).encode("ascii") if b.aim else b""
        return prefix + text.encode(b.encoding) + TERMINATOR_BYTES[b.terminator]

    def _plan(self, payload: bytes) -> list[tuple[bytes, float]]:
        """(bytes, pause after) pieces for one scan, misbehaving as configured."""
        b, rng, plan = self.behaviour, self._rng, []
        if b.noisy:
            noise = bytes(rng.choice([0x00, 0xFF]) if i == 0 else rng.choice(
                [x for x in range(256) if x not in (0x0D, 0x0A)]) for i in range(rng.randint(3, 12)))
            rng_cr = rng.random() < 0.5
            plan.append((noise + (b"\r" if rng_cr else b""), self.gap * 2.5))
        if b.slow:
            plan += [(payload[i:i + 1], SLOW_BYTE_DELAY) for i in range(len(payload))]
        elif b.chunked:
            i = 0
            while i < len(payload):
                size = rng.randint(1, 7)
                plan.append((payload[i:i + size], rng.uniform(0.0, self.gap * 0.3)))
                i += size
        else:
            plan.append((payload, 0.0))
        if b.terminator == "none":  # the host frames by silence: make sure there is some
            plan.append((b"", self.gap * 2.5))
        return plan

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._clients.append(client)
                self._client_since = time.monotonic()
                self._client_joined.notify_all()

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            item = self._queue.get()
            if item is None:
                return
            text, symbology, done = item
            payload = text if isinstance(text, bytes) else self.wire_bytes(text, symbology)
            plan = [(payload, 0.0)] if isinstance(text, bytes) else self._plan(payload)
            if not self.wait_for_client(timeout=3600):
                continue
            settle = self._client_since + HOST_SETTLE - time.monotonic()
            if settle > 0:
                time.sleep(settle)
            for chunk, pause in plan:
                if chunk:
                    self._write(chunk)
                if pause:
                    time.sleep(pause)
            self.sent += 1
            done.set()

    def _write(self, chunk: bytes) -> None:
        if self._master is not None:
            try:
                os.write(self._master, chunk)
            except OSError:
                log.debug("pty write failed", exc_info=True)
            return
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            try:
                client.sendall(chunk)
            except OSError:
                with self._lock:
                    if client in self._clients:
                        self._clients.remove(client)
                _close_quietly(client)


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _port_base():
    from serial.urlhandler.protocol_socket import Serial

    return Serial


class SimulatedPort(_port_base()):
    """pyserial's port for ``sim://qr-N?code=TEXT&every=S&terminator=...`` (see devices.simports):
    pyserial's own ``socket://`` port, connected to that URL's simulator on a loopback socket, so
    the driver's serial code runs unchanged. The simulator (and its listener) outlives the port:
    a reconnect finds the same scanner."""

    @staticmethod
    def make_simulator(url: str) -> "ScannerSimulator":
        from urllib.parse import parse_qs, urlsplit

        from devices.qr.urls import parse_scanner_url

        spec = parse_scanner_url("sim://?" + urlsplit(url).query)  # the checks and defaults of every sim URL
        query = parse_qs(urlsplit(url).query)
        seed = int(query["seed"][-1]) if "seed" in query else None
        behaviour = {key: spec.sim[key] for key in ("terminator", "encoding", "aim", "chunked", "slow", "noisy")}
        simulator = ScannerSimulator(gap=spec.framing.gap, seed=seed, **behaviour)
        simulator.listen("127.0.0.1", 0)
        if spec.sim["codes"]:
            simulator.repeat(spec.sim["codes"], spec.sim["every"])
        return simulator

    def open(self) -> None:
        from devices.simports import simulator

        host, port = simulator(self.portstr).address
        self.port = f"socket://{host}:{port}"
        super().open()
