"""Courier shipments on PostgreSQL (a real server on a loopback port): a submission by courier gets its
waybills, and the courier's same push arriving twice at once records the step once."""
from __future__ import annotations

import uuid

import pytest
import requests

from backend.server import BackendThread
from test_backend_postgres import pg_url  # noqa: F401  (the fixture: a PostgreSQL server of our own)
from test_backend_services_postgres import together

DEMO = {"Authorization": "Bearer demo-token"}


@pytest.fixture(scope="module")
def backend(pg_url):  # noqa: F811
    with BackendThread(db_url=pg_url) as server:
        yield server


def test_courier_delivery_on_postgres(backend):
    towns = requests.get(backend.url + "/api/v1/divisions", params={"parent": "450329000000"}, headers=DEMO,
                         timeout=10).json()["items"]
    assert towns[0]["name"] == "资源镇"
    response = requests.post(backend.url + "/api/v1/submissions", timeout=30, headers={
        **DEMO, "Idempotency-Key": uuid.uuid4().hex}, json={
        "item_id": "JY-002", "materials": [],
        "applicant": {"name": "韦岚", "id_number": "450329198802140427", "phone": "13877310427"},
        "delivery": {"method": "courier", "address": {"division": "450329101202", "house": "12号"},
                     "phone": "13877310427"}})
    assert response.status_code == 201, response.text
    receipt_no = response.json()["receipt_no"]
    shipment = requests.get(backend.url + f"/api/v1/applications/{receipt_no}", headers=DEMO,
                            timeout=10).json()["shipments"][0]
    tracking_no = shipment["tracking_no"]
    answers = together([lambda: requests.post(backend.url + f"/api/v1/test/shipments/{tracking_no}/advance",
                                              headers=DEMO, timeout=30) for _ in range(2)])
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    steps = requests.get(backend.url + f"/api/v1/shipments/{tracking_no}", headers=DEMO, timeout=10).json()["steps"]
    assert [s["step"] for s in steps].count("collected") == 1
