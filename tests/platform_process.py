"""``kiosk backend`` as its own process on a free loopback port, the way an operator starts it."""
from __future__ import annotations

import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

from conftest import ROOT


def strong_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_file(folder: Path, lines: list[tuple[str, int | str, str]]) -> Path:
    """A private tokens file with ``ID NUMBER TOKEN`` lines."""
    path = folder / "kiosk-tokens"
    path.write_text("".join(f"{kiosk_id} {number} {token}\n" for kiosk_id, number, token in lines),
                    encoding="utf-8")
    path.chmod(0o600)
    return path


class PlatformProcess:
    """Start with ``with PlatformProcess([...]) as platform:``; ``platform.url`` is where it serves."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, timeout: float = 60,
                 global_args: tuple[str, ...] = ()) -> None:
        self.args = args
        self.global_args = global_args
        self.env = {**os.environ, **(env or {})}
        self.timeout = timeout
        self.url: str | None = None
        self.proc: subprocess.Popen | None = None
        self.stderr = ""

    def __enter__(self) -> "PlatformProcess":
        self.proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", *self.global_args, "backend", "--port", "0",
                                      *self.args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                     env=self.env)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=self.timeout)
        except queue.Empty:
            line = ""
        if "serving" not in line:
            self.__exit__()
            raise AssertionError(f"kiosk backend did not start: {self.stderr[-2000:]}")
        self.url = line.split()[3]
        self.pid = self.proc.pid
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
