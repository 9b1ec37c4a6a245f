"""Certificates by claimed ID number, bounded: every listing and download on the record (kiosk, time,
masked subject), a per-kiosk limit of distinct people per hour that stops and alerts, the document
only after a listing by the same kiosk shortly before, and a verifier interface for face checks."""
from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

import pytest
import requests

from backend.access import AccessPolicy, SubjectCheck
from platform_process import PlatformProcess
from security_platform import DEMO, Clock, id_number, platform, second_kiosk

WEI = "450329198802140427"  # a demo person with certificates


def as_subject(headers, number):
    return {**headers, "X-Subject-Id-Number": number}


def listing(server, headers, number):
    return requests.get(server.url + "/api/v1/certificates", params={"id_number": number},
                        headers=as_subject(headers, number), timeout=10)


def document(server, headers, number, certificate_id):
    return requests.get(server.url + f"/api/v1/certificates/{certificate_id}/document",
                        headers=as_subject(headers, number), timeout=30)


def test_a_document_follows_a_listing_by_the_same_kiosk_shortly_before(tmp_path):
    clock = Clock()
    with platform(tmp_path / "p.sqlite3", clock=clock, access_policy=AccessPolicy(listing_valid_s=600)) as server:
        other = second_kiosk(server.db)
        certificate_id = listing(server, other, WEI).json()["items"][0]["id"]  # listed by another kiosk
        refused = document(server, DEMO, WEI, certificate_id)
        assert refused.status_code == 403 and "list this person's certificates first" in refused.json()["error"]
        assert listing(server, DEMO, WEI).status_code == 200
        assert document(server, DEMO, WEI, certificate_id).status_code == 200
        clock.moment += timedelta(seconds=601)
        assert document(server, DEMO, WEI, certificate_id).status_code == 403, "the listing is too old"


def test_every_listing_and_download_is_on_the_record_masked(tmp_path):
    db_path = tmp_path / "p.sqlite3"
    with platform(db_path) as server:
        certificate_id = listing(server, DEMO, WEI).json()["items"][0]["id"]
        assert document(server, DEMO, WEI, certificate_id).status_code == 200
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT kiosk_id, action, subject_masked, target, at FROM subject_access "
                            "ORDER BY id").fetchall()
        everything = conn.execute("SELECT * FROM subject_access").fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("demo-kiosk-001", "list_certificates", "450329********0427", None),
        ("demo-kiosk-001", "certificate_document", "450329********0427", certificate_id)]
    assert all(r[4] for r in rows)
    assert WEI not in repr(everything), "the audit keeps the subject masked"


def test_too_many_people_in_an_hour_stops_the_kiosk_and_alerts(tmp_path, caplog):
    db_path = tmp_path / "p.sqlite3"
    clock = Clock()
    with platform(db_path, clock=clock, access_policy=AccessPolicy(subjects_per_hour=3)) as server:
        for serial in range(3):
            assert listing(server, DEMO, id_number(serial)).status_code == 200
        assert listing(server, DEMO, id_number(0)).status_code == 200, "someone already asked for is fine"
        with caplog.at_level(logging.WARNING, logger="backend.access"):
            stopped = listing(server, DEMO, id_number(3))
        assert stopped.status_code == 429 and "\n" not in stopped.json()["error"]
        assert "operator" in stopped.json()["error"]
        apps = requests.get(server.url + "/api/v1/applications", params={"id_number": id_number(4)},
                            headers=as_subject(DEMO, id_number(4)), timeout=10)
        assert apps.status_code == 429, "application listings count toward the same limit"
        other = second_kiosk(server.db)
        assert listing(server, other, id_number(3)).status_code == 200, "the limit is per kiosk"
        clock.moment += timedelta(hours=1, seconds=1)
        assert listing(server, DEMO, id_number(3)).status_code == 200, "the next hour starts afresh"
    assert any("ALERT subject_limit" in r.getMessage() and "demo-kiosk-001" in r.getMessage()
               for r in caplog.records)
    assert id_number(3) not in caplog.text
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute("SELECT kind, kiosk_id FROM alerts").fetchall()
    assert stored == [("subject_limit", "demo-kiosk-001")]


def test_the_operator_sets_the_hourly_limit(tmp_path):
    with PlatformProcess(["--db", f"sqlite:///{tmp_path / 'p.sqlite3'}", "--demo", "--people-per-hour", "1"]) as real:
        assert listing(real, DEMO, id_number(1)).status_code == 200
        assert listing(real, DEMO, id_number(2)).status_code == 429


class FaceCheck:
    """What a production platform plugs in: here, it wants a match score from the kiosk."""

    def __init__(self) -> None:
        self.seen: list[SubjectCheck] = []

    def verify(self, check: SubjectCheck) -> str | None:
        self.seen.append(check)
        return None if check.evidence.get("face-match") == "0.97" else "no face match with the card photo"


def test_a_verifier_decides_before_any_record_is_read(tmp_path):
    face = FaceCheck()
    with platform(tmp_path / "p.sqlite3", verifier=face) as server:
        refused = listing(server, DEMO, WEI)
        assert refused.status_code == 403 and "no face match" in refused.json()["error"]
        allowed = requests.get(server.url + "/api/v1/certificates", params={"id_number": WEI}, timeout=10,
                               headers={**as_subject(DEMO, WEI), "X-Subject-Evidence-Face-Match": "0.97"})
        assert allowed.status_code == 200 and allowed.json()["items"]
    assert [(c.kiosk_id, c.id_number, c.action) for c in face.seen] == [
        ("demo-kiosk-001", WEI, "list_certificates")] * 2
    assert face.seen[1].evidence == {"face-match": "0.97"}


@pytest.mark.parametrize("headers", [{}, {"X-Subject-Id-Number": "450329195503020018"}])
def test_a_listing_for_someone_else_is_refused(tmp_path, headers):
    with platform(tmp_path / "p.sqlite3") as server:
        response = requests.get(server.url + "/api/v1/certificates", params={"id_number": WEI},
                                headers={**DEMO, **headers}, timeout=10)
        assert response.status_code == 403
