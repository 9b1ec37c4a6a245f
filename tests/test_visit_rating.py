"""A rating is about what was just done in this visit: the item and its number go to the platform,
其他 carries the typed remark, an unhappy citizen can ask to be called back (stored on the real
platform), and rating from 结束办理 ends the visit once stored."""
from __future__ import annotations

import json
import sqlite3
import uuid

import pytest
import requests

from backend.server import BackendThread
from flow_fakes import Services, make_kiosk
from flow_fakes import outbox  # noqa: F401  (fixture)


def stored(outbox):
    (leased,) = outbox.lease()
    request = outbox.load(leased)
    return request.path, json.loads(request.json_text)


def test_a_rating_after_a_service_request_names_it_and_asks_for_a_call_back(tmp_path, outbox):
    k = make_kiosk(tmp_path, services=Services(outbox=outbox))
    k.shell.open_task("rating", what="上门办", receipt_no="ZW0001261201-12345678")
    assert k.views["rating"].last("show_subject") == ("您评价的是：上门办\n编号 ZW0001261201-12345678",)
    k.flows["rating"].submit(1, ["reason_other", "reason_wait"], "  排队久  机器坏了 ", "1391234")   # short phone
    assert outbox.status()["pending"] == 0
    k.flows["rating"].submit(1, ["reason_other", "reason_wait"], "  排队久  机器坏了 ", "13912345678")
    path, payload = stored(outbox)
    assert path == "/api/v1/ratings"
    assert payload["receipt_no"] == "ZW0001261201-12345678" and payload["callback_phone"] == "13912345678"
    assert payload["comment"] == "排队久 机器坏了" and "其他" in payload["tags"] and "上门办" in payload["tags"]
    assert "回电" in k.shell.messages[-1][1]


def test_a_happy_rating_sends_no_phone_nor_remark(tmp_path, outbox):
    k = make_kiosk(tmp_path, services=Services(outbox=outbox))
    k.shell.open_task("rating")
    assert k.views["rating"].last("show_subject") == ("您评价的是：本次自助服务",)
    k.flows["rating"].submit(5, ["reason_other"], "text", "13912345678")
    _, payload = stored(outbox)
    assert "callback_phone" not in payload and payload["comment"] == "" and payload["tags"] == []


def test_rating_from_the_end_of_the_visit_ends_it(tmp_path, outbox):
    k = make_kiosk(tmp_path, services=Services(outbox=outbox))
    k.shell.open_task("rating", then_end=True)
    session = k.keeper.current
    assert session is not None
    k.flows["rating"].submit(4, [])
    assert session.wiped and k.shell.screen == "attract" and k.shell.messages[-1][1] == "您的评价已提交。"


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    db = tmp_path_factory.mktemp("ratings") / "backend.sqlite3"
    with BackendThread(db_url=f"sqlite:///{db}") as server:
        yield server, db


def test_the_platform_keeps_the_call_back_phone_and_refuses_a_bad_one(platform):
    server, db = platform
    headers = {"Authorization": "Bearer demo-token"}
    body = {"subject": "service", "score": 2, "tags": ["其他"], "comment": "排队久",
            "receipt_no": "ZW0001261201-12345678", "callback_phone": "13912345678"}
    answer = requests.post(server.url + "/api/v1/ratings", json=body, timeout=10,
                           headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code == 201, answer.text and answer.json()["follow_up"] is True
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT callback_phone, receipt_no FROM ratings ORDER BY id DESC").fetchone()
    assert row == ("13912345678", "ZW0001261201-12345678")
    bad = requests.post(server.url + "/api/v1/ratings", json={**body, "callback_phone": "call me"}, timeout=10,
                        headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert bad.status_code == 422
