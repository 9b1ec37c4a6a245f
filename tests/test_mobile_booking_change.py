"""改约 on the phone and 回访 for staff, on a real platform on loopback: the booking page offers the other
free times of the same item and way and moves the booking (form token and same site, like the
cancel form; a time taken meanwhile says so), in headless chromium phone-sized; staff signed in to
the administrators' pages list the open call-back tasks with the person masked, look up the number
to phone (on the record) and mark a task done."""
from __future__ import annotations

import re
import uuid

import pytest
import requests
import sqlalchemy as sa

from backend.db import appointments
from backend.fleet import admins as fleet_admins
from security_platform import DEMO, Clock, id_number, platform
from test_mobile_pages import fits_the_screen, phone  # noqa: F401  (the browser fixture)

MENG = "450329195503020018"
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with platform(tmp_path_factory.mktemp("mobile-change") / "p.sqlite3", clock=Clock()) as server:
        yield server


def slots(served, item_id, kind, **params):
    return requests.get(served.url + "/api/v1/appointments/slots", params={"item_id": item_id, "kind": kind, **params},
                        headers=DEMO, timeout=10).json()["items"]


def book(served, slot, person=MENG, name="蒙桂英", **extra):
    return requests.post(served.url + "/api/v1/appointments", timeout=10, json={
        "slot_id": slot["slot_id"], "item_id": slot["item_id"], "name": name, "id_number": person,
        "phone": "13807730018", **extra},
        headers={**DEMO, "X-Subject-Id-Number": person, "Idempotency-Key": uuid.uuid4().hex})


def page_url(served, number):
    made = requests.post(served.url + "/api/v1/mobile-links", json={"kind": "booking", "target": number},
                         headers=DEMO, timeout=10)
    assert made.status_code == 201
    return made.json()["url"]


def form_token(url):
    return requests.get(url, timeout=10).text.split('name="form_token" value="')[1].split('"')[0]


def slot_of(served, number):
    return requests.get(served.url + f"/api/v1/appointments/{number}", headers=DEMO, timeout=10).json()["slot"]


def test_change_a_booking_on_a_phone(served, phone):  # noqa: F811
    first, later = slots(served, "SB-003", "window")[:2]
    number = book(served, first).json()["booking_no"]
    url = page_url(served, number)
    phone.goto(url)
    radios = phone.locator("input[name=slot_id]")
    assert radios.count() >= 5 and fits_the_screen(phone)
    assert phone.locator(f"input[value='{first['slot_id']}']").count() == 0   # not its own time
    phone.locator(f"input[value='{later['slot_id']}']").tap()
    with phone.expect_navigation():
        phone.get_by_role("button", name="改到选中的时间").tap()
    assert phone.url == url
    assert later["starts_at"][11:16] in phone.locator("table").first.inner_text()
    moved = slot_of(served, number)
    assert moved["slot_id"] == later["slot_id"] and moved["free"] == later["free"] - 1
    assert slots(served, "SB-003", "window")[0]["free"] == first["free"]   # the old place is free again


def test_change_needs_the_form_token_the_same_site_and_a_free_time(served):
    first, later, third = slots(served, "SB-003", "after_hours")[:3]
    number = book(served, first).json()["booking_no"]
    url = page_url(served, number)
    token = form_token(url)
    post = lambda data, **headers: requests.post(url + "/change", data=data, headers=headers,  # noqa: E731
                                                 allow_redirects=False, timeout=10)
    assert post({"form_token": "x" * 32, "slot_id": later["slot_id"]}).status_code == 403
    assert post({"form_token": token, "slot_id": later["slot_id"]}, Origin="http://evil.example",
                **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert post({"form_token": token}).status_code == 422                      # no time chosen
    other_item = slots(served, "YL-003", "window")[0]
    assert post({"form_token": token, "slot_id": other_item["slot_id"]}).status_code == 422
    assert requests.post(url + "/change", json={"form_token": token}, timeout=10).status_code == 415
    # a time that filled up meanwhile: the page again, saying so; the booking stays where it was
    for serial in range(third["capacity"]):
        person = id_number(400 + serial)
        assert book(served, third, person, name="黄建国").status_code == 201
    full = post({"form_token": token, "slot_id": third["slot_id"]})
    assert full.status_code == 409 and "刚刚约满" in full.text and MENG not in full.text
    assert slot_of(served, number)["slot_id"] == first["slot_id"]
    assert post({"form_token": token, "slot_id": later["slot_id"]}).status_code == 303
    assert slot_of(served, number)["slot_id"] == later["slot_id"]
    # a cancelled booking is no longer changed, and offers no times
    assert requests.post(url + "/cancel", data={"form_token": token}, allow_redirects=False, timeout=10).status_code == 303
    assert post({"form_token": token, "slot_id": first["slot_id"]}).status_code == 422
    assert "slot_id" not in requests.get(url, timeout=10).text


def signed_in(served, monkeypatch) -> requests.Session:
    monkeypatch.setattr(fleet_admins, "SCRYPT_N", 2**10)
    fleet_admins.Admins(served.db).add("alice", PASSWORD)
    session = requests.Session()
    form = session.get(served.url + "/admin/login", timeout=10)
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text).group(1)
    answer = session.post(served.url + "/admin/login", data={"name": "alice", "password": PASSWORD, "nonce": nonce},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 303
    return session


def test_staff_see_call_back_tasks_masked_phone_and_mark_them_done(served, monkeypatch):
    visit = next(s for s in slots(served, "CJ-004", "home_visit") if s["free"] == 1)
    assert book(served, visit, id_number(501), name="韦岚", address="资源镇测试新村2号").status_code == 201
    late = book(served, visit, id_number(502), name="黄建国", address="资源镇测试新村3号")
    assert late.status_code == 409
    task_no = late.json()["callback_no"]
    assert requests.get(served.url + "/admin/callbacks", allow_redirects=False, timeout=10).status_code == 303
    assert requests.post(served.url + f"/admin/callbacks/{task_no}/done", data={"csrf": "x"},
                         allow_redirects=False, timeout=10).status_code == 401
    staff = signed_in(served, monkeypatch)
    listing = staff.get(served.url + "/admin/callbacks", timeout=10)
    assert listing.status_code == 200 and task_no in listing.text
    assert "黄**" in listing.text and "138****0018" in listing.text and "黄建国" not in listing.text
    assert "13807730018" not in listing.text and "困难残疾人生活补贴申请" in listing.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', listing.text).group(1)
    assert staff.post(served.url + f"/admin/callbacks/{task_no}/phone", data={"csrf": "wrong"},
                      timeout=10).status_code == 403
    shown = staff.post(served.url + f"/admin/callbacks/{task_no}/phone", data={"csrf": csrf}, timeout=10)
    assert shown.status_code == 200 and "13807730018" in shown.text and "黄建国" not in shown.text
    done = staff.post(served.url + f"/admin/callbacks/{task_no}/done", data={"csrf": csrf}, allow_redirects=False,
                      timeout=10)
    assert done.status_code == 303
    after = staff.get(served.url + "/admin/callbacks", timeout=10)
    assert f"task-{task_no}" not in after.text and "已标记回访" in after.text
    with served.db.read() as conn:
        actions = conn.execute(sa.select(fleet_admins.fleet_admin_actions.c.action,
                                         fleet_admins.fleet_admin_actions.c.target)).all()
        live = conn.execute(sa.select(sa.func.count()).select_from(appointments)
                            .where(appointments.c.slot_id == visit["slot_id"])).scalar()
    assert ("callback_phone", task_no) in actions and ("callback_done", task_no) in actions and live == 1
