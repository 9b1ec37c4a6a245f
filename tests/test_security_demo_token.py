"""A platform started for real has no demo kiosk, no public token and no demo people; a platform with
no kiosk registered says so and refuses to start."""
from __future__ import annotations

import sqlite3

import requests

from conftest import run_kiosk
from platform_process import PlatformProcess, strong_token, tokens_file

WEI = "450329198802140427"  # a demo person (the simulated resident card)


def test_a_real_platform_refuses_the_demo_token_and_holds_no_demo_people(tmp_path):
    token = strong_token()
    db = tmp_path / "platform.sqlite3"
    with PlatformProcess(["--db", f"sqlite:///{db}",
                          "--kiosk-tokens-file", str(tokens_file(tmp_path, [("zy-01", 42, token)]))]) as platform:
        demo = {"Authorization": "Bearer demo-token", "X-Subject-Id-Number": WEI}
        for path in ("/api/v1/catalogue", f"/api/v1/certificates?id_number={WEI}",
                     f"/api/v1/applications?id_number={WEI}"):
            assert requests.get(platform.url + path, headers=demo, timeout=10).status_code == 403, path
        mine = {"Authorization": f"Bearer {token}", "X-Subject-Id-Number": WEI}
        listed = requests.get(platform.url + "/api/v1/certificates", params={"id_number": WEI}, headers=mine,
                              timeout=10)
        assert listed.status_code == 200 and listed.json() == {"items": []}, "no demo person's certificates"
        assert len(requests.get(platform.url + "/api/v1/catalogue", headers=mine, timeout=10).json()["items"]) >= 60
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT id, number FROM kiosks").fetchall() == [("zy-01", 42)]
        for table in ("applications", "certificates"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table


def test_a_platform_without_kiosks_says_so_and_refuses(tmp_path):
    db = tmp_path / "platform.sqlite3"
    proc = run_kiosk("backend", "--port", "0", "--db", f"sqlite:///{db}", env={"KIOSK_BACKEND_TOKENS": ""},
                     timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "no kiosk is registered" in proc.stderr
    assert not db.exists(), "nothing is created for a platform that refuses to start"


def test_a_database_with_the_demo_data_is_refused_without_demo(tmp_path):
    db = tmp_path / "platform.sqlite3"
    with PlatformProcess(["--db", f"sqlite:///{db}", "--demo"]) as platform:
        demo = {"Authorization": "Bearer demo-token"}
        assert requests.get(platform.url + "/api/v1/catalogue", headers=demo, timeout=10).status_code == 200
    proc = run_kiosk("backend", "--port", "0", "--db", f"sqlite:///{db}",
                     env={"KIOSK_BACKEND_TOKENS": f"zy-01 - {strong_token()}"}, timeout=60)
    assert proc.returncode == 2 and "demo" in proc.stderr and "Traceback" not in proc.stderr


def test_the_demo_listens_on_loopback_only(tmp_path):
    proc = run_kiosk("backend", "--port", "0", "--host", "0.0.0.0", "--demo",
                     "--db", f"sqlite:///{tmp_path / 'demo.sqlite3'}", timeout=60)
    assert proc.returncode == 2 and "loopback" in proc.stderr.replace("127.0.0.1", "loopback")
    assert not (tmp_path / "demo.sqlite3").exists()
