"""How the sender tells "the link is down" from "this request failed", each on real loopback sockets.

Link down (refused, no DNS answer, connect timeout, TLS failure, or a broken exchange after which
the platform's port is gone): the sender pauses, the item waits as a network failure, the next item
is handed back untried. This request failed (reset after sending, read timeout, 5xx, 429): only
that item waits, for its own backoff or its ``Retry-After``, and the next item goes at once.
"""
from __future__ import annotations

import socket
import sqlite3
import struct
import threading

import pytest
import requests

from offline_queue import Backoff, ItemState, Outbox, Sender
from offline_queue.items import ErrorKind
from offline_queue.sender import classify
from test_outbox_sender import ScriptedServer
from test_outbox_store import FakeClock

ITEM_BACKOFF = 0.5  # Backoff(base_s=1, rng=lambda: 0.0): the first retry after half the base


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def outbox(tmp_path, clock):
    box = Outbox(tmp_path / "data", key_file=tmp_path / "outbox.key", clock=clock)
    yield box
    box.close()


def two_items(outbox) -> tuple[str, str]:
    return outbox.put("POST", "/x", json={"n": 1}), outbox.put("POST", "/x", json={"n": 2})


def sender_for(outbox, url: str, **kw) -> Sender:
    kw.setdefault("connect_timeout_s", 2)
    kw.setdefault("read_timeout_s", 2)
    return Sender(outbox, url, "demo-token", backoff=Backoff(base_s=1, cap_s=60, rng=lambda: 0.0), lease_s=30,
                  probe_interval_s=None, **kw)


def error_kind(outbox, item_id: str) -> str:
    with sqlite3.connect(outbox.data_dir / "outbox.db") as db:
        return db.execute("SELECT last_error_kind FROM items WHERE id = ?", (item_id,)).fetchone()[0]


def assert_link_down(outbox, sender, first: str, second: str, words: str) -> None:
    info = {i.id: i for i in outbox.list()}
    assert sender.network_down and sender.paused_for() > 0 and sender.stats["link_down"] == 1
    assert info[first].state is ItemState.PENDING and info[first].attempts == 1
    assert words in info[first].last_error and error_kind(outbox, first) == ErrorKind.NETWORK.value
    assert info[second].state is ItemState.PENDING and info[second].attempts == 0  # handed back untried
    assert sender.run_once() == 0  # paused: no attempts burnt on a dead link


def assert_item_failed(outbox, sender, clock, first: str, second: str, words: str, due_in: float) -> None:
    info = {i.id: i for i in outbox.list()}
    assert not sender.network_down and sender.paused_for() == 0 and sender.stats["link_down"] == 0
    assert info[first].state is ItemState.PENDING and info[first].attempts == 1
    assert words in info[first].last_error and error_kind(outbox, first) == ErrorKind.HTTP.value
    assert info[first].next_attempt_at == pytest.approx(clock.now + due_in, abs=1)
    assert info[second].state is ItemState.DONE  # the other items go on


# ----------------------------------------------------------------------------- the link is down

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_is_the_link(outbox):
    first, second = two_items(outbox)
    sender = sender_for(outbox, f"http://127.0.0.1:{closed_port()}")
    assert sender.run_once() == 1
    assert_link_down(outbox, sender, first, second, "refused")


def test_a_name_that_does_not_resolve_is_the_link(outbox, monkeypatch):
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host == "platform.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    first, second = two_items(outbox)
    sender = sender_for(outbox, "http://platform.invalid:8080")
    sender.run_once()
    assert_link_down(outbox, sender, first, second, "Name or service not known")


def test_connect_timeout_is_the_link(outbox):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # never accepted: once the queue is full, connections are left unanswered
    filler = []
    try:
        while True:
            s = socket.socket()
            s.settimeout(0.3)
            filler.append(s)
            s.connect(listener.getsockname())
    except OSError:
        pass
    try:
        first, second = two_items(outbox)
        sender = sender_for(outbox, "http://127.0.0.1:%d" % listener.getsockname()[1], connect_timeout_s=0.3)
        sender.run_once()
        assert_link_down(outbox, sender, first, second, "ConnectTimeout")
    finally:
        for s in filler + [listener]:
            s.close()


def test_a_tls_failure_is_the_link(outbox):
    plain = ScriptedServer()  # speaks HTTP, not TLS
    try:
        first, second = two_items(outbox)
        sender = sender_for(outbox, f"https://127.0.0.1:{plain.port}")
        sender.run_once()
        assert_link_down(outbox, sender, first, second, "SSL")
        assert plain.requests == []
    finally:
        plain.stop()


def test_a_reset_after_which_the_port_is_gone_is_the_link(outbox):
    """The exchange breaks mid-request and the probe of the platform's port fails: the link went."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_once():
        conn, _ = listener.accept()
        conn.recv(65536)
        listener.close()  # the platform's port no longer answers …
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # … and the exchange is cut with a reset

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    first, second = two_items(outbox)
    sender = sender_for(outbox, f"http://127.0.0.1:{port}")
    sender.run_once()
    thread.join(5)
    assert_link_down(outbox, sender, first, second, "port does not answer")


# ----------------------------------------------------------------------------- this request failed

@pytest.fixture
def server():
    s = ScriptedServer()
    yield s
    s.stop()


def counting_probes(sender: Sender) -> list[bool]:
    """Wrap the sender's probe of the platform's port; returns the list its answers are appended to."""
    probes, probe = [], sender._platform_port_answers

    def counted() -> bool:
        probes.append(probe())
        return probes[-1]

    sender._platform_port_answers = counted
    return probes


def test_a_reset_after_sending_is_this_request(outbox, server, clock):
    server.by_n = {1: "drop", 2: (201, {})}
    first, second = two_items(outbox)
    sender = sender_for(outbox, server.url)
    probes = counting_probes(sender)
    assert sender.run_once() == 2
    assert_item_failed(outbox, sender, clock, first, second, "ConnectionError", ITEM_BACKOFF)
    assert sender.stats["network_errors"] == 1
    assert probes == [True]  # nothing answered meanwhile: the platform's port was asked, and answered


def test_a_reset_while_the_platform_answers_others_needs_no_probe(outbox, server, clock):
    """The platform answered another request while this one was under way: it is reachable, so the
    broken exchange is this request's alone, known without a probe (a round trip on a thin link)."""
    outbox.put("POST", "/x", json={"n": 0})
    cut = threading.Event()
    server.by_n = {1: ("drop_when", cut)}
    sender = sender_for(outbox, server.url, concurrency=2)
    probes = counting_probes(sender)
    assert sender.run_once() == 1  # the platform answers: two requests at once from now on
    first, second = two_items(outbox)
    passes = threading.Thread(target=sender.run_once, daemon=True)
    passes.start()
    while sender.stats["sent"] < 2 and passes.is_alive():  # the second item's answer arrived …
        cut.wait(0.01)
    cut.set()  # … then the first item's exchange breaks
    passes.join(10)
    assert_item_failed(outbox, sender, clock, first, second, "ConnectionError", ITEM_BACKOFF)
    assert probes == []


def test_a_read_timeout_on_a_slow_answer_is_this_request(outbox, server, clock):
    server.by_n = {1: ("sleep", 1.5), 2: (201, {})}
    first, second = two_items(outbox)
    sender = sender_for(outbox, server.url, read_timeout_s=0.5)
    assert sender.run_once() == 2
    assert_item_failed(outbox, sender, clock, first, second, "ReadTimeout", ITEM_BACKOFF)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_an_error_status_is_this_request(outbox, server, clock, status):
    server.by_n = {1: (status, {}), 2: (201, {})}
    first, second = two_items(outbox)
    sender = sender_for(outbox, server.url)
    assert sender.run_once() == 2
    assert_item_failed(outbox, sender, clock, first, second, f"HTTP {status}", ITEM_BACKOFF)


def test_retry_after_is_honoured_per_item(outbox, server, clock):
    server.by_n = {1: (429, {"Retry-After": "7"}), 2: (503, {"Retry-After": "40"}), 3: (201, {})}
    first, second, third = *two_items(outbox), outbox.put("POST", "/x", json={"n": 3})
    sender = sender_for(outbox, server.url, concurrency=1)
    assert sender.run_once() == 3
    info = {i.id: i for i in outbox.list()}
    assert (info[first].next_attempt_at, info[second].next_attempt_at) == (clock.now + 7, clock.now + 40)
    assert info[third].state is ItemState.DONE and not sender.network_down and sender.paused_for() == 0
    clock.advance(7)
    server.script = [(201, {})]
    assert sender.run_once() == 1  # only the 429's item is due; the 503's waits its own 40 s
    assert outbox.list()[0].state is ItemState.DONE and outbox.list()[1].state is ItemState.PENDING
    clock.advance(33)
    assert sender.run_once() == 1 and outbox.status()["done"] == 3
    assert len({r["headers"]["Idempotency-Key"] for r in server.requests}) == 3  # one key per item, ever


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 413, 422])
def test_a_refusal_is_dead_and_the_link_fine(outbox, server, status):
    server.by_n = {1: (status, {}), 2: (201, {})}
    first, second = two_items(outbox)
    sender = sender_for(outbox, server.url)
    assert sender.run_once() == 2
    info = {i.id: i for i in outbox.list()}
    assert info[first].state is ItemState.DEAD and info[first].last_status == status
    assert info[second].state is ItemState.DONE and not sender.network_down


# ----------------------------------------------------------------------------- the rule itself

def test_classify_on_the_exceptions_requests_raises(server):
    """The same cases, straight from requests: what ``classify`` says about each."""
    def failure(url, timeout=(2, 2)):
        try:
            requests.post(url, data=b"{}", timeout=timeout)
        except requests.RequestException as exc:
            return exc
        raise AssertionError("no failure")

    server.script = ["drop", ("sleep", 1.0)]
    assert classify(failure(f"http://127.0.0.1:{closed_port()}/x")) is ErrorKind.NETWORK
    assert classify(failure(f"https://127.0.0.1:{server.port}/x")) is ErrorKind.NETWORK
    assert classify(failure(server.url + "/x")) is ErrorKind.HTTP  # reset after sending
    assert classify(failure(server.url + "/x", timeout=(2, 0.3))) is ErrorKind.HTTP  # read timeout
    assert classify(requests.ConnectTimeout("no connection")) is ErrorKind.NETWORK
    assert classify(requests.exceptions.ChunkedEncodingError("broken answer")) is ErrorKind.HTTP


def test_an_item_that_cannot_be_read_now_waits_and_the_others_go_on(outbox, server, clock, monkeypatch):
    first, second = two_items(outbox)
    real_load = Outbox.load

    def load(self, item):
        if item.id == first:
            raise OSError(5, "Input/output error")
        return real_load(self, item)

    monkeypatch.setattr(Outbox, "load", load)
    sender = sender_for(outbox, server.url)
    assert sender.run_once() == 2
    info = {i.id: i for i in outbox.list()}
    assert info[first].state is ItemState.PENDING and "Input/output error" in info[first].last_error
    assert info[first].next_attempt_at == clock.now + ITEM_BACKOFF
    assert info[second].state is ItemState.DONE and not sender.network_down
    monkeypatch.setattr(Outbox, "load", real_load)
    clock.advance(ITEM_BACKOFF)
    assert sender.run_once() == 1 and outbox.status()["done"] == 2
