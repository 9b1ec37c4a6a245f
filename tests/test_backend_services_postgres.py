"""Appointments and payments on PostgreSQL (a real server on a loopback port): two kiosks racing for
a slot's last place get one booking and one 409; two payments notified at once are charged once."""
from __future__ import annotations

import threading
import uuid

import pytest
import requests

from backend.server import BackendThread
from security_platform import id_number
from test_backend_postgres import pg_url  # noqa: F401  (the fixture: a PostgreSQL server of our own)

DEMO = {"Authorization": "Bearer demo-token"}


@pytest.fixture(scope="module")
def backend(pg_url):  # noqa: F811
    with BackendThread(db_url=pg_url) as server:
        yield server


def together(calls) -> list:
    """Run the calls at the same moment, each on its own thread; their answers."""
    start = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_last_place_on_postgres(backend):
    visits = requests.get(backend.url + "/api/v1/appointments/slots", headers=DEMO, timeout=10,
                          params={"item_id": "CJ-005", "kind": "home_visit"}).json()["items"]
    for round_no, slot in enumerate(visits[:3]):
        people = [id_number(300 + 10 * round_no + i) for i in range(4)]

        def book(person: str):
            return lambda: requests.post(backend.url + "/api/v1/appointments", timeout=30, json={
                "slot_id": slot["slot_id"], "item_id": "CJ-005", "name": "韦岚", "id_number": person,
                "phone": "13877310427", "address": "资源镇测试新村2号"},
                headers={**DEMO, "X-Subject-Id-Number": person, "Idempotency-Key": uuid.uuid4().hex})

        answers = together([book(p) for p in people])
        assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
        assert all(a.json()["callback_no"].startswith("HF") for a in answers if a.status_code == 409)


def test_two_payments_at_once_on_postgres(backend):
    for _round in range(3):
        made = requests.post(backend.url + "/api/v1/payments", json={"item_id": "HJ-001"}, timeout=10,
                             headers={**DEMO, "Idempotency-Key": uuid.uuid4().hex}).json()
        order_no = made["order_no"]

        def pay(transaction: str):
            return lambda: requests.post(backend.url + f"/api/v1/test/payments/{order_no}/events", timeout=30,
                                         json={"event": "pay", "transaction_id": transaction}, headers=DEMO)

        answers = together([pay("T-a"), pay("T-b"), pay("T-a")])
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        # one transaction pays, the other is refunded, T-a's second notice is a repeat
        assert sorted(a.json()["outcome"] for a in answers) == ["duplicate_refund_due", "paid", "repeat"]
        final = requests.get(backend.url + f"/api/v1/payments/{order_no}", headers=DEMO, timeout=10).json()
        assert final["charged_fen"] == 2000 and final["refund_due_fen"] == 2000
