"""Carry a SamSimulator over a real link, so the production driver runs unchanged against it.

``TcpSimulatorServer`` serves pyserial ``socket://`` clients (``kiosk sim idcard``);
``PtySimulator`` serves a pseudo-terminal whose tty path the driver opens like any serial port;
``SimulatedPort`` is pyserial's ``sim://`` port on such a pty (devices.simports). Stopping either
is what an unplugged reader looks like.
"""
from __future__ import annotations

import errno
import logging
import os
import select
import socket
import threading
import time
import tty
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

import serial

from devices.idcard.simulator import DEFAULT_BAUD, SamSimulator

log = logging.getLogger(__name__)


class TcpSimulatorServer:
    """Serves a SamSimulator to pyserial ``socket://`` clients; ``stop()`` drops everyone (an unplug)."""

    def __init__(self, simulator: SamSimulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.simulator = simulator
        self._bind = (host, port)
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def address(self) -> tuple[str, int]:
        assert self._listener is not None, "server not started"
        return self._listener.getsockname()[:2]

    @property
    def url(self) -> str:
        host, port = self.address
        return f"socket://{host}:{port}"

    def start(self) -> "TcpSimulatorServer":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(self._bind)
        listener.listen(4)
        listener.settimeout(0.1)
        self._listener = listener
        self._stop.clear()
        self._spawn(self._accept_loop, "idcard-sim-accept")
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            _close_socket(conn)
        if self._listener is not None:
            self._listener.close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2)
        self._threads = []

    def serve_forever(self) -> None:
        """Block until ``stop()`` (from another thread or a signal handler)."""
        while not self._stop.wait(0.2):
            pass

    def __enter__(self) -> "TcpSimulatorServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, peer = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(0.1)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections.append(conn)
            log.debug("simulator: client %s connected", peer)
            self._spawn(self._serve, "idcard-sim-conn", conn)

    def _serve(self, conn: socket.socket) -> None:
        def read() -> bytes | None:
            try:
                data = conn.recv(4096)
            except socket.timeout:
                return b""
            except OSError:
                return None
            return data or None

        try:
            self.simulator.serve(read, conn.sendall, self._stop)
        except OSError:
            pass  # the client went away mid-reply
        finally:
            with self._lock:
                if conn in self._connections:
                    self._connections.remove(conn)
            _close_socket(conn)


def _close_socket(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()


class PtySimulator:
    """Serves a SamSimulator on a pseudo-terminal; ``path`` is the tty the driver opens.

    The simulator keeps its own handle on the tty so the pty survives the driver closing and
    reopening it; ``stop()`` closes both ends, which the driver sees as the port disappearing.
    """

    def __init__(self, simulator: SamSimulator) -> None:
        self.simulator = simulator
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = self._slave = -1
        self.path = ""

    def start(self) -> "PtySimulator":
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing: a serial line carries bytes
        self.path = os.ttyname(self._slave)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="idcard-sim-pty", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def __enter__(self) -> "PtySimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        master = self._master
        os.set_blocking(master, False)

        def read() -> bytes | None:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                return b""
            try:
                return os.read(master, 4096)
            except BlockingIOError:
                return b""
            except OSError as exc:
                if exc.errno == errno.EIO:  # no one has the tty open right now
                    time.sleep(0.02)
                    return b""
                return None

        def write(data: bytes) -> None:
            view = memoryview(data)
            while view and not self._stop.is_set():
                try:
                    written = os.write(master, view)
                except BlockingIOError:  # nobody is reading the tty: wait, as a UART would not
                    select.select([], [master], [], 0.1)
                    continue
                view = view[written:]

        try:
            self.simulator.serve(read, write, self._stop)
        except OSError:
            pass


class SimulatedPort(serial.Serial):
    """pyserial's port for ``sim://idcard-N?card=NAME&mode=M1,M2&baud=B`` (see devices.simports):
    a real serial port on the tty of a :class:`PtySimulator` serving that URL's simulator, so the
    driver's serial code runs unchanged. Closing the port stops the pty."""

    @staticmethod
    def make_simulator(url: str) -> SamSimulator:
        query = {key: value for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
        modes = [mode for mode in query.get("mode", "").split(",") if mode]
        return SamSimulator(query.get("card") or None, modes, int(query.get("baud") or DEFAULT_BAUD))

    def open(self) -> None:
        from devices.simports import simulator

        self._sim_url = self.portstr
        self._link = PtySimulator(simulator(self._sim_url)).start()
        self.port = self._link.path
        try:
            super().open()
        except BaseException:
            self._link.stop()
            raise

    def close(self) -> None:
        super().close()
        link = getattr(self, "_link", None)
        if link is not None:
            self._link = None
            link.stop()
