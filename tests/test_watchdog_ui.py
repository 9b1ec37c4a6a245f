"""The UI's systemd watchdog, tested for real: ``kiosk run`` (demo profile, under Xvfb) with a
NOTIFY_SOCKET this test listens on. It must say READY once the attract screen is drawn, then ping
regularly from the UI thread; when the UI thread hangs (SIGUSR1 with the test-only freeze hook),
the pings must stop, which is what makes systemd restart it.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from kiosk.watchdog import FREEZE_ENV

pytestmark = pytest.mark.ui


class Listener:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.path = str(path)

    def messages(self, seconds: float):
        """Every datagram that arrives within ``seconds``, as (arrival time, text)."""
        out, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                out.append((time.monotonic(), self.sock.recv(4096).decode()))
            except socket.timeout:
                break
        return out

    def wait_for(self, text: str, seconds: float, proc):
        deadline = time.monotonic() + seconds
        seen = []
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"kiosk run exited with {proc.returncode}: {proc.stderr.read()[-2000:]}"
            for _, message in self.messages(0.5):
                seen.append(message)
                if text in message.splitlines():
                    return seen
        raise AssertionError(f"no {text!r} within {seconds} s; got {seen}")


def test_ready_then_pings_then_silence_when_the_ui_thread_hangs(tmp_path, display):
    listener = Listener(tmp_path / "notify.sock")
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path}/data"\nlog_dir = "{tmp_path}/log"\n'
                      f'key_file = "{tmp_path}/keys/outbox.key"\n', encoding="utf-8")
    env = dict(os.environ, DISPLAY=display, NOTIFY_SOCKET=listener.path, WATCHDOG_USEC="1000000",
               **{FREEZE_ENV: "60"})
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "--config", str(config), "run", "--size", "540x960"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        before_ready = listener.wait_for("READY=1", 90, proc)
        assert not any("WATCHDOG=1" in m for m in before_ready[:-1]), "pings must start only after READY"
        alive = [m for _, m in listener.messages(3.0) if m == "WATCHDOG=1"]
        assert len(alive) >= 3, f"expected a ping every 0.5 s from the UI thread, got {len(alive)} in 3 s"
        proc.send_signal(signal.SIGUSR1)  # the UI thread now sleeps for a minute
        listener.messages(0.6)  # a ping already on its way when the signal landed
        frozen = [m for _, m in listener.messages(3.0) if m == "WATCHDOG=1"]
        assert frozen == [], f"a hung UI thread must not ping; got {len(frozen)}"
        assert proc.poll() is None, "the process is alive (only hung): exactly the case systemd must catch"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        listener.sock.close()
