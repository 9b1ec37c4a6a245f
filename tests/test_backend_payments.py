"""Payment by phone over real HTTP on loopback: orders behind the reference provider, whose
notifications the test-only endpoint plays: pay, fail, expire, pay twice, the same notification
twice and a late payment, each reconciled so nobody is charged twice."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from backend.db import payment_events
from backend.server import ServingThread, bind_socket, build_app
from security_platform import DEMO, Clock, platform


@pytest.fixture(scope="module")
def clock():
    return Clock()


@pytest.fixture(scope="module")
def served(tmp_path_factory, clock):
    with platform(tmp_path_factory.mktemp("payments") / "p.sqlite3", clock=clock, test_endpoints=True) as server:
        yield server


def order(served, item_id="HJ-002", **extra):
    response = requests.post(served.url + "/api/v1/payments", json={"item_id": item_id, **extra},
                             headers={**DEMO, "Idempotency-Key": uuid.uuid4().hex}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def status(served, order_no):
    response = requests.get(served.url + f"/api/v1/payments/{order_no}", headers=DEMO, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def provider(served, order_no, event, **extra):
    response = requests.post(served.url + f"/api/v1/test/payments/{order_no}/events",
                             json={"event": event, **extra}, headers=DEMO, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_order_shows_amount_and_qr(served):
    made = order(served)
    assert made["order_no"].startswith("ZF0000261123-")
    assert made["amount_fen"] == 4000 and made["amount"] == "40.00"
    assert made["status"] == "pending" and made["qr_content"].startswith("refpay://pay?ref=RP")
    assert made["expires_at"] == "2026-11-23T10:15:00+08:00"
    assert made["charged_fen"] == 0 and made["refund_due_fen"] == 0
    assert status(served, made["order_no"]) == made


def test_pay(served):
    made = order(served, "HJ-001")
    answer = provider(served, made["order_no"], "pay")
    assert answer["outcome"] == "paid"
    paid = status(served, made["order_no"])
    assert paid["status"] == "paid" and paid["charged_fen"] == 2000 and not paid["paid_late"]
    assert paid["qr_content"] is None and "成功" in paid["message"]


def test_fail(served):
    made = order(served)
    assert provider(served, made["order_no"], "fail")["outcome"] == "failed"
    failed = status(served, made["order_no"])
    assert failed["status"] == "failed" and failed["charged_fen"] == 0 and "没有扣款" in failed["message"]


def test_expire_by_the_provider_and_by_time(served, clock):
    made = order(served)
    assert provider(served, made["order_no"], "expire")["outcome"] == "expired"
    assert status(served, made["order_no"])["status"] == "expired"
    second = order(served)
    saved = clock.moment
    clock.moment = saved + timedelta(minutes=15)
    try:
        expired = status(served, second["order_no"])
    finally:
        clock.moment = saved
    assert expired["status"] == "expired" and expired["qr_content"] is None and "重新下单" in expired["message"]


def test_pay_twice_is_charged_once(served):
    made = order(served)
    first = provider(served, made["order_no"], "pay", transaction_id="T-first")
    second = provider(served, made["order_no"], "pay", transaction_id="T-second")
    repeat = provider(served, made["order_no"], "pay", transaction_id="T-first")
    assert (first["outcome"], second["outcome"], repeat["outcome"]) == ("paid", "duplicate_refund_due", "repeat")
    final = status(served, made["order_no"])
    assert final["status"] == "paid" and final["charged_fen"] == 4000 and final["refund_due_fen"] == 4000
    with served.db.read() as conn:
        events = conn.execute(sa.select(payment_events.c.transaction_id, payment_events.c.outcome)
                              .where(payment_events.c.order_no == made["order_no"])
                              .order_by(payment_events.c.id)).all()
    assert [tuple(e) for e in events] == [("T-first", "paid"), ("T-second", "duplicate_refund_due")]


def test_a_late_payment_is_reconciled(served, clock):
    made = order(served)
    saved = clock.moment
    clock.moment = saved + timedelta(hours=1)
    try:
        assert status(served, made["order_no"])["status"] == "expired"  # the citizen was told, and left
        assert provider(served, made["order_no"], "pay", transaction_id="T-late")["outcome"] == "paid_late"
        assert provider(served, made["order_no"], "fail")["outcome"] == "ignored"
    finally:
        clock.moment = saved
    final = status(served, made["order_no"])
    assert final["status"] == "paid" and final["paid_late"] and final["charged_fen"] == 4000
    assert final["refund_due_fen"] == 0


def test_a_wrong_amount_is_refunded_not_taken(served):
    made = order(served)
    assert provider(served, made["order_no"], "pay", amount_fen=1)["outcome"] == "wrong_amount_refund_due"
    state = status(served, made["order_no"])
    assert state["status"] == "pending" and state["refund_due_fen"] == 1 and state["charged_fen"] == 0


def test_the_same_key_makes_one_order(served):
    key = uuid.uuid4().hex
    answers = [requests.post(served.url + "/api/v1/payments", json={"item_id": "HJ-003"},
                             headers={**DEMO, "Idempotency-Key": key}, timeout=10) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["order_no"] == answers[1].json()["order_no"]
    assert answers[1].headers["Idempotent-Replay"] == "true"


def test_refusals(served):
    def post(body):
        return requests.post(served.url + "/api/v1/payments", json=body,
                             headers={**DEMO, "Idempotency-Key": uuid.uuid4().hex}, timeout=10)

    assert post({"item_id": "SB-001"}).json() == {"error": "this item takes no payment"}
    assert post({"item_id": "NO-SUCH"}).status_code == 422
    assert post({"item_id": "HJ-002", "card_no": "6222020200000000"}).status_code == 422
    assert requests.get(served.url + "/api/v1/payments/ZF0000261123-00000000", headers=DEMO, timeout=10).status_code == 404
    assert requests.get(served.url + "/api/v1/payments/zz", headers=DEMO, timeout=10).status_code == 400
    assert requests.post(served.url + "/api/v1/payments", json={"item_id": "HJ-002"}, timeout=10).status_code == 401


def test_the_provider_endpoint_is_only_mounted_for_tests(served):
    made = order(served)
    sock = bind_socket("127.0.0.1", 0)
    real = ServingThread(build_app(served.db, public_url="http://127.0.0.1"), sock)
    real.start()
    try:
        pay = requests.post(real.url + f"/api/v1/test/payments/{made['order_no']}/events", json={"event": "pay"},
                            headers=DEMO, timeout=10)
        polled = requests.get(real.url + f"/api/v1/payments/{made['order_no']}", headers=DEMO, timeout=10)
    finally:
        real.stop()
    assert pay.status_code == 404
    assert polled.status_code == 200 and polled.json()["status"] == "pending"
