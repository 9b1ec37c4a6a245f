"""Appointments over real HTTP on loopback: slots per centre and item (window, after hours, home
visits per village), capacity, booking for the card's holder, the one-time notice, the taken slot's
409 with its call-back task, cancelling, and ID numbers masked in answers and logs."""
from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from backend import seed
from backend.db import Database, appointment_slots, appointments, callback_tasks, item_fees, subject_access
from security_platform import DEMO, Clock, id_number, platform

MENG = "450329195503020018"
WEI = "450329198802140427"


@pytest.fixture(scope="module")
def clock():
    return Clock()  # Monday 2026-11-23 10:00 China time


@pytest.fixture(scope="module")
def served(tmp_path_factory, clock):
    with platform(tmp_path_factory.mktemp("appointments") / "p.sqlite3", clock=clock) as server:
        yield server


def get(served, path, **params):
    return requests.get(served.url + "/api/v1" + path, params=params, headers=DEMO, timeout=10)


def post(served, path, body, subject=None, key=None):
    headers = {**DEMO, "Idempotency-Key": key or uuid.uuid4().hex}
    if subject:
        headers["X-Subject-Id-Number"] = subject
    return requests.post(served.url + "/api/v1" + path, json=body, headers=headers, timeout=10)


def slots(served, item_id, **params):
    response = get(served, "/appointments/slots", item_id=item_id, **params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def booking_body(slot, id_no=MENG, name="蒙桂英", **extra):
    return {"slot_id": slot["slot_id"], "item_id": slot["item_id"], "name": name, "id_number": id_no,
            "phone": "13807730018", **extra}


def test_slots_per_item_kind_and_village(served):
    found = slots(served, "YL-003")
    kinds = {s["kind"] for s in found}
    assert kinds == {"window", "after_hours", "home_visit"}
    assert all(s["starts_at"].endswith("+08:00") and s["free"] == s["capacity"] for s in found)
    assert [s["starts_at"] for s in found] == sorted(s["starts_at"] for s in found)
    assert found[0]["starts_at"].startswith("2026-11-24T09:00")  # the next day, not today
    after = slots(served, "YL-003", kind="after_hours")
    assert after and all(s["starts_at"][11:16] == "18:30" and s["kind_label"].startswith("延时") for s in after)
    visits = slots(served, "YL-003", kind="home_visit", village="车田苗族乡示例村")
    assert visits and all(s["village"] == "车田苗族乡示例村" and s["capacity"] == 1 for s in visits)
    assert len(slots(served, "YL-003", days=1)) < len(found)
    assert get(served, "/appointments/slots", item_id="NO-SUCH").status_code == 404
    assert get(served, "/appointments/slots", item_id="YL-003", days=0).status_code == 400


def test_notice_lists_everything_to_bring(served):
    response = get(served, "/notices/YL-003")
    assert response.status_code == 200
    notice = response.json()
    assert notice["item_name"] == "老年人优待证办理"
    assert any(m["name"] == "居民身份证" and m["kind_label"] == "原件" for m in notice["materials"])
    assert get(served, "/notices/NO-SUCH").status_code == 404


def test_book_then_cancel_frees_the_place(served, caplog):
    slot = slots(served, "SB-007", kind="window")[0]
    caplog.set_level(logging.INFO)
    response = post(served, "/appointments", booking_body(slot), subject=MENG)
    assert response.status_code == 201, response.text
    booked = response.json()
    assert booked["status"] == "booked" and booked["booking_no"].startswith("YY0000261123-")
    assert booked["slot"]["free"] == slot["free"] - 1
    assert booked["notice"]["item_id"] == "SB-007" and booked["notice"]["materials"]
    assert booked["person"] == {"name": "蒙**", "id_number": "450329********0018"}
    assert MENG not in response.text and "蒙桂英" not in response.text
    assert MENG not in caplog.text and "蒙桂英" not in caplog.text
    with served.db.read() as conn:
        audit = conn.execute(sa.select(subject_access.c.action, subject_access.c.subject_masked)
                             .where(subject_access.c.action == "book_appointment")).all()
    assert ("book_appointment", "450329********0018") in audit
    again = get(served, f"/appointments/{booked['booking_no']}")
    assert again.status_code == 200 and again.json()["status"] == "booked"

    # only the person who booked may cancel
    refused = post(served, f"/appointments/{booked['booking_no']}/cancel", {}, subject=WEI)
    assert refused.status_code == 403
    cancelled = post(served, f"/appointments/{booked['booking_no']}/cancel", {}, subject=MENG)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["slot"]["free"] == slot["free"]
    twice = post(served, f"/appointments/{booked['booking_no']}/cancel", {"reason": "不去了"}, subject=MENG)
    assert twice.status_code == 200 and twice.json()["slot"]["free"] == slot["free"]


def test_booking_needs_the_cards_holder(served):
    slot = slots(served, "SB-007")[0]
    assert post(served, "/appointments", booking_body(slot)).status_code == 403  # no subject header
    assert post(served, "/appointments", booking_body(slot), subject=WEI).status_code == 403
    bad = post(served, "/appointments", booking_body(slot, phone="12"), subject=MENG)
    assert bad.status_code == 422 and "12" not in bad.json()["error"].replace("phone", "")
    visit = slots(served, "YL-003", kind="home_visit")[0]
    no_address = post(served, "/appointments", booking_body(visit), subject=MENG)
    assert no_address.status_code == 422 and "address" in no_address.json()["error"]
    home = post(served, "/appointments", booking_body(visit, address="车田苗族乡示例村三组"), subject=MENG)
    assert home.status_code == 201, home.text
    assert home.json()["slot"]["kind"] == "home_visit"


def test_a_full_slot_is_409_with_a_call_back_task(served):
    slot = slots(served, "CJ-005", kind="after_hours")[0]
    assert slot["capacity"] == 2
    people = [id_number(serial) for serial in (101, 102, 103)]
    first, second = (post(served, "/appointments", booking_body(slot, p, name="黄建国"), subject=p) for p in people[:2])
    assert first.status_code == 201 and second.status_code == 201
    assert second.json()["slot"]["free"] == 0
    key = uuid.uuid4().hex
    taken = post(served, "/appointments", booking_body(slot, people[2], name="陈嘉欣"), subject=people[2], key=key)
    assert taken.status_code == 409, taken.text
    answer = taken.json()
    assert answer["error"] == "slot_taken" and "约满" in answer["message"]
    assert answer["callback_no"].startswith("HF0000")
    # the outbox's retry with the same key gets the same answer and no second task
    replay = post(served, "/appointments", booking_body(slot, people[2], name="陈嘉欣"), subject=people[2], key=key)
    assert replay.status_code == 409 and replay.json() == answer
    with served.db.read() as conn:
        tasks = conn.execute(sa.select(callback_tasks).where(callback_tasks.c.slot_id == slot["slot_id"])).mappings().all()
        row = conn.execute(sa.select(appointment_slots).where(appointment_slots.c.id == slot["slot_id"])).mappings().one()
        live = conn.execute(sa.select(sa.func.count()).select_from(appointments)
                            .where(appointments.c.slot_id == slot["slot_id"], appointments.c.status == "booked")).scalar()
    assert [(t["task_no"], t["reason"], t["phone"], t["status"]) for t in tasks] == [
        (answer["callback_no"], "slot_taken", "13807730018", "open")]
    assert row["booked"] == row["capacity"] == live == 2


def test_one_person_books_a_slot_once(served):
    slot = slots(served, "SJ-001")[0]
    assert post(served, "/appointments", booking_body(slot), subject=MENG).status_code == 201
    again = post(served, "/appointments", booking_body(slot), subject=MENG)
    assert again.status_code == 422 and "already" in again.json()["error"]


def test_a_begun_slot_cannot_be_booked_or_cancelled(served, clock):
    slot = slots(served, "SJ-003")[0]
    booked = post(served, "/appointments", booking_body(slot), subject=MENG)
    assert booked.status_code == 201
    later = slots(served, "SJ-003")[1]
    saved = clock.moment
    clock.moment = saved + timedelta(days=2)
    try:
        assert post(served, "/appointments", booking_body(later), subject=MENG).status_code == 422
        late = post(served, f"/appointments/{booked.json()['booking_no']}/cancel", {}, subject=MENG)
        assert late.status_code == 422 and "begun" in late.json()["error"]
    finally:
        clock.moment = saved


def test_unknown_and_malformed_booking_numbers(served):
    assert get(served, "/appointments/YY0000261123-00000000").status_code == 404
    assert get(served, "/appointments/ZW0000261123-00000000").status_code == 400


def test_two_kiosks_racing_for_the_last_place(served):
    slot = next(s for s in slots(served, "CJ-004", kind="home_visit") if s["free"] == 1)
    people = [id_number(serial) for serial in (201, 202)]
    start = threading.Barrier(2)
    answers: list[requests.Response] = []

    def race(person: str) -> None:
        start.wait()
        answers.append(post(served, "/appointments", booking_body(slot, person, name="韦岚", address="资源镇测试新村2号"),
                            subject=person))

    threads = [threading.Thread(target=race, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(a.status_code for a in answers) == [201, 409]
    with served.db.read() as conn:
        row = conn.execute(sa.select(appointment_slots).where(appointment_slots.c.id == slot["slot_id"])).mappings().one()
    assert row["booked"] == 1


def test_a_real_platform_gets_no_demo_slots_or_fees(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'real.sqlite3'}")
    db.initialise()
    seed.seed_catalogue(db)
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(appointment_slots)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(item_fees)).scalar() == 0
    assert not seed.holds_demo_data(db)
    db.dispose()
