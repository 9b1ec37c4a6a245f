"""``kiosk queue …`` run as a technician would: a real process, real files, a real server on loopback."""
from __future__ import annotations

import hashlib
import json
import os
import socket

import pytest

from conftest import run_kiosk
from test_outbox_faultserver import FaultServerProcess

NAME = "张三丰"
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def q(tmp_path):
    """Run ``kiosk --config EMPTY queue ACTION ... --data-dir D --key-file K``."""
    config = tmp_path / "kiosk.toml"
    config.write_text("", encoding="utf-8")
    data, key = tmp_path / "outbox", tmp_path / "secrets" / "outbox.key"

    def run(action, *args, config_path=config, key_file=key):
        return run_kiosk("--config", str(config_path), "queue", action, *args,
                         "--data-dir", str(data), "--key-file", str(key_file), timeout=60)
    run.data, run.key = data, key
    return run


def status(q) -> dict:
    out = q("status", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def one_line_error(out, code: int) -> str:
    assert out.returncode == code, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiosk: ") and "Traceback" not in out.stderr, out.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_enqueue_status_list_run_purge(q, tmp_path):
    scan = tmp_path / f"{NAME}-户口本.jpg"
    scan.write_bytes(os.urandom(100_000))
    body = {"name": NAME, "id_number": ID_NUMBER, "service": "城乡居民养老保险"}
    out = q("enqueue", "--path", "/api/v1/submissions", "--json", json.dumps(body, ensure_ascii=False),
            "--file", str(scan))
    assert out.returncode == 0, out.stderr
    item_id = out.stdout.strip()
    assert len(item_id) == 36
    st = status(q)
    assert (st["pending"], st["done"]) == (1, 0) and st["bytes"] > 100_000
    listing = q("list")
    assert item_id in listing.stdout and "POST /api/v1/submissions +1 files" in listing.stdout
    assert NAME not in listing.stdout and ID_NUMBER not in listing.stdout
    with FaultServerProcess(tmp_path / "rec.jsonl", token="demo-token") as server:
        out = q("run", "--base-url", server.url, "--token", "demo-token", "--until-empty", "--timeout", "30")
        records = server.records()
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "sent 1, dead 0, pending 0"
    [rec] = records
    assert rec["payload"] == body and rec["path"] == "/api/v1/submissions"
    assert rec["files"][0]["name"] == scan.name
    assert rec["files"][0]["sha256"] == hashlib.sha256(scan.read_bytes()).hexdigest()
    assert status(q)["done"] == 1
    assert q("purge-done").stdout.strip() == "removed 1 delivered items"
    assert status(q)["done"] == 0


@pytest.mark.parametrize("args, message", [
    (["--json", "{'single': 'quotes'}"], "not valid JSON"),
    (["--json", '{"a": NaN}'], "not valid JSON"),
    (["--json", "{}", "--file", "/no/such/scan.jpg"], "file not found"),
    (["--json", "{}", "--method", "GET"], "method"),
    (["--json", "{}", "--file", "/"], "not a file"),
])
def test_bad_input_exits_2_and_writes_nothing(q, args, message):
    out = q("enqueue", "--path", "/api/v1/ratings", *args)
    assert message in one_line_error(out, 2)
    assert not q.data.exists() and not q.key.exists()  # refused before the outbox was even opened


def test_network_failure_exits_4_and_keeps_the_items(q):
    assert q("enqueue", "--path", "/api/v1/ratings", "--json", '{"score": 4}').returncode == 0
    out = q("run", "--base-url", f"http://127.0.0.1:{free_port()}", "--until-empty", "--timeout", "3")
    assert "stay queued" in one_line_error(out, 4)
    st = status(q)
    assert st["pending"] == 1 and st["done"] == 0
    assert "refused" in q("list").stdout


def test_4xx_goes_dead_and_retry_brings_it_back(q, tmp_path):
    first = q("enqueue", "--path", "/api/v1/ratings", "--json", '{"score": 1}').stdout.strip()
    second = q("enqueue", "--path", "/api/v1/ratings", "--json", '{"score": 2}').stdout.strip()
    with FaultServerProcess(tmp_path / "rec.jsonl", token="right-token") as server:
        out = q("run", "--base-url", server.url, "--token", "wrong-token", "--until-empty", "--timeout", "20")
        assert out.returncode == 0 and out.stdout.strip() == "sent 0, dead 2, pending 0"
        assert "dead items need attention" in out.stderr
        assert status(q)["dead"] == 2
        dead = q("list", "--state", "dead", "--json")
        assert {(i["id"], i["last_status"]) for i in json.loads(dead.stdout)} == {(first, 401), (second, 401)}
        assert q("retry", first).returncode == 0
        assert (status(q)["pending"], status(q)["dead"]) == (1, 1)
        assert q("retry", "--dead").stdout.strip() == "1 dead items will be sent again"
        out = q("run", "--base-url", server.url, "--token", "right-token", "--until-empty", "--timeout", "20")
        assert out.returncode == 0, out.stderr
        assert len(server.records()) == 2
    assert status(q)["done"] == 2
    assert "no outbox item" in one_line_error(q("retry", "00000000-0000-4000-8000-000000000000"), 3)
    assert "only dead or pending" in one_line_error(q("retry", first), 2)


def test_key_file_readable_by_others_is_refused(q):
    assert q("status").returncode == 0
    os.chmod(q.key, 0o644)
    assert "chmod 600" in one_line_error(q("status"), 2)


def test_quota_full_exits_4_and_writes_nothing(q, tmp_path):
    config = tmp_path / "small.toml"
    config.write_text("[outbox]\nquota_mb = 1\n", encoding="utf-8")
    scan = tmp_path / "scan.jpg"
    scan.write_bytes(os.urandom(2 * 1024 * 1024))
    out = q("enqueue", "--path", "/api/v1/submissions", "--json", "{}", "--file", str(scan), config_path=config)
    assert "quota" in one_line_error(out, 4)
    assert status(q)["pending"] == 0 and os.listdir(q.data / "files") == []


def test_corrupt_database_is_reported_and_the_queue_keeps_working(q):
    assert q("enqueue", "--path", "/x", "--json", "{}").returncode == 0
    (q.data / "outbox.db").write_bytes(b"\x00garbage" * 1000)
    for name in ("outbox.db-wal", "outbox.db-shm"):
        if (q.data / name).exists():
            (q.data / name).unlink()
    out = q("status", "--json")
    assert out.returncode == 0 and "moved aside" in out.stderr
    assert json.loads(out.stdout)["pending"] == 0
    assert [p.name for p in q.data.iterdir() if p.name.startswith("corrupt-")]
    assert q("enqueue", "--path", "/x", "--json", "{}").returncode == 0


def test_run_keeps_sending_until_interrupted(q, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    with FaultServerProcess(tmp_path / "rec.jsonl") as server:
        proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "--config", str(tmp_path / "kiosk.toml"),
                                 "queue", "run", "--base-url", server.url, "--data-dir", str(q.data),
                                 "--key-file", str(q.key)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        try:
            assert "Ctrl-C to stop" in proc.stderr.readline()
            assert q("enqueue", "--path", "/api/v1/ratings", "--json", '{"score": 3}').returncode == 0
            deadline = time.monotonic() + 30  # the running sender polls the shared folder
            while not server.records() and time.monotonic() < deadline:
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
        finally:
            proc.kill()
        assert [r["payload"] for r in server.records()] == [{"score": 3}]
    assert status(q)["done"] == 1
