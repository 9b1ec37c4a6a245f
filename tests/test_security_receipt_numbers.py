"""Receipt numbers are unique by construction: a kiosk numbers only in its own space (its registered
number), the platform's own numbers (kiosk part 0000) are random and cannot be blocked, and a
taken number is a permanent 409 the outbox does not retry."""
from __future__ import annotations

import contextlib
import re
import secrets
import uuid
from datetime import datetime, timezone

import pytest
import requests

from backend import seed
from backend.db import Database
from backend.server import ServingThread, bind_socket, build_app, url_for

DEMO = {"Authorization": "Bearer demo-token"}  # the demo kiosk, number 0001
OTHER_TOKEN = secrets.token_urlsafe(32)
OTHER = {"Authorization": f"Bearer {OTHER_TOKEN}"}  # kiosk number 0042
# Monday 2026-11-23 10:00 in China.
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
APPLICANT = {"name": "韦岚", "id_number": "450329198802140427", "phone": "13877310427"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('numbers') / 'platform.sqlite3'}", clock=lambda: NOW)
    db.initialise()
    seed.seed_demo(db)
    db.register_kiosks({"kiosk-42": OTHER_TOKEN})
    with db.write() as conn:
        conn.exec_driver_sql("UPDATE kiosks SET number = 42 WHERE id = 'kiosk-42'")
    sock = bind_socket("127.0.0.1", 0)
    serving = ServingThread(build_app(db, public_url=url_for(sock)), sock)
    serving.start()
    try:
        yield serving
    finally:
        serving.stop()


def submit(platform, headers, receipt_no=None, key=None):
    body = {"item_id": "JY-002", "applicant": APPLICANT, "materials": [], "delivery": {"method": "pickup"}}
    if receipt_no is not None:
        body["receipt_no"] = receipt_no
    return requests.post(platform.url + "/api/v1/submissions", json=body, timeout=10,
                         headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())})


def assert_one_line(response, status):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert "\n" not in error and "Traceback" not in response.text
    return error


def test_the_platforms_own_numbers_are_in_its_space_and_not_sequential(platform):
    numbers = [submit(platform, DEMO).json()["receipt_no"] for _ in range(12)]
    assert all(re.fullmatch(r"ZW0000261123-\d{8}", n) for n in numbers), numbers
    assert len(set(numbers)) == 12
    serials = sorted(int(n[-8:]) for n in numbers)
    gaps = [b - a for a, b in zip(serials, serials[1:])]
    assert max(gaps) > 1000, "the next number must not follow from the last one"


@pytest.mark.parametrize("receipt_no", [
    "ZW0000261123-00000001",   # the platform's own space
    "ZW20261123-000001",       # what the platform numbered next in the earlier shape
    "ZW20261123-12345678",     # the earlier kiosk shape, without a kiosk part
    "ZW0042261123-12345678",   # another kiosk's space
    "ZW0001261125-12345678",   # two days ahead of the platform's China date
    "ZW0001261323-12345678",   # no such date
    "ZW00012611231-2345678",
])
def test_a_kiosk_cannot_number_outside_its_own_space(platform, receipt_no):
    error = assert_one_line(submit(platform, DEMO, receipt_no), 400)
    assert "receipt_no" in error
    # and the platform's numbering goes on unharmed
    assert submit(platform, DEMO).status_code == 201


def test_a_kiosk_numbers_in_its_own_space_up_to_tomorrow(platform):
    for receipt_no, headers in (("ZW0001261123-00000007", DEMO), ("ZW0001261124-00000007", DEMO),
                                ("ZW0042261123-00000007", OTHER), ("ZW0001261101-99999999", DEMO)):
        answer = submit(platform, headers, receipt_no)
        assert answer.status_code == 201 and answer.json()["receipt_no"] == receipt_no


def test_a_taken_number_is_a_permanent_409(platform):
    key = str(uuid.uuid4())
    first = submit(platform, DEMO, "ZW0001261123-55555555", key=key)
    assert first.status_code == 201
    clash_key = str(uuid.uuid4())
    clash = submit(platform, DEMO, "ZW0001261123-55555555", key=clash_key)
    assert clash.status_code == 409
    assert clash.json()["error"] == "receipt_no_taken" and "ZW0001261123-55555555" in clash.json()["message"]
    again = submit(platform, DEMO, "ZW0001261123-55555555", key=clash_key)
    assert again.status_code == 409 and again.content == clash.content, "the same answer on every retry"
    replay = submit(platform, DEMO, "ZW0001261123-55555555", key=key)
    assert replay.status_code == 201 and replay.content == first.content
    shown = requests.get(platform.url + "/api/v1/applications/ZW0001261123-55555555", headers=OTHER, timeout=10)
    assert shown.status_code == 200, "progress by receipt number works from any kiosk"


def test_the_check_itself():
    from backend.numbers import ReceiptNumberError, check_kiosk_number

    assert check_kiosk_number(" zw0001261123-12345678 ", 1, NOW) == "ZW0001261123-12345678"
    for bad, number in (("ZW0001261123-12345678", None), ("ZW0001261123-12345678", 2), (12, 1), (None, 1)):
        with contextlib.suppress(ReceiptNumberError):
            check_kiosk_number(bad, number, NOW)
            raise AssertionError(f"{bad!r} accepted for kiosk {number}")
