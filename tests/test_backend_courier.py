"""Courier pick-up and delivery over real HTTP on loopback: the county's divisions, a submission
sent by courier (waybills made with it, the originals' pick-up booked), the steps the reference
courier reports (pushed by the test endpoint, or by time), certificates by post, and every field
refused plainly with nothing stored."""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from backend.db import applications, shipment_steps, shipments
from security_platform import DEMO, Clock, id_number, platform

NAME = "韦岚"
ID_NUMBER = "450329198802140427"
PHONE = "13877310427"
VILLAGE = "450329101202"        # 资源镇 和平村
ADDRESS = {"division": VILLAGE, "house": "12号"}


@pytest.fixture(scope="module")
def clock():
    return Clock()   # Monday 2026-11-23 10:00 China time


@pytest.fixture(scope="module")
def served(tmp_path_factory, clock):
    with platform(tmp_path_factory.mktemp("courier") / "p.sqlite3", clock=clock, test_endpoints=True) as server:
        yield server


def get(served, path, **params):
    return requests.get(served.url + "/api/v1" + path, params=params, headers=DEMO, timeout=10)


def submit(served, delivery, **extra):
    body = {"item_id": "JY-002", "materials": [], "delivery": delivery,
            "applicant": {"name": NAME, "id_number": ID_NUMBER, "phone": PHONE}, **extra}
    return requests.post(served.url + "/api/v1/submissions", json=body, timeout=10,
                         headers={**DEMO, "Idempotency-Key": uuid.uuid4().hex})


def courier(**changes):
    return {"method": "courier", "address": dict(ADDRESS), "phone": PHONE, **changes}


def advance(served, tracking_no, **body):
    response = requests.post(served.url + f"/api/v1/test/shipments/{tracking_no}/advance", json=body or None,
                             headers=DEMO, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def count(served, table):
    with served.db.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


# -- divisions ----------------------------------------------------------------------------------------

def test_divisions_from_province_to_village(served):
    provinces = get(served, "/divisions").json()["items"]
    assert [p["name"] for p in provinces] == ["广西壮族自治区"]
    cities = get(served, "/divisions", parent="450000000000").json()["items"]
    assert [(c["code"], c["level"]) for c in cities] == [("450300000000", "city")]
    counties = get(served, "/divisions", parent="450300000000").json()["items"]
    assert {c["name"] for c in counties} == {"资源县", "龙胜各族自治县"}
    towns = get(served, "/divisions", parent="450329000000").json()["items"]
    assert [t["name"] for t in towns] == ["资源镇", "梅溪镇", "车田苗族乡", "枫林乡"]
    assert all(t["level"] == "town" and t["parent"] == "450329000000" for t in towns)
    villages = get(served, "/divisions", parent="450329101000").json()["items"]
    assert "和平村村民委员会" in [v["name"] for v in villages]
    assert all(v["code"].startswith("450329101") and v["level"] == "village" for v in villages)


def test_a_county_with_its_towns_and_villages_in_one_answer(served):
    everything = get(served, "/divisions", parent="450329000000", depth=2).json()["items"]
    levels = [d["level"] for d in everything]
    assert levels.count("town") == 4 and levels.count("village") == 12
    assert levels.index("village") > max(i for i, level in enumerate(levels) if level == "town")


def test_a_division_with_its_chain(served):
    answer = get(served, f"/divisions/{VILLAGE}").json()
    assert [d["name"] for d in answer["chain"]] == ["广西壮族自治区", "桂林市", "资源县", "资源镇", "和平村村民委员会"]
    assert answer["division"]["code"] == VILLAGE


@pytest.mark.parametrize("path, params, status", [
    ("/divisions", {"parent": "4503"}, 400),
    ("/divisions", {"parent": "450029000000"}, 400),       # skips the city
    ("/divisions", {"parent": "450330000000"}, 404),
    ("/divisions", {"parent": "450329000000", "depth": 9}, 400),
    ("/divisions/45032910120x", {}, 400),
    ("/divisions/450329101299", {}, 404),
])
def test_bad_division_lookups_say_why(served, path, params, status):
    response = get(served, path, **params)
    assert response.status_code == status
    assert response.json()["error"]


# -- a submission by courier --------------------------------------------------------------------------

def test_courier_delivery_with_a_pickup_of_the_originals(served, clock):
    response = submit(served, courier(pickup={"date": "2026-11-24", "slot": "am"}))
    assert response.status_code == 201, response.text
    receipt_no = response.json()["receipt_no"]
    found = get(served, f"/applications/{receipt_no}").json()
    assert found["delivery"]["method"] == "courier" and found["delivery"]["label"] == "快递寄到家"
    assert found["delivery"]["address"] == "广西壮族自治区桂林市资源县资源镇****"
    pickup, deliver = found["shipments"]
    assert pickup["kind"] == "pickup" and deliver["kind"] == "deliver"
    assert pickup["pickup_from"] == "2026-11-24T09:00:00+08:00"
    assert pickup["pickup_until"] == "2026-11-24T12:00:00+08:00"
    assert pickup["tracking_no"].startswith("RC") and len(pickup["tracking_no"]) == 15
    assert pickup["tracking_no"] != deliver["tracking_no"]
    assert [s["label"] for s in deliver["steps"]] == ["已下单"]
    assert deliver["steps"][0]["at"] == "2026-11-23T10:00:00+08:00"
    assert "12号" not in str(found) and "和平村" not in str(found)
    with served.db.read() as conn:
        stored = conn.execute(sa.select(shipments).where(shipments.c.receipt_no == receipt_no)).mappings().all()
        delivery = conn.execute(sa.select(applications.c.delivery)
                                .where(applications.c.receipt_no == receipt_no)).scalar()
    assert {s["address"] for s in stored} == {"广西壮族自治区桂林市资源县资源镇和平村12号"}
    assert {s["phone"] for s in stored} == {PHONE} and {s["name"] for s in stored} == {NAME}
    assert delivery["tracking_no"] == deliver["tracking_no"] and delivery["division"] == VILLAGE

    # the courier's pushes move the parcel one step at a time, then all the way
    moved = advance(served, deliver["tracking_no"])
    assert moved["status"] == "collected" and moved["status_label"] == "已揽收"
    advance(served, deliver["tracking_no"], to="delivered")
    again = get(served, f"/applications/{receipt_no}").json()["shipments"][1]
    assert [s["label"] for s in again["steps"]] == ["已下单", "已揽收", "运输中", "派送中", "已签收"]
    assert again["status_label"] == "已签收"
    assert advance(served, deliver["tracking_no"])["status"] == "delivered"   # nothing after delivered
    shown = get(served, f"/shipments/{deliver['tracking_no']}").json()
    assert shown == again


def test_the_reference_courier_moves_parcels_by_time(served, clock):
    start = clock.moment
    response = submit(served, courier(pickup={"date": "2026-11-23", "slot": "pm"}))
    receipt_no = response.json()["receipt_no"]
    try:
        clock.moment = start + timedelta(hours=13)   # 23:00: collected at 15:00 and 16:00, 6 h later in transit
        pickup, deliver = get(served, f"/applications/{receipt_no}").json()["shipments"]
        assert [s["step"] for s in pickup["steps"]] == ["created", "collected", "in_transit"]
        assert pickup["steps"][1]["at"] == "2026-11-23T15:00:00+08:00"
        assert pickup["steps"][1]["label"] == "已揽收" and pickup["status_label"] == "运输中"
        assert [s["step"] for s in deliver["steps"]] == ["created", "collected", "in_transit"]
        clock.moment = start + timedelta(days=3)
        pickup, deliver = get(served, f"/applications/{receipt_no}").json()["shipments"]
        assert pickup["status_label"] == "服务中心已签收" and deliver["status_label"] == "已签收"
        assert len(deliver["steps"]) == 5
    finally:
        clock.moment = start


def test_a_pickup_time_that_passed_while_offline_moves_to_the_next_day(served, clock):
    start = clock.moment
    try:
        clock.moment = start + timedelta(days=1, hours=4)     # Tuesday 14:00: the morning is gone
        response = submit(served, courier(pickup={"date": "2026-11-24", "slot": "am"}))
        assert response.status_code == 201, response.text
        pickup = get(served, f"/applications/{response.json()['receipt_no']}").json()["shipments"][0]
        assert pickup["pickup_from"] == "2026-11-25T09:00:00+08:00"
        assert "已改约" in pickup["steps"][0]["note"]
    finally:
        clock.moment = start


def test_the_application_list_by_card_carries_the_shipments(served):
    submit(served, courier())
    listed = requests.get(served.url + "/api/v1/applications", params={"id_number": ID_NUMBER}, timeout=10,
                          headers={**DEMO, "X-Subject-Id-Number": ID_NUMBER}).json()["items"]
    sent = [a for a in listed if a["delivery"]["method"] == "courier"]
    assert sent and all(a["shipments"] and a["shipments"][-1]["kind"] == "deliver" for a in sent)
    assert all(not a["shipments"] for a in listed if a["delivery"]["method"] != "courier")


@pytest.mark.parametrize("delivery, words", [
    (courier(address={"division": "450329101299", "house": "12号"}), "not known"),
    (courier(address={"division": "450329101000", "house": "12号"}), "choose the village"),
    (courier(address={"division": "450329000000", "house": "12号"}), "town or a village"),
    (courier(address={"division": "4503291012", "house": "12号"}), "12 digits"),
    (courier(address={"division": "450329101202"}), "house"),
    (courier(address={"division": VILLAGE, "house": "12号<b>"}), "house"),
    (courier(address={"division": VILLAGE, "house": "十二号"}), "house"),
    (courier(address={"division": VILLAGE, "house": "1" * 25}), "house"),
    (courier(address={"division": VILLAGE, "house": "12号", "street": "x"}), "address must be"),
    (courier(address="广西壮族自治区桂林市资源县资源镇和平村12号"), "address must be"),
    (courier(phone="1387731042"), "delivery.phone"),
    (courier(phone=None), "delivery.phone"),
    (courier(pickup={"date": "2026-11-24", "slot": "night"}), "slot"),
    (courier(pickup={"date": "2026-13-01", "slot": "am"}), "date"),
    (courier(pickup={"date": "2026-12-31", "slot": "am"}), "days ahead"),
    (courier(pickup={"date": "2026-11-24"}), "pickup must be"),
    (courier(gate="north"), "unknown field"),
])
def test_every_courier_field_is_checked_and_nothing_is_stored(served, delivery, words):
    before = (count(served, applications), count(served, shipments), count(served, shipment_steps))
    response = submit(served, delivery)
    assert response.status_code == 422, response.text
    message = response.json()["error"]
    assert words in message and "\n" not in message
    assert PHONE not in message and "和平村" not in message
    assert (count(served, applications), count(served, shipments), count(served, shipment_steps)) == before


# -- certificates by post -------------------------------------------------------------------------------

def certificate_of(served, person=ID_NUMBER):
    listed = requests.get(served.url + "/api/v1/certificates", params={"id_number": person}, timeout=10,
                          headers={**DEMO, "X-Subject-Id-Number": person}).json()["items"]
    return listed[0]


def post_certificate(served, **body):
    return requests.post(served.url + "/api/v1/shipments", json=body, timeout=10,
                         headers={**DEMO, "Idempotency-Key": uuid.uuid4().hex})


def test_a_certificate_by_post_is_tracked_by_its_order_number(served):
    certificate = certificate_of(served)
    order_no = "ZW0001261123-55501234"
    response = post_certificate(served, certificate_id=certificate["id"], id_number=ID_NUMBER, phone=PHONE,
                                address={"division": "450329201202", "house": "3栋2单元401室"}, order_no=order_no)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["order_no"] == order_no and order["title"] == certificate["title"]
    assert order["shipment"]["kind"] == "deliver" and order["shipment"]["address"] == "广西壮族自治区桂林市资源县车田苗族乡****"
    progress = get(served, f"/applications/{order_no}").json()
    assert progress["item_name"] == f"邮寄证明：{certificate['title']}"
    assert progress["shipments"][0]["tracking_no"] == order["shipment"]["tracking_no"]
    assert progress["applicant"]["name"] == "韦*"
    taken = post_certificate(served, certificate_id=certificate["id"], id_number=ID_NUMBER, phone=PHONE,
                             address=ADDRESS, order_no=order_no)
    assert taken.status_code == 409 and taken.json()["error"] == "receipt_no_taken"


def test_a_certificate_is_posted_only_for_its_holder(served):
    certificate = certificate_of(served)
    before = count(served, shipments)
    response = post_certificate(served, certificate_id=certificate["id"], id_number=id_number(77), phone=PHONE,
                                address=ADDRESS)
    assert response.status_code == 403
    assert post_certificate(served, certificate_id="ZM0000", id_number=ID_NUMBER, phone=PHONE,
                            address=ADDRESS).status_code == 403
    bad = post_certificate(served, certificate_id=certificate["id"], id_number=ID_NUMBER, phone=PHONE,
                           address={"division": "450329101000", "house": "1号"})
    assert bad.status_code == 422 and "village" in bad.json()["error"]
    assert count(served, shipments) == before


def test_nothing_personal_in_the_logs(served, caplog):
    certificate = certificate_of(served)
    caplog.set_level(logging.DEBUG)
    submit(served, courier(pickup={"date": "2026-11-25", "slot": "pm"}))
    post_certificate(served, certificate_id=certificate["id"], id_number=ID_NUMBER, phone=PHONE, address=ADDRESS)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("backend", "sqlalchemy")))
    assert "waybill RC" in text
    for secret in (ID_NUMBER, PHONE, NAME, "和平村", "12号"):
        assert secret not in text
