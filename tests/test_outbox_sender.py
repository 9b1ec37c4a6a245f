"""The sender against a real HTTP server on loopback: wire format, outcomes, backoff, waking up."""
from __future__ import annotations

import email.utils
import io
import json
import socket
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from offline_queue import Backoff, ErrorKind, ItemState, Outbox, Sender, parse_retry_after
from test_outbox_store import FakeClock

NAME = "张三丰"


class ScriptedServer:
    """Answers from a script ((status, headers) or (status, headers, body), "drop", ("sleep", s),
    ("drop_when", event): cut once the event is set); records every request it reads."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict] = []
        self.script: list = []
        # Answers by the request's JSON field "n" (n → step), used before the script: with several
        # requests in flight their arrival order is the machine's, not the test's.
        self.by_n: dict = {}
        self.by_path: dict = {}  # path → step, likewise
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests.append({"method": self.command, "path": self.path,
                                        "headers": dict(self.headers), "body": body})
                step = server._step_for(self.path, body)
                if isinstance(step, tuple) and step[0] == "drop_when":
                    step[1].wait(30)
                    step = "drop"
                if step == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(step, tuple) and step[0] == "sleep":
                    time.sleep(step[1])
                    step = (201, {})
                status, headers, body = step if len(step) == 3 else (*step, b"{}")
                self.send_response(status)
                for k, v in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except BrokenPipeError:  # the client stopped waiting (a read-timeout test)
                    pass

            do_PUT = do_PATCH = do_DELETE = do_POST

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def _step_for(self, path: str, body: bytes):
        if path in self.by_path:
            return self.by_path.pop(path)
        if self.by_n:
            try:
                n = json.loads(body).get("n")
            except (ValueError, AttributeError):
                n = None
            if n in self.by_n:
                return self.by_n.pop(n)
        return self.script.pop(0) if self.script else (201, {})

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = ScriptedServer()
    yield s
    s.stop()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def outbox(tmp_path, clock):
    box = Outbox(tmp_path / "data", key_file=tmp_path / "outbox.key", clock=clock)
    yield box
    box.close()


def make_sender(outbox, url, **kw):
    kw.setdefault("backoff", Backoff(base_s=2, cap_s=60, rng=lambda: 0.5))
    kw.setdefault("connect_timeout_s", 2)
    kw.setdefault("read_timeout_s", 2)
    kw.setdefault("lease_s", 30)
    return Sender(outbox, url, "demo-token", **kw)


def the_item(outbox):
    [info] = outbox.list()
    return info


# ----------------------------------------------------------------------------- wire format

def test_json_item_goes_as_application_json_with_key_and_token(outbox, server):
    item_id = outbox.put("POST", "/api/v1/ratings", json={"score": 5, "comment": "很好"})
    [leased] = outbox.lease()
    outbox.release([leased])
    sender = make_sender(outbox, server.url + "/prefix/")
    assert sender.run_once() == 1
    [req] = server.requests
    assert req["path"] == "/prefix/api/v1/ratings" and req["method"] == "POST"
    assert req["headers"]["Content-Type"] == "application/json"
    assert req["headers"]["Idempotency-Key"] == leased.idempotency_key
    assert req["headers"]["Authorization"] == "Bearer demo-token"
    assert json.loads(req["body"].decode("utf-8")) == {"score": 5, "comment": "很好"}
    assert the_item(outbox).id == item_id and the_item(outbox).state is ItemState.DONE


def test_files_go_as_multipart_with_payload_and_original_names(outbox, server, tmp_path):
    from python_multipart import parse_form

    scan = tmp_path / f"{NAME}-身份证正面.jpg"
    scan.write_bytes(bytes(range(256)) * 40 + b"\r\n--boundary-lookalike\r\n")
    outbox.put("PUT", "/api/v1/submissions", json={"service": "低保"},
               files=[scan, ("申请表.pdf", b"%PDF-1.7 ...", "application/pdf")])
    make_sender(outbox, server.url).run_once()
    [req] = server.requests
    fields, files = [], []
    parse_form({"Content-Type": req["headers"]["Content-Type"].encode()}, io.BytesIO(req["body"]),
               fields.append, files.append)
    assert req["method"] == "PUT"
    assert [(f.field_name, json.loads(f.value)) for f in fields] == [(b"payload", {"service": "低保"})]
    got = []
    for f in files:
        f.file_object.seek(0)
        got.append((f.field_name, f.file_name.decode("utf-8"), f.file_object.read()))
    assert got == [(b"files", scan.name, scan.read_bytes()), (b"files", "申请表.pdf", b"%PDF-1.7 ...")]
    assert list((outbox.data_dir / "files").iterdir()) == []  # delivered: the sealed files are gone


# ----------------------------------------------------------------------------- outcomes

@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_are_done(outbox, server, status):
    server.script = [(status, {})]
    outbox.put("POST", "/x", json={})
    make_sender(outbox, server.url).run_once()
    assert the_item(outbox).state is ItemState.DONE and the_item(outbox).last_status == status


def test_409_is_dead_with_the_platforms_reason_and_never_retried(outbox, server, clock):
    """The platform refuses the request as it stands (a receipt number taken by another submission):
    retrying cannot help; the item is kept, dead, with the reason, for a person to see."""
    server.by_path = {"/api/v1/submissions": (409, {"Content-Type": "application/json"}, b'{"error":"receipt_no_taken"}'),
                      "/api/v1/ratings": (201, {})}
    outbox.put("POST", "/api/v1/submissions", json={"receipt_no": "K01-7Q2M9X"}, files=[("a.jpg", b"a")])
    other = outbox.put("POST", "/api/v1/ratings", json={"score": 5})
    sender = make_sender(outbox, server.url)
    assert sender.run_once() == 2
    dead, done = outbox.list()
    assert dead.state is ItemState.DEAD and dead.last_status == 409
    assert dead.last_error == "HTTP 409 Conflict: receipt_no_taken"
    assert done.id == other and done.state is ItemState.DONE  # the others go on
    assert not sender.network_down and sender.paused_for() == 0 and sender.stats["dead"] == 1
    clock.advance(3600)
    assert sender.run_once() == 0 and len(server.requests) == 2  # no endless retry
    assert len(list((outbox.data_dir / "files").iterdir())) == 1  # its scan is kept


def test_a_dead_items_reason_masks_long_numbers(outbox, server):
    body = '{"detail":"applicant 11010519491231002X   has an open application; call 13800138000"}'.encode()
    server.script = [(422, {}, body)]
    outbox.put("POST", "/x", json={})
    make_sender(outbox, server.url).run_once()
    assert the_item(outbox).last_error == ("HTTP 422 Unprocessable Entity: applicant 110105********002X"
                                           " has an open application; call 138********")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422, 301, 302])
def test_other_4xx_and_redirects_are_dead_and_kept(outbox, server, status):
    server.script = [(status, {"Location": server.url + "/elsewhere"})]
    outbox.put("POST", "/x", json={}, files=[("a.jpg", b"a")])
    sender = make_sender(outbox, server.url)
    sender.run_once()
    info = the_item(outbox)
    assert info.state is ItemState.DEAD and info.last_status == status and info.last_error.startswith(f"HTTP {status}")
    assert len(server.requests) == 1  # the redirect was not followed
    assert len(list((outbox.data_dir / "files").iterdir())) == 1  # kept for a person to see and retry
    assert sender.run_once() == 0


def test_5xx_retries_with_capped_exponential_backoff_and_the_same_key(outbox, server, clock):
    server.script = [(500, {}), (502, {}), (503, {}), (504, {}), (500, {}), (500, {}), (500, {}), (201, {})]
    outbox.put("POST", "/x", json={})
    sender = make_sender(outbox, server.url, backoff=Backoff(base_s=2, cap_s=20, rng=lambda: 1.0))
    delays = []
    for _ in range(7):
        before = clock.now
        assert sender.run_once() == 1
        info = the_item(outbox)
        assert info.state is ItemState.PENDING
        delays.append(info.next_attempt_at - before)
        assert sender.run_once() == 0  # not due yet
        clock.advance(delays[-1])
    assert delays == [2, 4, 8, 16, 20, 20, 20]
    sender.run_once()
    assert the_item(outbox).state is ItemState.DONE and the_item(outbox).attempts == 8
    assert len({r["headers"]["Idempotency-Key"] for r in server.requests}) == 1


def test_backoff_jitter_stays_in_the_upper_half():
    low, high = Backoff(base_s=2, cap_s=300, rng=lambda: 0.0), Backoff(base_s=2, cap_s=300, rng=lambda: 0.999)
    for failures, ceiling in [(1, 2), (2, 4), (5, 32), (9, 300), (40, 300)]:
        assert low.delay(failures) == ceiling / 2 and ceiling / 2 < high.delay(failures) < ceiling


def test_429_honours_retry_after_seconds_and_dates(outbox, server, clock):
    outbox.put("POST", "/x", json={})
    sender = make_sender(outbox, server.url)
    server.script = [(429, {"Retry-After": "120"})]
    sender.run_once()
    assert the_item(outbox).next_attempt_at == clock.now + 120
    clock.advance(120)
    server.script = [(503, {"Retry-After": email.utils.formatdate(clock.now + 3600, usegmt=True)})]
    sender.run_once()
    assert the_item(outbox).next_attempt_at == pytest.approx(clock.now + 3600, abs=1)
    assert the_item(outbox).state is ItemState.PENDING


def test_parse_retry_after():
    now = 1_800_000_000.0
    assert parse_retry_after("30", now) == 30
    assert parse_retry_after(email.utils.formatdate(now + 90, usegmt=True), now) == pytest.approx(90, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 90, usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None
    assert parse_retry_after("99999999", now) == 24 * 3600


def test_connection_refused_retries_and_wake_sends_at_once(outbox, clock):
    down = ScriptedServer()
    port = down.port
    down.stop()  # nothing listens on the port now
    outbox.put("POST", "/x", json={"a": 1})
    outbox.put("POST", "/x", json={"a": 2})
    sender = make_sender(outbox, f"http://127.0.0.1:{port}", backoff=Backoff(base_s=60, cap_s=600, rng=lambda: 1.0))
    assert sender.run_once() == 1  # the second item is handed back untried
    assert sender.network_down and sender.paused_for() == 60
    first, second = outbox.list()
    assert first.state is ItemState.PENDING and first.attempts == 1 and "refused" in first.last_error
    assert second.state is ItemState.PENDING and second.attempts == 0
    assert sender.run_once() == 0  # paused: the link is down, don't burn attempts
    up = ScriptedServer(port)
    try:
        sender.wake()  # e.g. the network manager says the link is back
        assert sender.run_once() == 2
        assert [i.state for i in outbox.list()] == [ItemState.DONE, ItemState.DONE]
        assert not sender.network_down
    finally:
        up.stop()


def test_dropped_connection_and_timeout_retry_under_the_same_key(outbox, server, clock):
    server.script = ["drop", ("sleep", 1.5), (201, {"Idempotent-Replay": "true"})]
    outbox.put("POST", "/x", json={})
    sender = make_sender(outbox, server.url, read_timeout_s=0.5, backoff=Backoff(1, 10, rng=lambda: 1.0))
    sender.run_once()
    assert the_item(outbox).state is ItemState.PENDING
    clock.advance(10)
    sender.run_once()
    info = the_item(outbox)
    assert info.state is ItemState.PENDING and "ReadTimeout" in info.last_error
    clock.advance(10)
    sender.run_once()  # the slow answer was processed: the platform replays its first answer
    assert the_item(outbox).state is ItemState.DONE
    assert len({r["headers"]["Idempotency-Key"] for r in server.requests}) == 1 and len(server.requests) == 3


def test_undecryptable_item_goes_dead_not_lost(outbox, server):
    item_id = outbox.put("POST", "/x", json={})
    with sqlite3.connect(outbox.data_dir / "outbox.db") as db:  # flip one bit of the sealed body
        sealed = bytearray(db.execute("SELECT envelope FROM items").fetchone()[0])
        sealed[20] ^= 1
        db.execute("UPDATE items SET envelope = ? WHERE id = ?", (bytes(sealed), item_id))
    make_sender(outbox, server.url).run_once()
    info = the_item(outbox)
    assert info.state is ItemState.DEAD and "decrypt" in info.last_error and server.requests == []


def test_on_change_reports_pending_counts(outbox, server):
    seen = []
    sender = make_sender(outbox, server.url, on_change=lambda s: seen.append(s["pending"]))
    outbox.put("POST", "/x", json={})
    outbox.put("POST", "/x", json={})
    sender.run_until_empty(timeout=10)
    sender.stop()
    assert seen[:2] == [1, 2] and seen[-1] == 0


def test_run_until_empty_gives_up_when_the_platform_is_down(tmp_path):
    down = ScriptedServer()
    down.stop()
    with Outbox(tmp_path / "d", key_file=tmp_path / "k") as box:
        box.put("POST", "/x", json={})
        sender = Sender(box, down.url, backoff=Backoff(base_s=5, cap_s=60), connect_timeout_s=1, read_timeout_s=1,
                        lease_s=10)
        assert sender.run_until_empty(timeout=2) is False
        assert box.status()["pending"] == 1


# ----------------------------------------------------------------------------- background thread

def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_background_sender_sends_what_is_put(tmp_path, server):
    with Outbox(tmp_path / "d", key_file=tmp_path / "k") as box:
        sender = Sender(box, server.url, "t", idle_poll_s=60).start()
        try:
            box.put("POST", "/x", json={"n": 1})  # a put wakes the sleeping sender
            assert wait_for(lambda: box.status()["done"] == 1)
        finally:
            sender.stop()
    assert len(server.requests) == 1


def test_probe_wakes_the_sender_when_the_platform_returns(tmp_path):
    down = ScriptedServer()
    port = down.port
    down.stop()
    with Outbox(tmp_path / "d", key_file=tmp_path / "k") as box:
        box.put("POST", "/x", json={"n": 1})
        # Backoff alone would wait 10 minutes; the probe must notice the platform well before that.
        sender = Sender(box, f"http://127.0.0.1:{port}", backoff=Backoff(base_s=600, cap_s=600),
                        probe_interval_s=0.1, idle_poll_s=600).start()
        try:
            assert wait_for(lambda: (box.list()[0].last_error or "").endswith("refused"))
            up = ScriptedServer(port)
            try:
                assert wait_for(lambda: box.status()["done"] == 1)
            finally:
                up.stop()
        finally:
            sender.stop()
    assert sender.stats["sent"] == 1 and sender.stats["network_errors"] >= 1


def test_sender_refuses_a_bad_base_url(outbox):
    with pytest.raises(ValueError, match="base URL"):
        Sender(outbox, "ftp://example.org")
    with pytest.raises(ValueError, match="lease"):
        Sender(outbox, "http://127.0.0.1:1", lease_s=10, connect_timeout_s=5, read_timeout_s=30)


def test_error_kind_is_recorded_for_wake(outbox, server, clock):
    """wake() expedites network failures only; a 429's Retry-After still stands."""
    server.script = [(429, {"Retry-After": "3600"})]
    outbox.put("POST", "/x", json={})
    sender = make_sender(outbox, server.url)
    sender.run_once()
    sender.wake()
    assert sender.run_once() == 0 and the_item(outbox).state is ItemState.PENDING
    assert ErrorKind.HTTP.value == "http"
