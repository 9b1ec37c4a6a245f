"""``kiosk backend`` as a technician runs it: one line on bad input, nothing left behind, and it serves."""
from __future__ import annotations

import os
import queue
import secrets
import signal
import socket
import subprocess
import sys
import threading

import pytest
import requests

from conftest import ROOT, run_kiosk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_one_line_error(proc, code=2):
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiosk: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("args, words", [
    (["--db", "bogus://"], "bogus"),
    (["--db", "not a url"], "cannot parse"),
    (["--db", "sqlite://"], "in-memory"),
    (["--port", "70000"], "port"),
    (["--port", "eighty"], "port"),
    (["--kiosk-token", "no-equals-sign"], "ID=TOKEN"),
    (["--kiosk-token", "k1="], "token"),
    (["--people-per-hour", "0"], "whole number"),
    (["--people-per-hour", "9" * 5000], "whole number"),
])
def test_bad_options_exit_2_with_one_line(tmp_path, args, words):
    if "--db" not in args:
        args = [*args, "--db", f"sqlite:///{tmp_path / 'b.sqlite3'}"]
    proc = run_kiosk("backend", *args, timeout=60)
    assert_one_line_error(proc)
    assert words in proc.stderr
    assert list(tmp_path.iterdir()) == [], "nothing may be written"


def test_missing_folder_and_garbage_file_exit_2(tmp_path):
    missing = tmp_path / "no" / "such" / "folder" / "b.sqlite3"
    proc = run_kiosk("backend", "--port", "0", "--db", f"sqlite:///{missing}", "--demo", timeout=60)
    assert_one_line_error(proc)
    assert not (tmp_path / "no").exists()

    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database file at all, not even close" * 40)
    proc = run_kiosk("backend", "--port", "0", "--db", f"sqlite:///{garbage}", "--demo", timeout=60)
    assert_one_line_error(proc)
    assert "not a database" in proc.stderr


def test_a_port_in_use_exits_2_and_creates_no_database(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_kiosk("backend", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'b.sqlite3'}",
                         "--demo", timeout=60)
    assert_one_line_error(proc)
    assert str(port) in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_database_server_exits_4(tmp_path):
    port = free_port()  # nothing listens there
    proc = run_kiosk("backend", "--port", "0", "--db", f"postgresql://kiosk:secret@127.0.0.1:{port}/kiosk",
                     "--demo", timeout=60)
    if "not installed" in proc.stderr:
        pytest.skip("no PostgreSQL driver in this environment")
    assert_one_line_error(proc, code=4)
    assert "secret" not in proc.stderr, "the password must not be printed"


def read_line(stream, timeout):
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return None


def test_serves_until_terminated(tmp_path):
    port = free_port()
    db = tmp_path / "b.sqlite3"
    token = secrets.token_urlsafe(32)
    tokens = tmp_path / "tokens"
    tokens.write_text(f"kiosk-7 7 {token}\n", encoding="utf-8")
    tokens.chmod(0o600)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "backend", "--port", str(port), "--db", f"sqlite:///{db}",
         "--kiosk-tokens-file", str(tokens)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=dict(os.environ))
    try:
        line = read_line(proc.stdout, timeout=60)
        assert line is not None, "no 'serving' line in time"
        url = f"http://127.0.0.1:{port}"
        assert url in line
        answer = requests.get(url + "/api/v1/catalogue", timeout=10,
                              headers={"Authorization": f"Bearer {token}", "X-Kiosk-Id": "kiosk-7"})
        assert answer.status_code == 200 and len(answer.json()["items"]) >= 60
        assert requests.get(url + "/api/v1/catalogue", timeout=10,
                            headers={"Authorization": "Bearer demo-token"}).status_code == 403
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_default_database_lives_in_the_configured_data_folder(tmp_path):
    data_dir = tmp_path / "data"
    site = tmp_path / "kiosk.toml"
    site.write_text(f'[paths]\ndata_dir = "{data_dir}"\n', encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.cli", "--config", str(site), "backend", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "KIOSK_BACKEND_TOKENS": f"k1 - {secrets.token_urlsafe(32)}"})
    try:
        line = read_line(proc.stdout, timeout=60)
        assert line is not None and "http://127.0.0.1:" in line, proc.stderr.read() if line is None else line
        assert str(data_dir / "backend.sqlite3") in line
        url = line.split()[3]
        assert requests.get(url + "/healthz", timeout=10).json() == {"status": "ok"}
        assert (data_dir / "backend.sqlite3").exists()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
