"""A person's fees awaiting payment, the fee schedule, and the demo's pay page over real HTTP on
loopback: the dues listing is for the card holder only and on the record; a paid order (on time or
late) takes the application off the list; the pay page exists only on the demo platform."""
from __future__ import annotations

import uuid

import pytest
import requests
import sqlalchemy as sa

from backend.db import subject_access
from platform_process import PlatformProcess, strong_token, tokens_file
from security_platform import DEMO, Clock, platform

WEI = "450329198802140427"      # the demo's first person: her 居民身份证补领 awaits its fee
MENG = "450329195503020018"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with platform(tmp_path_factory.mktemp("dues") / "p.sqlite3", clock=Clock(), test_endpoints=True) as server:
        yield server


def dues(served, number, subject=None):
    return requests.get(served.url + "/api/v1/payments/due", params={"id_number": number},
                        headers={**DEMO, "X-Subject-Id-Number": subject or number}, timeout=10)


def order(served, item_id, receipt_no):
    response = requests.post(served.url + "/api/v1/payments", json={"item_id": item_id, "receipt_no": receipt_no},
                             headers={**DEMO, "Idempotency-Key": uuid.uuid4().hex}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def provider(served, order_no, event, **extra):
    response = requests.post(served.url + f"/api/v1/test/payments/{order_no}/events", json={"event": event, **extra},
                             headers=DEMO, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_card_holders_dues_open_orders_and_paid_ones(served):
    answer = dues(served, WEI)
    assert answer.status_code == 200
    (due,) = answer.json()["items"]
    assert due["item_id"] == "HJ-002" and due["amount_fen"] == 4000 and due["amount"] == "40.00"
    assert due["receipt_no"].startswith("ZW") and due["open_order_no"] is None and "40元" in due["label"]
    assert dues(served, MENG).json() == {"items": []}        # no fee on anything she applied for
    made = order(served, "HJ-002", due["receipt_no"])
    assert dues(served, WEI).json()["items"][0]["open_order_no"] == made["order_no"]   # shown again, not doubled
    provider(served, made["order_no"], "fail")
    assert dues(served, WEI).json()["items"][0]["open_order_no"] is None               # failed: a new order
    again = order(served, "HJ-002", due["receipt_no"])
    provider(served, again["order_no"], "pay")
    assert dues(served, WEI).json() == {"items": []}
    with served.db.read() as conn:
        actions = conn.execute(sa.select(subject_access.c.action, subject_access.c.subject_masked)
                               .where(subject_access.c.action == "list_payments_due")).all()
    assert {masked for _, masked in actions} == {"450329********0427", "450329********0018"}   # masked, on the record


def test_dues_are_for_the_card_holder_only(served):
    assert dues(served, WEI, subject=MENG).status_code == 403
    assert requests.get(served.url + "/api/v1/payments/due", params={"id_number": WEI}, headers=DEMO,
                        timeout=10).status_code == 403
    assert dues(served, "123").status_code == 400
    assert requests.get(served.url + "/api/v1/payments/due", params={"id_number": WEI}, timeout=10).status_code == 401


def test_the_fee_schedule(served):
    answer = requests.get(served.url + "/api/v1/payments/fees", headers=DEMO, timeout=10)
    assert answer.status_code == 200
    by_item = {fee["item_id"]: fee for fee in answer.json()["items"]}
    assert by_item["HJ-002"]["amount"] == "40.00" and by_item["HJ-001"]["amount_fen"] == 2000
    assert "SB-001" not in by_item


def test_the_demo_platform_pays_through_its_page_and_a_real_one_has_no_such_page(tmp_path):
    with PlatformProcess(["--db", f"sqlite:///{tmp_path / 'demo.sqlite3'}", "--demo"]) as demo:
        made = requests.post(demo.url + "/api/v1/payments", json={"item_id": "HJ-001"},
                             headers={**DEMO, "Idempotency-Key": uuid.uuid4().hex}, timeout=10).json()
        pay_url = made["qr_content"]
        assert pay_url.startswith(demo.url + "/demo-pay/RP")
        page = requests.get(pay_url, timeout=10)
        assert page.status_code == 200 and "20.00" in page.text and "等待支付" in page.text
        paid = requests.post(pay_url, data={"event": "pay"}, timeout=10)      # follows the redirect to the page
        assert paid.status_code == 200 and "已支付" in paid.text
        twice = requests.post(pay_url, data={"event": "pay_again"}, timeout=10)
        assert "duplicate_refund_due" in twice.text and "待退款：20.00" in twice.text
        state = requests.get(demo.url + f"/api/v1/payments/{made['order_no']}", headers=DEMO, timeout=10).json()
        assert state["status"] == "paid" and state["charged_fen"] == 2000 and state["refund_due_fen"] == 2000
        assert requests.post(pay_url, data={"event": "steal"}, timeout=10).status_code == 422
        assert requests.get(demo.url + "/demo-pay/RPNOSUCH", timeout=10).status_code == 404
        second = requests.post(demo.url + "/api/v1/payments", json={"item_id": "HJ-003"},
                               headers={**DEMO, "Idempotency-Key": uuid.uuid4().hex}, timeout=10).json()
        assert provider(demo, second["order_no"], "expire")["outcome"] == "expired"   # the endpoint, too
    token = strong_token()
    tokens = tokens_file(tmp_path, [("kiosk-a", 7, token)])
    with PlatformProcess(["--db", f"sqlite:///{tmp_path / 'real.sqlite3'}", "--kiosk-tokens-file", str(tokens)]) as real:
        auth = {"Authorization": f"Bearer {token}", "X-Kiosk-Id": "kiosk-a"}
        made = requests.post(real.url + "/api/v1/payments", json={"item_id": "HJ-001"},
                             headers={**auth, "Idempotency-Key": uuid.uuid4().hex}, timeout=10)
        assert made.status_code == 422     # a real platform charges the fees its county sets; none yet here
        assert requests.get(real.url + "/demo-pay/RP0", timeout=10).status_code == 404
        assert requests.post(real.url + "/demo-pay/RP0", data={"event": "pay"}, timeout=10).status_code == 404
        assert requests.post(real.url + "/api/v1/test/payments/ZF0000261123-00000000/events", json={"event": "pay"},
                             headers=auth, timeout=10).status_code == 404


def test_the_demo_pay_page_answers_loopback_clients_only(tmp_path):
    from fastapi.testclient import TestClient

    from backend.server import build_app

    with platform(tmp_path / "p.sqlite3", demo_payments=True) as server:
        made = requests.post(server.url + "/api/v1/payments", json={"item_id": "HJ-001"},
                             headers={**DEMO, "Idempotency-Key": uuid.uuid4().hex}, timeout=10).json()
        path = made["qr_content"][len(server.url):]
        assert requests.get(server.url + path, timeout=10).status_code == 200          # from this machine
        for client_host in ("192.168.1.20", "testclient"):
            remote = TestClient(build_app(server.db, public_url=server.url, demo_payments=True),
                                client=(client_host, 50000))
            assert remote.get(path).status_code == 403
            assert remote.post(path, data={"event": "pay"}).status_code == 403
        assert requests.get(server.url + f"/api/v1/payments/{made['order_no']}", headers=DEMO,
                            timeout=10).json()["status"] == "pending"
