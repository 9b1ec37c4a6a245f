"""Several requests at once, never one item twice at once: counted on a real loopback server.

The server counts deliveries per ``Idempotency-Key`` and notes any key that arrives while a request
with the same key is still being answered; one sender and two sender processes sharing one outbox
drain a backlog through it.
"""
from __future__ import annotations

import collections
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from offline_queue import Outbox, Sender

HERE = Path(__file__).resolve().parent


class CountingServer:
    """Answers 201 after ``delay_s`` (or, for keys in ``hold``, once ``release`` is set); counts."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.lock = threading.Lock()
        self.deliveries: collections.Counter = collections.Counter()
        self.in_flight: collections.Counter = collections.Counter()
        self.overlaps: list[str] = []
        self.now_in_flight = self.most_in_flight = 0
        self.finished: list[str] = []
        self.hold: set[str] = set()
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers["Idempotency-Key"]
                with server.lock:
                    server.deliveries[key] += 1
                    server.in_flight[key] += 1
                    if server.in_flight[key] > 1:
                        server.overlaps.append(key)
                    server.now_in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.now_in_flight)
                if key in server.hold:
                    server.release.wait(30)
                else:
                    time.sleep(server.delay_s)
                with server.lock:
                    server.in_flight[key] -= 1
                    server.now_in_flight -= 1
                    server.finished.append(key)
                self.send_response(201)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def test_one_sender_keeps_its_concurrency_and_sends_each_item_once(tmp_path):
    server = CountingServer(delay_s=0.03)
    try:
        with Outbox(tmp_path / "d", key_file=tmp_path / "k") as box:
            ids = [box.put("POST", "/x", json={"n": n}, files=[("a.jpg", b"x" * 3000)] if n % 5 == 0 else ())
                   for n in range(60)]
            sender = Sender(box, server.url, "t", concurrency=3)
            assert sender.run_until_empty(timeout=60)
            sender.stop()
            assert box.status()["done"] == 60
    finally:
        server.stop()
    assert server.deliveries == collections.Counter({key: 1 for key in ids})  # each once, under its own id
    assert server.overlaps == []
    assert server.most_in_flight == 3  # three at once, and no more


def test_a_slow_answer_does_not_hold_the_link(tmp_path):
    """With one request allowed on the link, the others still go while the first waits on the platform;
    never more than two in flight."""
    server = CountingServer()
    try:
        with Outbox(tmp_path / "d", key_file=tmp_path / "k") as box:
            ids = [box.put("POST", "/x", json={"n": n}) for n in range(5)]
            server.hold = {ids[0]}
            sender = Sender(box, server.url, "t", concurrency=1)
            done = threading.Thread(target=sender.run_until_empty, args=(60,), daemon=True)
            done.start()
            deadline = time.monotonic() + 30
            while len(server.finished) < 4 and time.monotonic() < deadline:
                time.sleep(0.02)
            server.release.set()
            done.join(30)
            sender.stop()
            assert box.status()["done"] == 5
    finally:
        server.stop()
    assert server.finished == ids[1:] + ids[:1]  # the others arrived while the first was waiting
    assert server.most_in_flight == 2 and server.overlaps == []
    assert server.deliveries == collections.Counter({key: 1 for key in ids})


def test_several_slow_answers_do_not_hold_the_others(tmp_path):
    """Requests waiting on overdue answers stop counting as using the link, and several may wait at
    once: with one place on the link and three answers held back, the other items all go meanwhile."""
    server = CountingServer()
    try:
        with Outbox(tmp_path / "d", key_file=tmp_path / "k") as box:
            ids = [box.put("POST", "/x", json={"n": n}) for n in range(8)]
            server.hold = set(ids[:3])
            sender = Sender(box, server.url, "t", concurrency=1)
            done = threading.Thread(target=sender.run_until_empty, args=(60,), daemon=True)
            done.start()
            deadline = time.monotonic() + 20
            while len(server.finished) < 5 and time.monotonic() < deadline:
                time.sleep(0.02)
            arrived_while_held = list(server.finished)
            server.release.set()
            done.join(30)
            sender.stop()
            assert box.status()["done"] == 8
    finally:
        server.stop()
    assert arrived_while_held == ids[3:]  # all the others went while three answers were held back
    assert server.most_in_flight == 4 <= sender.most_in_flight() and server.overlaps == []
    assert server.deliveries == collections.Counter({key: 1 for key in ids})


SENDER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from offline_queue import Outbox, Sender
with Outbox(sys.argv[2], key_file=sys.argv[3]) as box:
    sender = Sender(box, sys.argv[4], "t", concurrency=4, batch=8)
    emptied = sender.run_until_empty(timeout=60)
    sender.stop()
print(json.dumps({"emptied": emptied, "sent": sender.stats["sent"]}))
"""


def test_two_sender_processes_on_one_outbox_never_send_an_item_twice(tmp_path):
    server = CountingServer(delay_s=0.01)
    data, key = tmp_path / "d", tmp_path / "k"
    try:
        with Outbox(data, key_file=key) as box:
            ids = [box.put("POST", "/x", json={"n": n}) for n in range(240)]
        procs = [subprocess.Popen([sys.executable, "-c", SENDER, str(HERE.parent), str(data), str(key), server.url],
                                  stdout=subprocess.PIPE, text=True) for _ in range(2)]
        results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
        with Outbox(data, key_file=key) as box:
            status = box.status()
    finally:
        server.stop()
    # the one that finds only the other's leased items left gives up waiting (False); together they sent all
    assert any(r["emptied"] for r in results) and sum(r["sent"] for r in results) == 240
    assert status["done"] == 240 and status["pending"] == status["inflight"] == 0
    assert server.deliveries == collections.Counter({key: 1 for key in ids})
    assert server.overlaps == []
    assert 1 < server.most_in_flight <= 8


def test_kiosk_queue_run_takes_its_concurrency_from_the_configuration(tmp_path):
    from conftest import run_kiosk

    server = CountingServer(delay_s=0.03)
    data, key, config = tmp_path / "d", tmp_path / "k", tmp_path / "kiosk.toml"
    config.write_text("[outbox]\nconcurrency = 2\n", encoding="utf-8")
    try:
        with Outbox(data, key_file=key) as box:
            ids = [box.put("POST", "/x", json={"n": n}) for n in range(30)]
        out = run_kiosk("--config", str(config), "queue", "run", "--base-url", server.url, "--token", "t",
                        "--until-empty", "--timeout", "60", "--data-dir", str(data), "--key-file", str(key))
    finally:
        server.stop()
    assert out.returncode == 0 and out.stdout.strip() == "sent 30, dead 0, pending 0", out.stderr
    assert server.deliveries == collections.Counter({key: 1 for key in ids})
    assert server.most_in_flight == 2


def test_a_bad_concurrency_is_refused_with_one_line(tmp_path):
    from conftest import run_kiosk

    config = tmp_path / "kiosk.toml"
    config.write_text("[outbox]\nconcurrency = 0\n", encoding="utf-8")
    out = run_kiosk("--config", str(config), "queue", "status", "--data-dir", str(tmp_path / "d"),
                    "--key-file", str(tmp_path / "k"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [f"kiosk: {config}: outbox.concurrency: must be between 1 and 32, got 0"]
    assert not (tmp_path / "d").exists()


def test_a_long_attempt_keeps_its_lease_so_no_one_else_sends_the_item(tmp_path):
    """A large upload on a thin link can take longer than a lease: the sender renews it while the
    attempt runs, so another sender (another process) does not claim the item and send it too."""
    from test_outbox_store import FakeClock

    clock = FakeClock()
    server = CountingServer()
    try:
        with Outbox(tmp_path / "d", key_file=tmp_path / "k", clock=clock) as box, \
                Outbox(tmp_path / "d", key_file=tmp_path / "k", clock=clock) as other:
            item_id = box.put("POST", "/x", json={"n": 1})
            server.hold = {item_id}
            sender = Sender(box, server.url, "t", lease_s=30, connect_timeout_s=2, read_timeout_s=20)
            attempt = threading.Thread(target=sender.run_once, daemon=True)
            attempt.start()
            assert wait_until(lambda: server.now_in_flight == 1)
            first_expiry = clock.now + 30
            clock.advance(20)  # two thirds of the lease used up, the upload still going
            assert wait_until(lambda: lease_expiry(box, item_id) > first_expiry)
            clock.advance(20)  # past the first expiry
            assert other.lease(limit=10, lease_s=30) == []  # still held: not claimed, not sent twice
            server.release.set()
            attempt.join(30)
            sender.stop()
            assert box.status()["done"] == 1
    finally:
        server.stop()
    assert server.deliveries == collections.Counter({item_id: 1}) and server.overlaps == []


def wait_until(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def lease_expiry(box: Outbox, item_id: str) -> float:
    import sqlite3

    with sqlite3.connect(box.data_dir / "outbox.db") as db:
        return db.execute("SELECT lease_expires_at FROM items WHERE id = ?", (item_id,)).fetchone()[0]
