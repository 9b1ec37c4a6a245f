"""At-most-once writes: a repeated Idempotency-Key answers the first answer and stores nothing new.

Over real HTTP on loopback against ``POST /api/v1/echo``, plus the machinery itself on a real
SQLite database for the paths no endpoint takes yet (a refusal stored as the answer, a crash).
"""
from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import uuid

import pytest
import requests
from fastapi import HTTPException

import sqlalchemy as sa
from backend.db import Database, echoes
from backend.idempotency import IdempotentWrite
from backend.server import BackendThread

DEMO = {"Authorization": "Bearer demo-token"}
OTHER_TOKEN = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return tmp_path_factory.mktemp("idem") / "backend.sqlite3"


@pytest.fixture(scope="module")
def backend(db_path):
    with BackendThread(db_url=f"sqlite:///{db_path}") as server:
        yield server


def echo(server, key, headers=None, **kwargs):
    hdrs = {**DEMO, **(headers or {})}
    if key is not None:
        hdrs["Idempotency-Key"] = key
    return requests.post(server.url + "/api/v1/echo", headers=hdrs, timeout=30, **kwargs)


def stored(db_path, key):
    with sqlite3.connect(db_path) as conn:
        echo_rows = conn.execute("SELECT COUNT(*) FROM echoes WHERE idempotency_key=?", (key,)).fetchone()[0]
        key_rows = conn.execute("SELECT COUNT(*) FROM idempotency_keys WHERE key=?", (key,)).fetchone()[0]
    return echo_rows, key_rows


def test_a_repeat_answers_the_first_answer_and_stores_once(backend, db_path):
    key = str(uuid.uuid4())
    body = {"rating": 5, "comment": "办事很快", "items": [1, 2, 3]}
    first = echo(backend, key, json=body)
    assert first.status_code == 201
    assert "Idempotent-Replay" not in first.headers
    assert first.json()["received"] == body and isinstance(first.json()["id"], int)

    second = echo(backend, key, json=body)
    assert second.status_code == 201
    assert second.headers["Idempotent-Replay"] == "true"
    assert second.content == first.content
    # Same JSON with its keys in another order is the same request.
    reordered = echo(backend, key, data=json.dumps(dict(reversed(body.items()))),
                     headers={"Content-Type": "application/json"})
    assert reordered.status_code == 201 and reordered.content == first.content
    assert stored(db_path, key) == (1, 1)


def test_same_key_with_a_different_body_is_refused(backend, db_path):
    key = str(uuid.uuid4())
    assert echo(backend, key, json={"n": 1}).status_code == 201
    refused = echo(backend, key, json={"n": 2})
    assert refused.status_code == 422
    assert "Idempotency-Key" in refused.json()["error"]
    assert stored(db_path, key) == (1, 1)


def test_same_key_from_another_kiosk_or_path_is_refused(backend, db_path):
    db = Database(f"sqlite:///{db_path}")
    try:
        db.register_kiosks({"kiosk-other": OTHER_TOKEN})
    finally:
        db.dispose()
    key = str(uuid.uuid4())
    first = echo(backend, key, json={"secret": "first kiosk's answer"})
    assert first.status_code == 201
    other = echo(backend, key, headers={"Authorization": f"Bearer {OTHER_TOKEN}"}, json={"secret": "first kiosk's answer"})
    assert other.status_code == 422, "another kiosk must not read the first kiosk's answer"
    assert "first kiosk" not in other.text
    heartbeat = requests.post(backend.url + "/api/v1/kiosks/demo-kiosk-001/heartbeat", timeout=10,
                              headers={**DEMO, "Idempotency-Key": key}, json={"secret": "first kiosk's answer"})
    assert heartbeat.status_code == 422
    assert stored(db_path, key) == (1, 1)


@pytest.mark.parametrize("key", [None, "", "has space", "x" * 256, "键"])
def test_missing_or_malformed_key_is_refused_before_anything_is_stored(backend, db_path, key):
    with sqlite3.connect(db_path) as conn:
        before = conn.execute("SELECT COUNT(*) FROM echoes").fetchone()[0]
    headers = {} if key is None else {"Idempotency-Key": key.encode("utf-8")}
    response = requests.post(backend.url + "/api/v1/echo", headers={**DEMO, **headers},
                             json={"n": 1}, timeout=10)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM echoes").fetchone()[0] == before


def test_a_bad_body_does_not_use_up_the_key(backend, db_path):
    key = str(uuid.uuid4())
    bad = echo(backend, key, data=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]
    assert echo(backend, key, data=b"<xml/>", headers={"Content-Type": "text/xml"}).status_code == 415
    assert stored(db_path, key) == (0, 0)
    assert echo(backend, key, json={"fixed": True}).status_code == 201


def test_concurrent_posts_with_one_key_store_exactly_once(backend, db_path):
    for _round in range(4):
        key = str(uuid.uuid4())
        body = {"round": _round, "材料": "身份证复印件"}
        barrier = threading.Barrier(10)
        answers = []

        def post():
            barrier.wait()
            answers.append(echo(backend, key, json=body))

        threads = [threading.Thread(target=post) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(answers) == 10
        assert {a.status_code for a in answers} == {201}
        assert len({a.content for a in answers}) == 1, "every caller gets the same answer"
        assert sum(a.headers.get("Idempotent-Replay") == "true" for a in answers) == 9
        assert stored(db_path, key) == (1, 1)


def test_concurrent_posts_with_distinct_keys_all_store(backend, db_path):
    keys = [str(uuid.uuid4()) for _ in range(40)]
    results = {}

    def post(chunk):
        for key in chunk:
            results[key] = echo(backend, key, json={"key": key})

    threads = [threading.Thread(target=post, args=(keys[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(results[k].status_code == 201 for k in keys)
    assert len({results[k].json()["id"] for k in keys}) == 40
    assert all(stored(db_path, k) == (1, 1) for k in keys)


def multipart(payload, files):
    return [("payload", (None, json.dumps(payload), "application/json"))] + [
        ("files", (name, data, "application/octet-stream")) for name, data in files]


def test_multipart_payload_and_files_are_stored_by_hash(backend, db_path):
    scan = bytes(range(256)) * 4096  # 1 MiB, larger than one read chunk
    note = "申请书".encode("utf-8")
    key = str(uuid.uuid4())
    first = echo(backend, key, files=multipart({"form": "SJ-001"}, [("scan-1.jpg", scan), ("申请书.txt", note)]))
    assert first.status_code == 201
    answer = first.json()
    assert answer["received"] == {"form": "SJ-001"}
    assert answer["files"] == [
        {"name": "scan-1.jpg", "sha256": hashlib.sha256(scan).hexdigest(), "size": len(scan)},
        {"name": "申请书.txt", "sha256": hashlib.sha256(note).hexdigest(), "size": len(note)},
    ]
    # A retry has a new multipart boundary but the same content: it is the same request.
    again = echo(backend, key, files=multipart({"form": "SJ-001"}, [("scan-1.jpg", scan), ("申请书.txt", note)]))
    assert again.status_code == 201 and again.headers["Idempotent-Replay"] == "true"
    assert again.content == first.content
    changed = echo(backend, key, files=multipart({"form": "SJ-001"}, [("scan-1.jpg", scan[:-1]), ("申请书.txt", note)]))
    assert changed.status_code == 422
    assert stored(db_path, key) == (1, 1)

    listed = requests.get(backend.url + "/api/v1/echo", headers=DEMO, timeout=10).json()["items"]
    mine = [item for item in listed if item["idempotency_key"] == key]
    assert len(mine) == 1 and mine[0]["files"] == answer["files"]


def test_payload_may_also_come_as_a_file_part(backend):
    key = str(uuid.uuid4())
    response = echo(backend, key, files=[
        ("payload", ("payload.json", json.dumps({"via": "file part"}).encode(), "application/json")),
        ("files", ("a.txt", b"abc", "text/plain"))])
    assert response.status_code == 201
    assert response.json()["received"] == {"via": "file part"}
    assert response.json()["files"][0]["sha256"] == hashlib.sha256(b"abc").hexdigest()


def test_multipart_without_payload_is_refused(backend):
    response = echo(backend, str(uuid.uuid4()), files=[("files", ("a.jpg", b"x", "image/jpeg"))])
    assert response.status_code == 400 and "payload" in response.json()["error"]


def test_keys_survive_a_restart(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'backend.sqlite3'}"
    key = str(uuid.uuid4())
    with BackendThread(db_url=db_url) as server:
        first = echo(server, key, json={"n": 1})
    with BackendThread(db_url=db_url) as server:
        again = echo(server, key, json={"n": 1})
    assert again.headers["Idempotent-Replay"] == "true"
    assert again.content == first.content


# -- the machinery directly, for paths no endpoint takes yet ---------------------------------

@pytest.fixture
def database(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'backend.sqlite3'}")
    db.initialise()
    yield db
    db.dispose()


def insert_echo(conn):
    return conn.execute(sa.insert(echoes).values(kiosk_id="k", idempotency_key="x", body={}, files=[],
                                                 created_at=sa.func.now())).inserted_primary_key[0]


def count_echoes(db):
    with db.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(echoes)).scalar()


def test_a_refusal_is_stored_as_the_answer_and_its_effects_rolled_back(database):
    write = IdempotentWrite(database, "refused-1", "k", "POST", "/api/v1/ratings")

    def refuse(conn):
        insert_echo(conn)
        raise HTTPException(409, "already rated")

    first = write.run("fp", refuse)
    assert first.status_code == 409 and json.loads(first.body) == {"error": "already rated"}
    assert count_echoes(database) == 0
    calls = []
    again = write.run("fp", lambda conn: calls.append(1) or (201, {}))
    assert calls == [], "the work must not run again"
    assert again.status_code == 409 and again.headers["Idempotent-Replay"] == "true"


def test_a_crash_in_the_work_leaves_the_key_free_for_the_retry(database):
    write = IdempotentWrite(database, "crash-1", "k", "POST", "/api/v1/submissions")

    def crash(conn):
        insert_echo(conn)
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write.run("fp", crash)
    assert count_echoes(database) == 0
    retry = write.run("fp", lambda conn: (201, {"id": insert_echo(conn)}))
    assert retry.status_code == 201 and "Idempotent-Replay" not in retry.headers
    assert count_echoes(database) == 1
