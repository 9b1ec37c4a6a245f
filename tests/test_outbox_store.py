"""The outbox store: durability, leases, states, limits, corruption, encryption at rest."""
from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from offline_queue import (InvalidItem, ItemNotFound, ItemState, KeyFileError, Outbox, OutboxFull,
                           UndeliverableItem)

NAME = "张三丰"
ID_NUMBER = "11010519491231002X"
REPO = Path(__file__).resolve().parent.parent


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def paths(tmp_path):
    return tmp_path / "data", tmp_path / "keys" / "outbox.key"


@pytest.fixture
def outbox(paths, clock):
    data, key = paths
    box = Outbox(data, key_file=key, clock=clock)
    yield box
    box.close()


def reopen(paths, clock, **kw) -> Outbox:
    return Outbox(paths[0], key_file=paths[1], clock=clock, **kw)


def files_on_disk(paths) -> list[str]:
    return sorted(os.listdir(paths[0] / "files"))


def row_count(paths) -> int:
    with sqlite3.connect(paths[0] / "outbox.db") as db:
        return db.execute("SELECT COUNT(*) FROM items").fetchone()[0]


# ----------------------------------------------------------------------------- basics

def test_put_is_pending_with_age_and_bytes(outbox, clock):
    assert outbox.status() == {"pending": 0, "inflight": 0, "done": 0, "dead": 0,
                               "oldest_pending_age_s": None, "bytes": 0}
    item_id = outbox.put("post", "/api/v1/ratings", json={"score": 5}, files=[("a.txt", b"hello")])
    clock.advance(42)
    status = outbox.status()
    assert (status["pending"], status["oldest_pending_age_s"]) == (1, 42.0)
    assert status["bytes"] > len(b"hello") + len('{"score":5}')
    [info] = outbox.list()
    assert (info.id, info.state, info.method, info.path, info.file_count) == (
        item_id, ItemState.PENDING, "POST", "/api/v1/ratings", 1)


def test_lease_claims_due_items_oldest_first(outbox, clock):
    ids = [outbox.put("POST", "/x", json={"n": n}) for n in range(3)]
    first = outbox.lease(limit=2)
    assert [i.id for i in first] == ids[:2]
    assert [i.id for i in outbox.lease(limit=5)] == ids[2:]
    assert outbox.lease() == []
    assert outbox.status()["inflight"] == 3
    outbox.mark_retry(first[0], 10, "HTTP 500", "http", 500)
    assert outbox.lease() == []  # not due yet
    clock.advance(10)
    again = outbox.lease()
    assert [i.id for i in again] == [ids[0]]
    assert again[0].idempotency_key == first[0].idempotency_key  # the same key on every retry
    assert again[0].attempts == 1


def test_outcome_needs_the_current_lease(outbox, clock):
    outbox.put("POST", "/x", json={})
    [stale] = outbox.lease(lease_s=60)
    clock.advance(61)
    [fresh] = outbox.lease(lease_s=60)  # the first holder died; its lease expired; reclaimed
    assert fresh.id == stale.id and fresh.lease_token != stale.lease_token
    assert outbox.mark_done(stale, 201) is False
    assert outbox.status()["inflight"] == 1
    assert outbox.mark_done(fresh, 201) is True
    assert outbox.status()["done"] == 1


def test_lease_records_outcomes_in_the_same_transaction(outbox, clock):
    from offline_queue.items import ErrorKind, Outcome

    a, b, c = (outbox.put("POST", "/x", json={"n": n}, files=[("s.jpg", b"s")]) for n in range(3))
    [leased_a] = outbox.lease(limit=1)
    with pytest.raises(ValueError):  # a bad outcome: nothing of the transaction is kept
        outbox.lease(limit=1, settle=[Outcome(leased_a, ItemState.DONE, 201),
                                      Outcome(leased_a, ItemState.INFLIGHT)])
    assert outbox.status()["inflight"] == 1 and outbox.status()["pending"] == 2
    [leased_b] = outbox.lease(limit=1, settle=[Outcome(leased_a, ItemState.DONE, 201)])
    assert leased_b.id == b
    [leased_c] = outbox.lease(limit=5, settle=[
        Outcome(leased_b, ItemState.PENDING, 503, "HTTP 503", ErrorKind.HTTP, clock.now + 60)])
    assert leased_c.id == c  # b is not due again for a minute
    info = {i.id: i for i in outbox.list()}
    assert info[a].state is ItemState.DONE and info[a].attempts == 1
    assert info[b].state is ItemState.PENDING and info[b].next_attempt_at == clock.now + 60
    assert sorted(f.name for f in (outbox.data_dir / "files").iterdir()) == sorted([f"{b}.0", f"{c}.0"])


def test_expired_leases_return_to_pending_at_open(paths, clock):
    with reopen(paths, clock) as box:
        box.put("POST", "/x", json={"a": 1})
        [held] = box.lease(lease_s=60)
    clock.advance(30)
    with reopen(paths, clock) as box:
        assert box.status()["inflight"] == 1  # still leased: its sender may be alive
    clock.advance(31)
    with reopen(paths, clock) as box:
        assert box.status()["pending"] == 1
        [again] = box.lease()
        assert again.idempotency_key == held.idempotency_key
        assert box.load(again).json_text == '{"a":1}'


def test_reopen_after_kill_9(paths, clock):
    """A process that acknowledged puts and held a lease is killed; everything it acknowledged is there."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from offline_queue import Outbox
        box = Outbox({str(paths[0])!r}, key_file={str(paths[1])!r}, clock=lambda: {clock.now!r})
        ids = [box.put("POST", "/x", json={{"n": n}}, files=[("f.bin", bytes([n]) * 1000)]) for n in range(5)]
        box.lease(limit=2, lease_s=60)
        print(" ".join(ids), flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    acknowledged = proc.stdout.readline().split()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(acknowledged) == 5
    clock.advance(61)
    with reopen(paths, clock) as box:
        assert box.status()["pending"] == 5
        leased = box.lease(limit=10)
        assert sorted(i.id for i in leased) == sorted(acknowledged)
        for item in leased:
            n = box.load(item).files[0].data[0]
            assert box.load(item).files[0].data == bytes([n]) * 1000


def test_done_forgets_body_and_files_and_prunes_after_retention(paths, clock):
    with reopen(paths, clock, retention_s=3600) as box:
        item_id = box.put("POST", "/x", json={"name": NAME}, files=[("a.jpg", b"1" * 100), ("b.jpg", b"2" * 100)])
        assert len(files_on_disk(paths)) == 2
        [item] = box.lease()
        assert box.mark_done(item, 201)
        assert files_on_disk(paths) == []
        assert box.status()["bytes"] == 0
        [info] = box.list()
        assert (info.id, info.state, info.last_status, info.attempts) == (item_id, ItemState.DONE, 201, 1)
        with pytest.raises(UndeliverableItem):
            box.load(item)  # the body is gone, not merely hidden
    clock.advance(1800)
    with reopen(paths, clock, retention_s=3600) as box:
        assert box.status()["done"] == 1
    clock.advance(1801)
    with reopen(paths, clock, retention_s=3600) as box:
        assert box.status()["done"] == 0


def test_purge_done_removes_only_done(outbox):
    for n in range(3):
        outbox.put("POST", "/x", json={"n": n})
    a, b, _c = outbox.lease(limit=3)
    outbox.mark_done(a, 200)
    outbox.mark_dead(b, "HTTP 422", status=422)
    assert outbox.purge_done() == 1
    assert {i.state for i in outbox.list()} == {ItemState.DEAD, ItemState.INFLIGHT}


def test_dead_items_are_kept_visible_and_retried_on_request(outbox, clock):
    ids = [outbox.put("POST", "/x", json={"n": n}) for n in range(3)]
    for item in outbox.lease(limit=3):
        outbox.mark_dead(item, "HTTP 422 Unprocessable Entity", status=422)
    assert outbox.status()["dead"] == 3
    assert outbox.lease() == []  # dead items are never sent on their own
    info = {i.id: i for i in outbox.list()}
    assert info[ids[0]].last_error == "HTTP 422 Unprocessable Entity" and info[ids[0]].last_status == 422
    outbox.retry(ids[0])
    assert [i.id for i in outbox.lease()] == [ids[0]]
    assert outbox.retry_dead() == 2
    assert outbox.status()["pending"] == 2
    with pytest.raises(ItemNotFound):
        outbox.retry("no-such-id")
    with pytest.raises(InvalidItem, match="inflight"):
        outbox.retry(ids[0])


def test_dead_items_survive_reopen_long_after(paths, clock):
    with reopen(paths, clock, retention_s=60) as box:
        box.put("POST", "/x", json={})
        [item] = box.lease()
        box.mark_dead(item, "HTTP 400")
    clock.advance(10 * 365 * 86400)
    with reopen(paths, clock, retention_s=60) as box:
        assert box.status()["dead"] == 1  # retention prunes done rows only; nothing is deleted unseen


# ----------------------------------------------------------------------------- bad input, limits, faults

@pytest.mark.parametrize("call, message", [
    (lambda b: b.put("GET", "/x", json={}), "method"),
    (lambda b: b.put("POST", "http://evil/x", json={}), "path"),
    (lambda b: b.put("POST", "/x y", json={}), "path"),
    (lambda b: b.put("POST", "/x", json={"a": float("nan")}), "JSON"),
    (lambda b: b.put("POST", "/x", json={"a": object()}), "JSON"),
    (lambda b: b.put("POST", "/x", json={}, files=["/no/such/file.jpg"]), "not found"),
    (lambda b: b.put("POST", "/x", json={}, files=[("../a", b"x")]), "name"),
    (lambda b: b.put("POST", "/x", json={}, files="/etc/hostname"), "list"),
])
def test_bad_input_is_refused_and_nothing_written(outbox, paths, call, message):
    with pytest.raises(InvalidItem, match=message):
        call(outbox)
    assert outbox.status()["pending"] == 0 and row_count(paths) == 0 and files_on_disk(paths) == []


def test_quota_refuses_and_writes_nothing(paths, clock):
    with reopen(paths, clock, quota_bytes=300_000) as box:
        box.put("POST", "/x", json={}, files=[("a.jpg", os.urandom(200_000))])
        before = box.status()
        with pytest.raises(OutboxFull, match="quota"):
            box.put("POST", "/x", json={}, files=[("b.jpg", os.urandom(50_000)), ("c.jpg", os.urandom(60_000))])
        assert box.status() == before
        assert row_count(paths) == 1 and len(files_on_disk(paths)) == 1
        [item] = box.lease()
        box.mark_done(item, 201)  # delivering frees the room
        box.put("POST", "/x", json={}, files=[("b.jpg", os.urandom(250_000))])


def test_disk_reserve_refuses(paths, clock):
    with reopen(paths, clock, min_free_bytes=1 << 62) as box:
        with pytest.raises(OutboxFull, match="free on the disk"):
            box.put("POST", "/x", json={})
        assert box.status()["pending"] == 0


def test_failed_fsync_is_never_success(outbox, paths, monkeypatch):
    def failing_fsync(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        outbox.put("POST", "/x", json={"name": NAME}, files=[("scan.jpg", b"x" * 5000)])
    monkeypatch.undo()
    assert outbox.status()["pending"] == 0 and row_count(paths) == 0
    assert files_on_disk(paths) == []  # neither the file nor its temporary


def test_full_disk_is_never_success(paths):
    """A real write failure: the child may not grow any file past 64 KiB (RLIMIT_FSIZE → EFBIG)."""
    Outbox(paths[0], key_file=paths[1]).close()
    big = paths[0].parent / "scan.jpg"
    big.write_bytes(os.urandom(300_000))
    script = textwrap.dedent(f"""
        import resource, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        from offline_queue import Outbox
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        box = Outbox({str(paths[0])!r}, key_file={str(paths[1])!r})
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
        try:
            box.put("POST", "/x", json={{"n": 1}}, files=[{str(big)!r}])
        except Exception as exc:
            print("REFUSED", type(exc).__name__, exc)
        else:
            print("STORED")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("REFUSED"), out.stdout + out.stderr
    with Outbox(paths[0], key_file=paths[1]) as box:
        assert box.status()["pending"] == 0
    assert files_on_disk(paths) == []


def test_corrupt_header_is_moved_aside_and_a_fresh_db_used(paths, clock):
    with reopen(paths, clock) as box:
        box.put("POST", "/x", json={}, files=[("a", b"a")])
    (paths[0] / "outbox.db").write_bytes(b"this is not a database at all" * 200)
    with reopen(paths, clock) as box:
        assert box.recovered_from is not None and "bad header" in box.recovery_reason
        assert (box.recovered_from / "outbox.db").read_bytes().startswith(b"this is not")
        assert len(os.listdir(box.recovered_from / "files")) == 1  # kept for a technician, not deleted
        assert box.status()["pending"] == 0
        box.put("POST", "/x", json={"works": True})
        assert box.status()["pending"] == 1
    with reopen(paths, clock) as box:
        assert box.recovered_from is None and box.status()["pending"] == 1


def test_corrupt_pages_are_detected(paths, clock):
    with reopen(paths, clock) as box:
        for n in range(300):
            box.put("POST", "/x", json={"n": n, "pad": "x" * 500})
    db_file = paths[0] / "outbox.db"
    assert not (paths[0] / "outbox.db-wal").exists() or (paths[0] / "outbox.db-wal").stat().st_size == 0
    data = bytearray(db_file.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, 7 * page):  # scribble over several b-tree pages
        data[offset:offset + 64] = os.urandom(64)
    db_file.write_bytes(bytes(data))
    with reopen(paths, clock) as box:
        assert box.recovered_from is not None
        assert box.status()["pending"] == 0
        box.put("POST", "/x", json={})


# ----------------------------------------------------------------------------- encryption at rest

def test_key_file_is_created_0600_outside_the_data_folder(paths, clock):
    with reopen(paths, clock):
        pass
    key = paths[1]
    assert key.stat().st_mode & 0o777 == 0o600 and key.stat().st_size == 32
    assert not str(key.resolve()).startswith(str(paths[0].resolve()))


def test_key_file_with_wrong_mode_or_size_is_refused(paths, clock):
    with reopen(paths, clock):
        pass
    os.chmod(paths[1], 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        reopen(paths, clock)
    os.chmod(paths[1], 0o600)
    with open(paths[1], "ab") as fh:
        fh.write(b"\n")
    with pytest.raises(KeyFileError, match="33 bytes"):
        reopen(paths, clock)


def test_key_file_inside_the_data_folder_is_refused(tmp_path):
    with pytest.raises(KeyFileError, match="outside"):
        Outbox(tmp_path / "data", key_file=tmp_path / "data" / "outbox.key")
    assert not (tmp_path / "data" / "outbox.key").exists()


def test_sealed_parts_are_bound_to_their_item(outbox, paths):
    a = outbox.put("POST", "/x", json={"who": "a"}, files=[("a.jpg", b"AAAA")])
    b = outbox.put("POST", "/x", json={"who": "b"}, files=[("b.jpg", b"BBBB")])
    with sqlite3.connect(paths[0] / "outbox.db") as db:  # swap the sealed bodies between the rows
        env = dict(db.execute("SELECT id, envelope FROM items"))
        db.execute("UPDATE items SET envelope = ? WHERE id = ?", (env[b], a))
        db.execute("UPDATE items SET envelope = ? WHERE id = ?", (env[a], b))
    item_a, item_b = outbox.lease(limit=2)
    with pytest.raises(UndeliverableItem, match="decrypt"):
        outbox.load(item_a)
    with sqlite3.connect(paths[0] / "outbox.db") as db:  # restore bodies, swap the files instead
        db.execute("UPDATE items SET envelope = ? WHERE id = ?", (env[a], a))
        db.execute("UPDATE items SET envelope = ? WHERE id = ?", (env[b], b))
    files = paths[0] / "files"
    os.replace(files / f"{a}.0", files / "swap")
    os.replace(files / f"{b}.0", files / f"{a}.0")
    os.replace(files / "swap", files / f"{b}.0")
    with pytest.raises(UndeliverableItem, match="file:0"):
        outbox.load(item_b)


def test_another_key_cannot_open_items(paths, clock, tmp_path):
    with reopen(paths, clock) as box:
        box.put("POST", "/x", json={"a": 1})
    with Outbox(paths[0], key_file=tmp_path / "other.key", clock=clock) as box:
        [item] = box.lease()
        with pytest.raises(UndeliverableItem, match="wrong key file"):
            box.load(item)


def grep_folder(folder: Path, needles: list[bytes]) -> list[tuple[str, bytes]]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [(str(path), n) for n in needles if n in data]
    return found


def personal_needles() -> list[bytes]:
    needles = []
    for text in (NAME, ID_NUMBER, "19491231"):
        for encoding in ("utf-8", "gb18030", "utf-16-le"):
            needles.append(text.encode(encoding))
    return needles


def test_no_personal_data_in_the_data_folder(paths, clock, tmp_path):
    scan = tmp_path / f"{NAME}-身份证.jpg"
    scan.write_bytes(b"\xff\xd8" + f"{NAME} {ID_NUMBER}".encode() * 50 + b"\xff\xd9")
    with reopen(paths, clock) as box:
        for _ in range(3):
            box.put("POST", "/api/v1/submissions", json={"name": NAME, "id_number": ID_NUMBER},
                    files=[scan, (f"{NAME}.txt", ID_NUMBER.encode("utf-16-le"))])
        assert grep_folder(paths[0], personal_needles()) == []  # WAL included, before checkpoint
        [item, *_] = box.lease(limit=3)
        assert box.load(item).files[0].name == scan.name  # it is all there, just not readable without the key
        box.mark_dead(item, "HTTP 422")
    assert grep_folder(paths[0], personal_needles()) == []  # after the checkpoint at close


# ----------------------------------------------------------------------------- observers, threads, sweep

def test_subscribers_see_every_change(outbox):
    seen = []
    unsubscribe = outbox.subscribe(lambda status: seen.append(status["pending"]))
    outbox.put("POST", "/x", json={})
    outbox.put("POST", "/x", json={})
    [item] = outbox.lease()
    outbox.mark_done(item, 200)
    unsubscribe()
    outbox.put("POST", "/x", json={})
    assert seen == [1, 2, 1]


def test_concurrent_puts_from_threads(outbox):
    ids: list[str] = []

    def produce():
        for n in range(40):
            ids.append(outbox.put("POST", "/x", json={"n": n}, files=[("f", b"x")] if n % 4 == 0 else ()))

    threads = [threading.Thread(target=produce) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 160 and outbox.status()["pending"] == 160
    assert len(outbox.lease(limit=1000)) == 160


def test_orphan_files_are_swept_at_open(paths, clock):
    with reopen(paths, clock) as box:
        live = box.put("POST", "/x", json={}, files=[("a", b"a")])
    files = paths[0] / "files"
    (files / ".tmp-0123456789abcdef0123456789abcdef.0").write_bytes(b"half written")
    (files / "0123456789abcdef0123456789abcdef.0").write_bytes(b"never committed")
    with reopen(paths, clock):
        assert files_on_disk(paths) == [f"{live}.0"]


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 1 MiB filesystem (tmpfs), so that a write really fails with ENOSPC."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_really_full_disk_is_never_success(tiny_disk, tmp_path, clock):
    key = tmp_path / "outbox.key"
    ballast = tiny_disk / "other-logs.bin"  # something else on the disk, that a technician can remove
    ballast.write_bytes(os.urandom(300_000))
    acknowledged, failures = [], []
    with Outbox(tiny_disk / "outbox", key_file=key, clock=clock, min_free_bytes=0) as box:
        for n in range(40):  # scans, until the disk is full
            try:
                acknowledged.append(box.put("POST", "/x", json={"n": n}, files=[("scan.jpg", os.urandom(60_000))]))
            except (OSError, OutboxFull) as exc:
                failures.append(exc)
                break
        for n in range(2000):  # then small items, until SQLite itself cannot grow its log
            try:
                acknowledged.append(box.put("POST", "/x", json={"n": n, "pad": "x" * 3000}))
            except (OSError, OutboxFull) as exc:
                failures.append(exc)
                break
        assert len(failures) == 2 and acknowledged, "the disk never filled"
        assert box.status()["pending"] == len(acknowledged)
        with_files = [i for i in box.list() if i.file_count]
        assert len(files_on_disk((tiny_disk / "outbox", key))) == len(with_files)  # no half-written file left
        ballast.unlink()  # room again: everything acknowledged is there and goes out
        leased = box.lease(limit=10_000)
        assert sorted(i.id for i in leased) == sorted(acknowledged)
        for item in leased:
            assert json.loads(box.load(item).json_text)["n"] >= 0
        assert box.mark_done_many((item, 201) for item in leased) == len(acknowledged)
        box.put("POST", "/x", json={"after": True}, files=[("scan.jpg", os.urandom(60_000))])
    with Outbox(tiny_disk / "outbox", key_file=key, clock=clock, min_free_bytes=0) as box:
        assert box.recovered_from is None
        assert (box.status()["pending"], box.status()["done"]) == (1, len(acknowledged))
