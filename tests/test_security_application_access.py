"""Who may read which application: progress by receipt number from any kiosk (the number is the
citizen's bearer secret, so it is not guessable and walking it is stopped); a person's list only for
the kiosk that read their card, on the record."""
from __future__ import annotations

import logging
import sqlite3
import uuid

import requests

from backend.access import AccessPolicy
from security_platform import DEMO, id_number, platform, second_kiosk

WEI = "450329198802140427"


def test_a_persons_list_needs_their_card_at_this_kiosk(tmp_path):
    db_path = tmp_path / "p.sqlite3"
    with platform(db_path) as server:
        url = server.url + "/api/v1/applications"
        bare = requests.get(url, params={"id_number": WEI}, headers=DEMO, timeout=10)
        assert bare.status_code == 403, "no subject header: not the person at the kiosk"
        other = requests.get(url, params={"id_number": WEI}, timeout=10,
                             headers={**DEMO, "X-Subject-Id-Number": "450329195503020018"})
        assert other.status_code == 403
        mine = requests.get(url, params={"id_number": WEI}, headers={**DEMO, "X-Subject-Id-Number": WEI}, timeout=10)
        assert mine.status_code == 200 and mine.json()["items"]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT kiosk_id, action, subject_masked FROM subject_access").fetchall() == [
            ("demo-kiosk-001", "list_applications", "450329********0427")]


def test_progress_by_receipt_number_works_from_any_kiosk_and_is_masked(tmp_path):
    with platform(tmp_path / "p.sqlite3") as server:
        other = second_kiosk(server.db)
        made = requests.post(server.url + "/api/v1/submissions", timeout=10,
                             headers={**DEMO, "Idempotency-Key": str(uuid.uuid4())},
                             json={"item_id": "JY-002", "materials": [], "delivery": {"method": "pickup"},
                                   "applicant": {"name": "韦岚", "id_number": WEI, "phone": "13877310427"}})
        receipt_no = made.json()["receipt_no"]
        seen = requests.get(server.url + f"/api/v1/applications/{receipt_no}", headers=other, timeout=10)
        assert seen.status_code == 200
        assert seen.json()["applicant"] == {"name": "韦*", "id_number": "450329********0427"}
        assert WEI not in seen.text and "13877310427" not in seen.text


def test_walking_receipt_numbers_is_stopped_and_alerted(tmp_path, caplog):
    db_path = tmp_path / "p.sqlite3"
    with platform(db_path, access_policy=AccessPolicy(unknown_receipts_per_hour=5)) as server:
        walker = second_kiosk(server.db, "kiosk-walker")
        answers = [requests.get(server.url + f"/api/v1/applications/ZW0000261123-{n:08d}", headers=walker,
                                timeout=10).status_code for n in range(5)]
        assert answers == [404] * 5
        with caplog.at_level(logging.WARNING, logger="backend.access"):
            stopped = requests.get(server.url + "/api/v1/applications/ZW0000261123-00000005", headers=walker,
                                   timeout=10)
        assert stopped.status_code == 429 and "\n" not in stopped.json()["error"]
        assert requests.get(server.url + "/api/v1/applications/ZW0000261123-00000006", headers=DEMO,
                            timeout=10).status_code == 404, "other kiosks go on"
    assert "ALERT receipt_walk" in caplog.text
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT kind, kiosk_id FROM alerts").fetchall() == [("receipt_walk", "kiosk-walker")]


def test_an_unknown_person_gets_an_empty_list_not_an_error(tmp_path):
    with platform(tmp_path / "p.sqlite3") as server:
        nobody = id_number(7)
        answer = requests.get(server.url + "/api/v1/applications", params={"id_number": nobody},
                              headers={**DEMO, "X-Subject-Id-Number": nobody}, timeout=10)
        assert answer.status_code == 200 and answer.json() == {"items": []}
