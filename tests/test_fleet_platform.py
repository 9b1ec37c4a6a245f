"""The platform's fleet endpoints over real HTTP: the served repository, heartbeats with their fleet
fields and history, kiosks' reports; and the fleet records on a real PostgreSQL."""
from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from backend.fleet import tables as t
from fleet_helpers import Platform, PostgresServer, token_for


@pytest.fixture
def platform(tmp_path):
    p = Platform(tmp_path, {"k-001": "pingan", "k-002": "other"}).start()
    yield p
    p.stop()


def auth(kiosk_id):
    return {"Authorization": f"Bearer {token_for(kiosk_id)}"}


HEARTBEAT = {"software_version": "0.1.0", "config_applied": {"county": 2}, "config_staged": {"county": 3},
             "devices": {"receipt_printer": "ok", "idcard": "fault"}, "healthy": False, "outbox_backlog": 4,
             "disk_free_mb": 5120, "paper_left_m": 12.5, "uptime_s": 3600, "clock_offset_ms": -35}


def test_the_repository_is_served_as_static_files_and_nothing_else(platform):
    base = platform.repository_url
    timestamp = requests.get(base + "/metadata/timestamp.json", timeout=10)
    assert timestamp.status_code == 200 and timestamp.json()["signed"]["_type"] == "timestamp"
    assert requests.get(base + "/metadata/1.root.json", timeout=10).json()["signed"]["version"] == 1
    for path in ("/../online.pem", "/%2e%2e/online.pem", "/metadata/../../online.pem", "/.lock", "/metadata/nope.json"):
        response = requests.get(base + path, timeout=10)
        assert response.status_code == 404, path
        assert b"PRIVATE KEY" not in response.content


def test_heartbeat_fields_are_kept_latest_and_in_history(platform):
    url = platform.url + "/api/v1/kiosks/k-001/heartbeat"
    for backlog in (4, 2):
        response = requests.post(url, json={**HEARTBEAT, "outbox_backlog": backlog}, headers=auth("k-001"), timeout=10)
        assert response.status_code == 200, response.text
    status = {k["id"]: k for k in platform.fleet.status()["kiosks"]}["k-001"]
    assert status["outbox_backlog"] == 2 and status["config_staged"] == {"county": 3}
    assert status["devices"] == {"receipt_printer": "ok", "idcard": "fault"} and status["healthy"] is False
    assert status["clock_offset_ms"] == -35 and status["online"] is True and status["town"] == "pingan"
    with platform.fleet.db.read() as conn:
        history = conn.execute(sa.select(t.fleet_heartbeats.c.outbox_backlog)
                               .where(t.fleet_heartbeats.c.kiosk_id == "k-001").order_by(t.fleet_heartbeats.c.id)).scalars().all()
    assert history == [4, 2]


@pytest.mark.parametrize("field, value", [("outbox_backlog", "many"), ("healthy", "yes"), ("config_applied", [1]),
                                          ("uptime_s", True), ("software_version", "x" * 100)])
def test_a_malformed_fleet_field_is_refused_with_one_line(platform, field, value):
    response = requests.post(platform.url + "/api/v1/kiosks/k-001/heartbeat", json={**HEARTBEAT, field: value},
                             headers=auth("k-001"), timeout=10)
    assert response.status_code == 422 and field in response.json()["error"]
    with platform.fleet.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.fleet_heartbeats)).scalar() == 0


def test_a_plain_heartbeat_still_works_and_adds_no_fleet_row(platform):
    response = requests.post(platform.url + "/api/v1/kiosks/k-001/heartbeat", json={"ok": True},
                             headers=auth("k-001"), timeout=10)
    assert response.status_code == 200
    with platform.fleet.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.fleet_heartbeats)).scalar() == 0


def test_reports_are_recorded_for_the_calling_kiosk_and_checked(platform):
    url = platform.url + "/api/v1/fleet/reports"
    ok = requests.post(url, json={"kind": "rolled_back", "scope": "county", "version": 3, "from_version": 2,
                                  "reason": "device not healthy after the change: receipt_printer"},
                       headers=auth("k-002"), timeout=10)
    assert ok.status_code == 200
    status = {k["id"]: k for k in platform.fleet.status()["kiosks"]}
    assert status["k-002"]["last_report"]["kind"] == "rolled_back" and status["k-001"]["last_report"] is None
    for bad in ({"kind": "hacked", "scope": "county", "version": 1}, {"kind": "applied", "scope": "../x", "version": 1},
                {"kind": "applied", "scope": "county"}, {"kind": "applied", "scope": "county", "version": -1}):
        response = requests.post(url, json=bad, headers=auth("k-002"), timeout=10)
        assert response.status_code == 422 and response.json()["error"].startswith("invalid report")
    assert requests.post(url, json={"kind": "applied"}, timeout=10).status_code == 401


@pytest.fixture(scope="module")
def pg():
    server = PostgresServer().start()
    if server.url is None:
        pytest.skip(server.skip_reason)
    yield server.url
    server.stop()


def test_fleet_records_and_a_rollout_on_postgresql(pg, tmp_path):
    from backend.db import Database
    from backend.fleet.service import Fleet, Plan, record_heartbeat
    from fleet_helpers import document

    db = Database(pg)
    db.initialise()
    db.register_kiosks({f"k-{n:03d}": token_for(f"k-{n:03d}") for n in range(1, 11)}, group="pingan")
    fleet = Fleet(db)
    fleet.init(tmp_path / "fleet", tmp_path / "keys")
    result = fleet.publish(document("town/pingan", 1, '[kiosk]\nhotline = "12345"\n'), "doc.toml", tmp_path / "keys",
                           Plan(canary="k-001", percents=[50, 100], soak_s=0))
    assert result["kiosks"] == 10
    waves = fleet.status()["rollouts"][0]["waves"]
    assert [w["size"] for w in waves] == [1, 4, 5]
    for step in range(3):
        with db.write() as conn:
            for kiosk_id in fleet.admission()["kiosks"]:
                record_heartbeat(conn, kiosk_id, {"config_applied": {"town/pingan": 1}, "healthy": True}, db.clock())
        fleet.tick()
    assert fleet.status()["rollouts"][0]["state"] == "completed"
    assert fleet.admission() == {"default": {"town/pingan": 1}, "kiosks": {}}
    db.dispose()


def test_old_heartbeat_history_is_pruned(tmp_path):
    from datetime import timedelta

    from backend.fleet.service import record_heartbeat

    # the platform's database without its server: a running server's fleet controller prunes on
    # its first tick, which under load can come after the rows below are written
    platform = Platform(tmp_path, {"k-001": "pingan"})
    now = platform.fleet.db.clock()
    with platform.fleet.db.write() as conn:
        record_heartbeat(conn, "k-001", {"outbox_backlog": 1}, now - timedelta(days=31))
        record_heartbeat(conn, "k-001", {"outbox_backlog": 2}, now - timedelta(days=1))
    assert platform.fleet.prune_history(now) == 1
    assert platform.fleet.prune_history(now) == 0  # at most hourly
    with platform.fleet.db.read() as conn:
        assert conn.execute(sa.select(t.fleet_heartbeats.c.outbox_backlog)).scalars().all() == [2]
