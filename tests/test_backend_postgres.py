"""The backend on a real PostgreSQL server on loopback: same API, and the same at-most-once writes.

On PostgreSQL two transactions with one Idempotency-Key really overlap (SQLite serialises writers),
so this is where the unique-constraint path of ``backend.idempotency`` is exercised. Skipped when
the PostgreSQL server binaries or the psycopg driver are not installed.
"""
from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
import requests

import sqlalchemy as sa
from backend.db import Database, echoes
from backend.idempotency import IdempotentWrite
from backend.server import BackendThread

DEMO = {"Authorization": "Bearer demo-token"}


def pg_binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="module")
def pg_url():
    pytest.importorskip("psycopg")
    initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries are not installed")
    as_user: list[str] = []
    base = tempfile.mkdtemp(prefix="kiosk-pg-")
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(base, "data")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([*as_user, initdb, "-D", data, "-U", "kiosk", "--auth=trust", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True, timeout=120)
    options = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c max_connections=60"
    subprocess.run([*as_user, pg_ctl, "-D", data, "-o", options, "-l", os.path.join(base, "log"), "-w", "start"],
                   check=True, capture_output=True, timeout=120)
    try:
        yield f"postgresql://kiosk@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def backend(pg_url):
    with BackendThread(db_url=pg_url) as server:
        yield server


def echo(server, key, body):
    return requests.post(server.url + "/api/v1/echo", json=body, timeout=30,
                         headers={**DEMO, "Idempotency-Key": key})


def count(pg_url, key):
    db = Database(pg_url)
    try:
        with db.read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(echoes)
                                .where(echoes.c.idempotency_key == key)).scalar()
    finally:
        db.dispose()


def test_catalogue_and_etag_on_postgres(backend):
    first = requests.get(backend.url + "/api/v1/catalogue", headers=DEMO, timeout=10)
    assert first.status_code == 200 and len(first.json()["items"]) >= 60
    again = requests.get(backend.url + "/api/v1/catalogue", timeout=10,
                         headers={**DEMO, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_repeat_and_conflict_on_postgres(backend, pg_url):
    key = str(uuid.uuid4())
    first = echo(backend, key, {"n": 1})
    second = echo(backend, key, {"n": 1})
    assert first.status_code == 201 and second.content == first.content
    assert second.headers["Idempotent-Replay"] == "true"
    assert echo(backend, key, {"n": 2}).status_code == 422
    assert count(pg_url, key) == 1


def test_concurrent_same_key_over_http_on_postgres(backend, pg_url):
    for _round in range(3):
        key = str(uuid.uuid4())
        barrier = threading.Barrier(10)
        answers = []

        def post():
            barrier.wait()
            answers.append(echo(backend, key, {"round": _round}))

        threads = [threading.Thread(target=post) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert [a.status_code for a in answers] == [201] * 10
        assert len({a.content for a in answers}) == 1
        assert count(pg_url, key) == 1


def test_overlapping_transactions_take_the_unique_constraint_path(pg_url):
    """Hold the first transaction open so the others must wait on the key's unique index."""
    db = Database(pg_url)
    key = str(uuid.uuid4())
    runs = []
    barrier = threading.Barrier(6)
    answers = []

    def work(conn):
        runs.append(1)
        new_id = conn.execute(sa.insert(echoes).values(
            kiosk_id="demo-kiosk-001", idempotency_key=key, body={"slow": True}, files=[],
            created_at=sa.func.now())).inserted_primary_key[0]
        time.sleep(0.3)  # widen the window in which the others are blocked, not a timing assertion
        return 201, {"id": new_id}

    def call():
        barrier.wait()
        answers.append(IdempotentWrite(db, key, "demo-kiosk-001", "POST", "/api/v1/echo").run("fp", work))

    try:
        threads = [threading.Thread(target=call) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(runs) == 1, "the work ran more than once"
        assert len(answers) == 6
        assert len({bytes(a.body) for a in answers}) == 1
        assert sum(a.headers.get("Idempotent-Replay") == "true" for a in answers) == 5
        assert json.loads(answers[0].body)["id"] > 0
        assert count(pg_url, key) == 1
    finally:
        db.dispose()


def test_an_older_database_gets_kiosk_numbers_on_postgresql(pg_url):
    """Schema 1 had no kiosk numbers: the next start adds the column and numbers the kiosks in order."""
    import sqlalchemy as sa

    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS older")
        conn.exec_driver_sql("CREATE DATABASE older")
    admin.dispose()
    older_url = pg_url.rsplit("/", 1)[0] + "/older"
    engine = sa.create_engine(older_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE kiosks (id VARCHAR(64) PRIMARY KEY, token_sha256 VARCHAR(64) NOT NULL UNIQUE, "
            "fleet_group VARCHAR(64), created_at TIMESTAMPTZ NOT NULL, last_seen_at TIMESTAMPTZ, last_state JSON)")
        conn.exec_driver_sql("INSERT INTO kiosks (id, token_sha256, created_at) VALUES "
                             "('k-b', 'b', '2026-01-02T00:00:00Z'), ('k-a', 'a', '2026-01-01T00:00:00Z')")
    engine.dispose()
    db = Database(older_url)
    try:
        db.initialise()
        db.initialise()  # twice: nothing changes the second time
        with db.read() as conn:
            rows = conn.exec_driver_sql("SELECT id, number FROM kiosks ORDER BY id").fetchall()
    finally:
        db.dispose()
    assert [tuple(r) for r in rows] == [("k-a", 1), ("k-b", 2)]
