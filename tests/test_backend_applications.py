"""Progress lookup (办件进度) over real HTTP on loopback: by receipt number and by ID number, masked,
with the demo people's seeded applications at every status."""
from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import date

import pytest
import requests

from backend import seed
from backend.clock import add_working_days
from backend.db import Database
from backend.people import mask_address, mask_id_number, mask_name
from backend.server import BackendThread
from conftest import ROOT
from kiosk.qr_content import RECEIPT_NO_RE

AUTH = {"Authorization": "Bearer demo-token"}
FIXTURES = "devices/idcard/fixtures"
WEI = {"name": "韦岚", "id_number": "450329198802140427", "phone": "13877310427"}


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return tmp_path_factory.mktemp("applications") / "backend.sqlite3"


@pytest.fixture(scope="module")
def backend(db_path):
    with BackendThread(db_url=f"sqlite:///{db_path}") as server:
        yield server


def get(server, path, **params):
    return requests.get(server.url + path, params=params, headers=AUTH, timeout=10)


def mine(server, id_number):
    response = requests.get(server.url + "/api/v1/applications", params={"id_number": id_number}, timeout=10,
                            headers={**AUTH, "X-Subject-Id-Number": id_number})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_the_demo_people_from_the_card_fixtures_have_applications_at_every_status(backend):
    card = json.loads((ROOT / FIXTURES / "resident.json").read_text(encoding="utf-8"))["fields"]
    items = mine(backend, card["id_number"])
    assert {item["status"] for item in items} >= {"受理", "审核中", "办结", "已邮寄"}
    elderly = json.loads((ROOT / FIXTURES / "resident_longterm.json").read_text(encoding="utf-8"))["fields"]
    assert {item["status"] for item in mine(backend, elderly["id_number"])} >= {"审核中", "待领取", "办结"}
    received = [item["received_at"] for item in items]
    assert received == sorted(received, reverse=True), "newest first"
    for item in items:
        assert RECEIPT_NO_RE.fullmatch(item["receipt_no"])
        assert item["applicant"] == {"name": "韦*", "id_number": "450329********0427"}
        assert item["history"][0]["status"] == "受理"
        assert item["history"][-1]["status"] == item["status"]
        times = [entry["at"] for entry in item["history"]]
        assert times == sorted(times)
        start = date.fromisoformat(item["received_at"][:10])
        assert item["deadline"] == add_working_days(start, item["time_limit_days"]).isoformat()
    newest = next(item for item in items if item["item_id"] == "YB-004")  # received the day of seeding
    seed_day = newest["received_at"][:10].replace("-", "")
    assert newest["receipt_no"] == f"ZW{seed_day}-000001", "the demo's F4 scans the seed day's first receipt"
    posted = next(item for item in items if item["status"] == "已邮寄")
    assert posted["delivery"]["method"] == "post" and posted["delivery"]["tracking_no"]
    assert posted["delivery"]["address"] == "广西壮族自治区****"
    assert [entry["status_code"] for entry in posted["history"]] == ["received", "in_review", "completed", "posted"]


def test_lookup_by_receipt_number_is_masked(backend):
    submitted = requests.post(backend.url + "/api/v1/submissions", timeout=10,
                              headers={**AUTH, "Idempotency-Key": str(uuid.uuid4())},
                              json={"item_id": "JY-002", "applicant": WEI, "materials": [],
                                    "delivery": {"method": "post", "address": "广西壮族自治区桂林市资源县资源镇测试新村2号"}})
    assert submitted.status_code == 201, submitted.text
    receipt_no = submitted.json()["receipt_no"]
    response = get(backend, f"/api/v1/applications/{receipt_no}")
    assert response.status_code == 200
    answer = response.json()
    assert list(answer) == ["receipt_no", "item_id", "item_name", "department", "status", "status_code",
                            "history", "received_at", "time_limit_days", "deadline", "delivery", "applicant",
                            "materials", "shipments"]
    assert answer["receipt_no"] == receipt_no and answer["item_id"] == "JY-002"
    assert answer["item_name"] == "失业登记" and answer["status"] == "受理" and answer["status_code"] == "received"
    assert answer["history"] == [{"status": "受理", "status_code": "received", "at": answer["received_at"],
                                  "note": "自助终端提交申请，材料已接收"}]
    assert answer["deadline"] == answer["received_at"][:10]  # 即办
    assert answer["delivery"] == {"method": "post", "label": "邮寄送达", "address": "广西壮族自治区****"}
    assert answer["applicant"] == {"name": "韦*", "id_number": "450329********0427"}
    for secret in ("韦岚", "450329198802140427", "13877310427", "测试新村"):
        assert secret not in response.text
    # typed on a keypad: lower case and spaces are forgiven
    assert get(backend, f"/api/v1/applications/{receipt_no.lower()}").json() == answer
    assert mine(backend, WEI["id_number"])[0]["receipt_no"] == receipt_no


@pytest.mark.parametrize("receipt_no, status", [
    ("ZW20000101-999999", 404),
    ("ZW0001000101-99999999", 404),
    ("AB123456", 404),
    ("hello", 400),
    ("12345678", 400),
    ("ZW2026-1", 400),
    ("Z" * 41, 400),
])
def test_unknown_and_malformed_receipt_numbers(backend, receipt_no, status):
    response = get(backend, f"/api/v1/applications/{receipt_no}")
    assert response.status_code == status
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("params", [{}, {"id_number": ""}, {"id_number": "450329198802140428"},
                                    {"id_number": "USA310801010015"}, {"id_number": "4503291988021404271"}])
def test_listing_needs_a_valid_id_number(backend, params):
    response = requests.get(backend.url + "/api/v1/applications", params=params, headers=AUTH, timeout=10)
    assert response.status_code == 400
    assert "id_number" in response.json()["error"]


def test_a_person_without_applications_gets_an_empty_list(backend):
    assert mine(backend, "931840198001010025") == []  # the 2023 foreign card's holder
    assert mine(backend, "45032919670715002x") == []  # lower-case x is the same number


def test_lookups_need_a_token(backend):
    assert requests.get(backend.url + "/api/v1/applications/ZW20261123-000001", timeout=10).status_code == 401
    assert requests.get(backend.url + "/api/v1/applications", params={"id_number": WEI["id_number"]},
                        timeout=10).status_code == 401


def test_demo_people_are_seeded_once_and_initialise_adds_no_data(tmp_path, db_path):
    with sqlite3.connect(db_path) as conn:
        before = conn.execute("SELECT COUNT(*) FROM applications").fetchone()[0]
    again = Database(f"sqlite:///{db_path}")
    try:
        again.initialise()
        seed.seed_demo(again)
    finally:
        again.dispose()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM applications").fetchone()[0] == before

    bare = Database(f"sqlite:///{tmp_path / 'bare.sqlite3'}")
    try:
        bare.initialise()
    finally:
        bare.dispose()
    with sqlite3.connect(tmp_path / "bare.sqlite3") as conn:
        for table in ("applications", "certificates", "kiosks", "catalogue_items"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table


def test_a_database_seeded_before_the_demo_people_gets_them_on_its_next_start(tmp_path):
    path = tmp_path / "older.sqlite3"
    db = Database(f"sqlite:///{path}")
    try:
        db.initialise()
        seed.seed_demo(db)
    finally:
        db.dispose()
    with sqlite3.connect(path) as conn:  # as an older backend left it
        for table in ("application_events", "submission_files", "applications", "certificates"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM backend_meta WHERE key='demo_people_seeded_at'")
    with BackendThread(db_url=f"sqlite:///{path}") as server:
        assert {item["status"] for item in mine(server, WEI["id_number"])} >= {"受理", "已邮寄"}


def test_masking():
    assert mask_name("韦岚") == "韦*" and mask_name("欧阳娜娜") == "欧***"
    assert mask_id_number("44030419750610003X") == "440304********003X"
    assert mask_address("广东省深圳市南山区示例路88号") == "广东省****"
    assert mask_address("示例村三组") == "示例****"
