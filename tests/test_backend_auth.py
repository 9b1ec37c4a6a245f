"""Per-kiosk bearer tokens, JSON errors and the heartbeat, over real HTTP on loopback."""
from __future__ import annotations

import hashlib
import secrets
import json
import sqlite3
import uuid

import pytest
import requests

from backend.db import Database
from backend.server import BackendThread

DEMO = {"Authorization": "Bearer demo-token"}
TOKEN_A1, TOKEN_A2, TOKEN_B1 = (secrets.token_urlsafe(32) for _ in range(3))


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return tmp_path_factory.mktemp("auth") / "backend.sqlite3"


@pytest.fixture(scope="module")
def backend(db_path):
    with BackendThread(db_url=f"sqlite:///{db_path}") as server:
        yield server


def call(server, method, path, headers=None, **kwargs):
    return requests.request(method, server.url + path, headers=headers or {}, timeout=10, **kwargs)


ENDPOINTS = [
    ("GET", "/api/v1/catalogue", {}),
    ("GET", "/api/v1/catalogue/SB-001", {}),
    ("POST", "/api/v1/echo", {"json": {"a": 1}}),
    ("GET", "/api/v1/echo", {}),
    ("POST", "/api/v1/kiosks/demo-kiosk-001/heartbeat", {"json": {"ok": True}}),
]


@pytest.mark.parametrize("method, path, kwargs", ENDPOINTS)
def test_every_api_call_needs_a_token(backend, method, path, kwargs):
    missing = call(backend, method, path, {"Idempotency-Key": str(uuid.uuid4())}, **kwargs)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json()["error"]
    wrong = call(backend, method, path, {"Authorization": "Bearer not-the-token",
                                         "Idempotency-Key": str(uuid.uuid4())}, **kwargs)
    assert wrong.status_code == 403
    assert "error" in wrong.json()


@pytest.mark.parametrize("header", ["Basic ZGVtbzpkZW1v", "Bearer", "Bearer    ", "demo-token"])
def test_malformed_authorization_is_treated_as_missing(backend, header):
    response = call(backend, "GET", "/api/v1/catalogue", {"Authorization": header})
    assert response.status_code == 401
    assert set(response.json()) == {"error"}


def test_kiosk_id_header_must_match_the_token(backend):
    assert call(backend, "GET", "/api/v1/catalogue/SB-001",
                {**DEMO, "X-Kiosk-Id": "demo-kiosk-001"}).status_code == 200
    mismatch = call(backend, "GET", "/api/v1/catalogue/SB-001", {**DEMO, "X-Kiosk-Id": "kiosk-42"})
    assert mismatch.status_code == 403
    assert "X-Kiosk-Id" in mismatch.json()["error"]


def test_registered_kiosks_and_token_replacement(backend, db_path):
    db = Database(f"sqlite:///{db_path}")
    try:
        db.register_kiosks({"kiosk-a": TOKEN_A1, "kiosk-b": TOKEN_B1})
        assert call(backend, "GET", "/api/v1/catalogue/SB-001",
                    {"Authorization": "Bearer " + TOKEN_A1, "X-Kiosk-Id": "kiosk-a"}).status_code == 200
        db.register_kiosks({"kiosk-a": TOKEN_A2})
        assert call(backend, "GET", "/api/v1/catalogue/SB-001",
                    {"Authorization": "Bearer " + TOKEN_A1}).status_code == 403
        assert call(backend, "GET", "/api/v1/catalogue/SB-001",
                    {"Authorization": "Bearer " + TOKEN_A2}).status_code == 200
        # A token given to another kiosk is taken from its holder: one token never names two kiosks.
        db.register_kiosks({"kiosk-c": TOKEN_B1})
        ok = call(backend, "POST", "/api/v1/kiosks/kiosk-c/heartbeat",
                  {"Authorization": "Bearer " + TOKEN_B1}, json={"ok": True})
        assert ok.status_code == 200 and ok.json()["kiosk_id"] == "kiosk-c"
        with pytest.raises(ValueError):
            db.register_kiosks({"kiosk-d": TOKEN_A1 + "x", "kiosk-e": TOKEN_A1 + "x"})
    finally:
        db.dispose()


def test_tokens_are_stored_only_as_sha256(backend, db_path):
    assert call(backend, "GET", "/api/v1/catalogue/SB-001", DEMO).status_code == 200
    with sqlite3.connect(db_path) as conn:
        stored = dict(conn.execute("SELECT id, token_sha256 FROM kiosks").fetchall())
    assert stored["demo-kiosk-001"] == hashlib.sha256(b"demo-token").hexdigest()
    for path in db_path.parent.glob("backend.sqlite3*"):
        assert b"demo-token" not in path.read_bytes(), path


def test_heartbeat_stores_the_latest_state_for_itself_only(backend, db_path):
    state = {"devices": {"idcard": "ready", "receipt_printer": "degraded"}, "pending_uploads": 3}
    response = call(backend, "POST", "/api/v1/kiosks/demo-kiosk-001/heartbeat", DEMO, json=state)
    assert response.status_code == 200
    assert response.json()["kiosk_id"] == "demo-kiosk-001"
    with sqlite3.connect(db_path) as conn:
        stored, seen = conn.execute(
            "SELECT last_state, last_seen_at FROM kiosks WHERE id='demo-kiosk-001'").fetchone()
    assert stored is not None and seen is not None
    assert json.loads(stored) == state

    other = call(backend, "POST", "/api/v1/kiosks/kiosk-a/heartbeat", DEMO, json={"forged": True})
    assert other.status_code == 403
    with sqlite3.connect(db_path) as conn:
        row = conn.execute("SELECT last_state FROM kiosks WHERE id='kiosk-a'").fetchone()
    assert row is None or row[0] is None or "forged" not in row[0]

    assert call(backend, "POST", "/api/v1/kiosks/demo-kiosk-001/heartbeat", DEMO,
                json=[1, 2]).status_code == 400


def test_heartbeat_with_a_key_is_replayed(backend):
    headers = {**DEMO, "Idempotency-Key": str(uuid.uuid4())}
    first = call(backend, "POST", "/api/v1/kiosks/demo-kiosk-001/heartbeat", headers, json={"n": 1})
    again = call(backend, "POST", "/api/v1/kiosks/demo-kiosk-001/heartbeat", headers, json={"n": 1})
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["Idempotent-Replay"] == "true"


def test_errors_outside_the_api_are_json_too(backend):
    assert call(backend, "GET", "/healthz").json() == {"status": "ok"}
    missing = call(backend, "GET", "/no/such/thing")
    assert missing.status_code == 404 and set(missing.json()) == {"error"}
    wrong_method = call(backend, "DELETE", "/api/v1/catalogue", DEMO)
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()
