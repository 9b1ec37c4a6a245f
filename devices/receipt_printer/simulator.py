"""A receipt printer simulator that is a real peer: it takes ESC/POS bytes, answers ``DLE EOT`` and
prints each job to a PNG at the real head width (576 dots for 80 mm, 384 for 58 mm).

Use it in-process (``sim://`` or :class:`PrinterSimulator` directly), on TCP like a network printer
(:class:`SimulatorServer`, ``kiosk sim printer --listen``), and drive its condition from tests or a
line-based control port (:class:`ControlServer`): paper that runs out after N centimetres with a
near-end warning before it, a cover that opens, offline, an error, silence, or garbage replies.
"""
from __future__ import annotations

import collections
import json
import logging
import os
import re
import socket
import threading
import time
from pathlib import Path

from devices.receipt_printer.sim_paper import DOTS_PER_MM, GlyphCache, Paper, PrintedJob
from devices.receipt_printer.sim_parser import EscposParser

log = logging.getLogger(__name__)

HEAD_DOTS = {80: 576, 58: 384}
ERROR_KINDS = ("autocutter", "unrecoverable", "recoverable")


class PrinterSimulator:
    """One simulated printer. Thread-safe: several connections may talk to it at once."""

    def __init__(self, *, paper_mm: int = 80, encoding: str = "gb18030", font_charset: str = "gbk",
                 chinese_default: bool = False, out_dir: str | os.PathLike | None = None,
                 paper_cm: float | None = None, near_end_cm: float = 20.0, font_path: str | None = None,
                 keep_jobs: int = 50) -> None:
        if paper_mm not in HEAD_DOTS:
            raise ValueError(f"paper width {paper_mm} mm: use 58 or 80")
        self.paper_mm = paper_mm
        self.dots = HEAD_DOTS[paper_mm]
        self.out_dir = Path(out_dir) if out_dir else None
        self.near_end_dots = near_end_cm * 10 * DOTS_PER_MM
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._parser_settings = (encoding, font_charset, chinese_default)
        self._parser = self.new_parser()
        self._paper = Paper(self.dots, GlyphCache(font_path),
                            None if paper_cm is None else paper_cm * 10 * DOTS_PER_MM)
        self.jobs: collections.deque[PrintedJob] = collections.deque(maxlen=keep_jobs)
        self.jobs_printed = 0
        self._seq = self._first_free_seq()
        self.cover_open = False
        self.offline = False
        self.error: str | None = None
        self.silent = False
        self.reply_override: bytes | None = None
        self.bytes_received = 0
        self.job_bytes = 0
        self.status_queries = 0

    # -- the wire -------------------------------------------------------------------------------

    def new_parser(self) -> EscposParser:
        """A parser for one host connection: each connection's commands are framed on their own,
        while the paper, the modes and the condition are the one printer's."""
        return EscposParser(*self._parser_settings)

    def feed(self, data: bytes, parser: EscposParser | None = None) -> bytes:
        """Consume bytes from the host; returns the bytes the printer sends back."""
        reply = bytearray()
        with self._lock:
            self.bytes_received += len(data)
            self.job_bytes += len(data)
            for op in (parser or self._parser).feed(data):
                if op[0] == "status":
                    self.status_queries += 1
                    reply += self._answer(op[1])
                    continue
                job = self._paper.apply(op)
                if job is not None:
                    self._finished(job)
        return bytes(reply)

    def end_of_stream(self) -> None:
        """The host closed the connection: whatever was printed without a cut is a job too."""
        with self._lock:
            job = self._paper.finish(cut=False)
            if job is not None:
                self._finished(job)

    def _answer(self, n: int) -> bytes:
        if self.silent:
            return b""
        if self.reply_override is not None:
            return self.reply_override
        b = self.status_byte(n)
        return b"" if b is None else bytes((b,))

    def status_byte(self, n: int) -> int | None:
        """The ``DLE EOT n`` reply for the current condition (None: the printer has no answer for n)."""
        with self._lock:
            left = self._paper.paper_left
            out = left is not None and left <= 0
            near = left is not None and left <= self.near_end_dots
            stopped = self.cover_open or out or self.offline or self.error is not None
            if n == 1:
                return 0x12 | (0x08 if stopped else 0) | (0x20 if self.error == "recoverable" else 0)
            if n == 2:
                return (0x12 | (0x04 if self.cover_open else 0) | (0x20 if out else 0)
                        | (0x40 if self.error else 0))
            if n == 3:
                return (0x12 | (0x08 if self.error == "autocutter" else 0)
                        | (0x20 if self.error == "unrecoverable" else 0)
                        | (0x40 if self.error == "recoverable" else 0))
            if n == 4:
                return 0x12 | (0x0C if near else 0) | (0x60 if out else 0)
            return None

    def _finished(self, job: PrintedJob) -> None:
        self._seq += 1
        self.jobs_printed += 1
        job.seq = self._seq
        job.bytes_received = self.job_bytes
        self.job_bytes = 0
        if self.out_dir is not None:
            job.png_path = self._write_png(job)
        self.jobs.append(job)
        self._changed.notify_all()
        log.info("printer simulator: job %d, %d x %d dots%s", job.seq, job.image.width, job.image.height,
                 " (truncated)" if job.truncated else "")

    def _write_png(self, job: PrintedJob) -> Path | None:
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            path = self.out_dir / f"job-{job.seq:04d}.png"
            tmp = path.with_suffix(".png.tmp")
            job.image.save(tmp, format="PNG")
            os.replace(tmp, path)
            # keep as many pictures as jobs in memory: a demo kiosk running for weeks stays bounded
            (self.out_dir / f"job-{job.seq - (self.jobs.maxlen or 0):04d}.png").unlink(missing_ok=True)
            return path
        except OSError as exc:
            log.warning("printer simulator: cannot write job %d: %s", job.seq, exc)
            return None

    def _first_free_seq(self) -> int:
        if self.out_dir is None or not self.out_dir.is_dir():
            return 0
        numbers = [int(m.group(1)) for p in self.out_dir.iterdir()
                   if (m := re.fullmatch(r"job-(\d+)\.png", p.name))]
        return max(numbers, default=0)

    # -- control API ------------------------------------------------------------------------------

    def _update(self) -> None:
        self._paper.can_print = not (self.cover_open or self.offline or self.error)
        self._changed.notify_all()

    def open_cover(self) -> None:
        with self._lock:
            self.cover_open = True
            self._update()

    def close_cover(self) -> None:
        with self._lock:
            self.cover_open = False
            self._update()

    def load_paper(self, cm: float | None = None) -> None:
        """A new roll: ``cm`` centimetres long, or endless."""
        with self._lock:
            self._paper.paper_left = None if cm is None else cm * 10 * DOTS_PER_MM
            self._update()

    def set_offline(self, on: bool = True) -> None:
        with self._lock:
            self.offline = on
            self._update()

    def set_error(self, kind: str | None) -> None:
        if kind is not None and kind not in ERROR_KINDS:
            raise ValueError(f"error kind {kind!r}: use one of {', '.join(ERROR_KINDS)}")
        with self._lock:
            self.error = kind
            self._update()

    def set_silent(self, on: bool = True) -> None:
        """Stop answering ``DLE EOT`` (a dead serial line, a printer that lost power)."""
        with self._lock:
            self.silent = on

    def set_reply(self, reply: bytes | None) -> None:
        """Answer every ``DLE EOT`` with these bytes instead of the status (None: honest answers)."""
        with self._lock:
            self.reply_override = reply

    @property
    def paper_left_cm(self) -> float | None:
        with self._lock:
            left = self._paper.paper_left
            return None if left is None else max(0.0, left / (10 * DOTS_PER_MM))

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until ``count`` jobs in all have been printed."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.jobs_printed < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "paper_mm": self.paper_mm, "dots": self.dots, "paper_left_cm": self.paper_left_cm,
                "cover_open": self.cover_open, "offline": self.offline, "error": self.error,
                "silent": self.silent,
                "reply": None if self.reply_override is None else self.reply_override.hex(),
                "jobs": self.jobs_printed, "bytes_received": self.bytes_received,
                "status": {str(n): f"0x{self.status_byte(n):02x}" for n in (1, 2, 3, 4)},
            }


class _TcpService:
    """A loopback-friendly TCP listener that hands every connection to ``handler`` on its own thread."""

    def __init__(self, host: str, port: int, handler, name: str) -> None:
        self._host, self._port = host, port
        self._handler = handler
        self._name = name
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.address: tuple[str, int] | None = None

    def start(self) -> None:
        self._listener = socket.create_server((self._host, self._port))
        self.address = self._listener.getsockname()[:2]
        t = threading.Thread(target=self._accept_loop, name=f"{self._name}-accept", daemon=True)
        t.start()
        self._threads.append(t)

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.add(conn)
            t = threading.Thread(target=self._run, args=(conn,), name=f"{self._name}-conn", daemon=True)
            t.start()
            self._threads.append(t)

    def _run(self, conn: socket.socket) -> None:
        try:
            self._handler(conn)
        except OSError:
            pass
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def stop(self) -> None:
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=2)


class SimulatorServer:
    """The simulator on a TCP port, as a network printer on port 9100 would be."""

    def __init__(self, sim: PrinterSimulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self._service = _TcpService(host, port, self._serve, "printer-sim")

    @property
    def address(self) -> tuple[str, int] | None:
        return self._service.address

    @property
    def url(self) -> str:
        host, port = self.address
        return f"tcp://{host}:{port}"

    def start(self) -> "SimulatorServer":
        self._service.start()
        return self

    def stop(self) -> None:
        self._service.stop()

    def _serve(self, conn: socket.socket) -> None:
        parser = self.sim.new_parser()
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                reply = self.sim.feed(data, parser)
                if reply:
                    conn.sendall(reply)
        finally:
            self.sim.end_of_stream()

    def __enter__(self) -> "SimulatorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class ControlServer:
    """A line protocol to change the simulated condition from outside the process.

    Commands (one per line, answer one JSON line): ``cover open|close``, ``paper load [CM]``,
    ``paper out``, ``offline on|off``, ``error none|autocutter|unrecoverable|recoverable``,
    ``silent on|off``, ``reply HEX|off``, ``status``.
    """

    def __init__(self, sim: PrinterSimulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self._service = _TcpService(host, port, self._serve, "printer-sim-control")

    @property
    def address(self) -> tuple[str, int] | None:
        return self._service.address

    def start(self) -> "ControlServer":
        self._service.start()
        return self

    def stop(self) -> None:
        self._service.stop()

    def _serve(self, conn: socket.socket) -> None:
        with conn.makefile("rwb") as stream:
            for raw in stream:
                answer = self.handle(raw.decode("utf-8", "replace").strip())
                stream.write((json.dumps(answer, ensure_ascii=False) + "\n").encode())
                stream.flush()

    def handle(self, line: str) -> dict:
        words = line.split()
        sim = self.sim
        try:
            match words:
                case ["cover", "open"]:
                    sim.open_cover()
                case ["cover", "close"]:
                    sim.close_cover()
                case ["paper", "load"]:
                    sim.load_paper(None)
                case ["paper", "load", cm]:
                    sim.load_paper(float(cm))
                case ["paper", "out"]:
                    sim.load_paper(0)
                case ["offline", ("on" | "off") as v]:
                    sim.set_offline(v == "on")
                case ["error", kind]:
                    sim.set_error(None if kind == "none" else kind)
                case ["silent", ("on" | "off") as v]:
                    sim.set_silent(v == "on")
                case ["reply", "off"]:
                    sim.set_reply(None)
                case ["reply", hexbytes]:
                    sim.set_reply(bytes.fromhex(hexbytes))
                case ["status"]:
                    pass
                case _:
                    return {"ok": False, "error": f"unknown command: {line!r}"}
        except ValueError as exc:
            return {"ok": False, "error": str(exc)}
        return {"ok": True, **sim.snapshot()}
