"""What the kiosk's appointment flow asks of the platform, over real HTTP on loopback: which items take
bookings, the card holder's own bookings, and bookings queued in the kiosk's outbox while the
platform was out of reach (booked, or a call-back task when the slot filled meanwhile; the outcome
kept under the kiosk's number, for that kiosk only)."""
from __future__ import annotations

import logging
import uuid

import pytest
import requests
import sqlalchemy as sa

from backend.db import callback_tasks
from security_platform import DEMO, Clock, id_number, platform

MENG = "450329195503020018"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with platform(tmp_path_factory.mktemp("appointments-kiosk") / "p.sqlite3", clock=Clock()) as server:
        yield server


def get(served, path, headers=None, **params):
    return requests.get(served.url + "/api/v1" + path, params=params, headers={**DEMO, **(headers or {})}, timeout=10)


def post(served, path, body, subject=None, key=None):
    headers = {**DEMO, "Idempotency-Key": key or uuid.uuid4().hex}
    if subject:
        headers["X-Subject-Id-Number"] = subject
    return requests.post(served.url + "/api/v1" + path, json=body, headers=headers, timeout=10)


def slots(served, item_id, **params):
    return get(served, "/appointments/slots", item_id=item_id, **params).json()["items"]


def body(slot, person=MENG, name="蒙桂英", **extra):
    return {"slot_id": slot["slot_id"], "item_id": slot["item_id"], "name": name, "id_number": person,
            "phone": "13807730018", **extra}


def request_no(serial: int) -> str:
    return f"ZW0001261123-{serial:08d}"   # the demo kiosk's number space, dated the platform's day


def test_items_that_take_bookings_with_their_kinds_and_villages(served):
    answer = get(served, "/appointments/items")
    assert answer.status_code == 200
    items = {i["item_id"]: i for i in answer.json()["items"]}
    assert items["YL-003"]["kinds"] == ["window", "after_hours", "home_visit"]
    assert items["YL-003"]["villages"] == ["资源镇测试新村", "车田苗族乡示例村"]
    assert "home_visit" not in items["HJ-001"]["kinds"] and items["HJ-001"]["villages"] == []
    assert get(served, "/appointments/items", days=0).status_code == 400


def test_the_card_holder_lists_only_their_own_live_bookings(served):
    person = id_number(301)
    slot = slots(served, "SB-007", kind="window")[2]
    booked = post(served, "/appointments", body(slot, person, name="黄建国"), subject=person)
    assert booked.status_code == 201
    mine = get(served, "/appointments", {"X-Subject-Id-Number": person}, id_number=person)
    assert mine.status_code == 200
    assert [b["booking_no"] for b in mine.json()["items"]] == [booked.json()["booking_no"]]
    assert mine.json()["items"][0]["person"]["name"] == "黄**" and person not in mine.text
    # someone else's number, or no card: refused
    assert get(served, "/appointments", {"X-Subject-Id-Number": MENG}, id_number=person).status_code == 403
    assert get(served, "/appointments", id_number=person).status_code == 403
    assert post(served, f"/appointments/{booked.json()['booking_no']}/cancel", {}, subject=person).status_code == 200
    assert get(served, "/appointments", {"X-Subject-Id-Number": person}, id_number=person).json()["items"] == []


def test_a_queued_booking_is_booked_and_its_outcome_kept_for_its_kiosk(served, caplog):
    caplog.set_level(logging.INFO)
    person = id_number(302)
    slot = slots(served, "SB-007", kind="after_hours")[0]
    number = request_no(1)
    key = uuid.uuid4().hex
    answer = post(served, "/appointment-requests", {**body(slot, person, name="陈嘉欣"), "request_no": number}, key=key)
    assert answer.status_code == 201, answer.text
    outcome = answer.json()
    assert outcome["outcome"] == "booked" and outcome["booking_no"].startswith("YY0000")
    assert outcome["booking"]["slot"]["slot_id"] == slot["slot_id"] and outcome["booking"]["person"]["name"] == "陈**"
    assert person not in answer.text and person not in caplog.text and "陈嘉欣" not in caplog.text
    # the outbox's retry (same key) and a second send under the same number: the first outcome, one booking
    assert post(served, "/appointment-requests", {**body(slot, person, name="陈嘉欣"), "request_no": number},
                key=key).json() == outcome
    again = post(served, "/appointment-requests", {**body(slot, person, name="陈嘉欣"), "request_no": number})
    assert again.status_code == 201 and again.json()["booking_no"] == outcome["booking_no"]
    assert slots(served, "SB-007", kind="after_hours")[0]["free"] == slot["free"] - 1
    looked_up = get(served, f"/appointment-requests/{number}")
    assert looked_up.status_code == 200 and looked_up.json()["booking_no"] == outcome["booking_no"]
    assert get(served, f"/appointment-requests/{request_no(999)}").status_code == 404


def test_a_queued_booking_for_a_full_slot_records_a_call_back_task(served):
    slot = next(s for s in slots(served, "YL-003", kind="home_visit") if s["free"] == 1)
    first = id_number(303)
    assert post(served, "/appointments", body(slot, first, name="韦岚", address="资源镇测试新村5号"),
                subject=first).status_code == 201
    late = id_number(304)
    answer = post(served, "/appointment-requests",
                  {**body(slot, late, name="蒙桂英", address="资源镇测试新村9号"), "request_no": request_no(2)})
    assert answer.status_code == 201, answer.text
    outcome = answer.json()
    assert outcome["outcome"] == "slot_taken" and outcome["booking_no"] is None and "约满" in outcome["message"]
    with served.db.read() as conn:
        task = conn.execute(sa.select(callback_tasks).where(callback_tasks.c.task_no == outcome["callback_no"])
                            ).mappings().one()
    assert (task["reason"], task["status"], task["phone"], task["kiosk_id"]) == (
        "slot_taken", "open", "13807730018", "demo-kiosk-001")


def test_a_queued_booking_must_carry_the_kiosks_own_number(served):
    slot = slots(served, "SB-007", kind="window")[1]
    for bad in ("ZW0002261123-00000003", "FW0001261123-00000003", "ZW0001261130-00000003", "x"):
        refused = post(served, "/appointment-requests", {**body(slot), "request_no": bad})
        assert refused.status_code in (400, 422), (bad, refused.text)
    missing = post(served, "/appointment-requests", body(slot))
    assert missing.status_code in (400, 422)


def test_a_queued_booking_carries_the_slips_phone_link(served):
    import secrets

    slot = slots(served, "SB-007", kind="window")[3]
    token = secrets.token_urlsafe(24)
    bad = post(served, "/appointment-requests", {**body(slot, id_number(305)), "request_no": request_no(3),
                                                 "mobile_token": "short"})
    assert bad.status_code in (400, 422)
    answer = post(served, "/appointment-requests", {**body(slot, id_number(305), name="黄建国"),
                                                    "request_no": request_no(4), "mobile_token": token})
    assert answer.status_code == 201 and answer.json()["outcome"] == "booked"
    page = requests.get(served.url + "/m/" + token, timeout=10)
    assert page.status_code == 200 and answer.json()["booking_no"] in page.text and "黄**" in page.text
    reused = post(served, "/appointment-requests", {**body(slot, id_number(306)), "request_no": request_no(5),
                                                    "mobile_token": token})
    assert reused.status_code == 422 and "mobile_token" in reused.json()["error"]
    assert get(served, f"/appointment-requests/{request_no(5)}").status_code == 404   # refused: nothing kept
