"""The outbox against the reference backend's idempotent ``POST /api/v1/echo``: the two ends agree."""
from __future__ import annotations

import hashlib

import requests

from offline_queue import Backoff, Outbox, Sender

NAME = "张三丰"


class LosesFirstAnswer(requests.Session):
    """The first answer is lost after the platform processed the request (a link dropping mid-reply)."""

    lost = False

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        if not self.lost:
            self.lost = True
            response.close()
            raise requests.ConnectionError("connection dropped before the answer arrived")
        return response


def test_items_arrive_once_and_whole_at_the_reference_backend(tmp_path):
    from backend.server import BackendThread

    backend = BackendThread(port=0, db_url=f"sqlite:///{tmp_path / 'platform.db'}").start()
    try:
        scan = (tmp_path / f"{NAME}-身份证.jpg")
        scan.write_bytes(bytes(range(256)) * 300)
        with Outbox(tmp_path / "outbox", key_file=tmp_path / "outbox.key") as box:
            ids = [box.put("POST", "/api/v1/echo", json={"n": 1, "name": NAME}),
                   box.put("POST", "/api/v1/echo", json={"n": 2}, files=[scan, ("说明.txt", "你好".encode())])]
            leased = box.lease(limit=2)
            keys = {item.id: item.idempotency_key for item in leased}
            box.release(leased)
            sender = Sender(box, backend.url, "demo-token", session=LosesFirstAnswer(),
                            backoff=Backoff(base_s=0.05, cap_s=0.1))
            assert sender.run_until_empty(timeout=20)
            assert sender.stats["network_errors"] == 1
            assert box.status()["done"] == 2
        listing = requests.get(backend.url + "/api/v1/echo", headers={"Authorization": "Bearer demo-token"},
                               timeout=10)
        listing.raise_for_status()
        stored = listing.json()["items"]
    finally:
        backend.stop()
    assert sorted(item["idempotency_key"] for item in stored) == sorted(keys[i] for i in ids)  # once each
    by_n = {item["received"]["n"]: item for item in stored}
    assert by_n[1]["received"] == {"n": 1, "name": NAME} and by_n[1]["files"] == []
    assert by_n[2]["files"] == [
        {"name": scan.name, "size": scan.stat().st_size, "sha256": hashlib.sha256(scan.read_bytes()).hexdigest()},
        {"name": "说明.txt", "size": 6, "sha256": hashlib.sha256("你好".encode()).hexdigest()},
    ]


def test_a_refused_token_makes_items_dead_not_lost(tmp_path):
    from backend.server import BackendThread

    with BackendThread(port=0, db_url=f"sqlite:///{tmp_path / 'platform.db'}") as backend:
        with Outbox(tmp_path / "outbox", key_file=tmp_path / "outbox.key") as box:
            box.put("POST", "/api/v1/echo", json={"n": 1})
            Sender(box, backend.url, "no-such-token").run_until_empty(timeout=10)
            [info] = box.list()
    assert info.state.value == "dead" and info.last_status == 403


def test_a_receipt_number_taken_by_another_submission_goes_dead_not_round_and_round(tmp_path):
    """The platform answers 409 receipt_no_taken: permanent; the item is kept dead with that reason."""
    from datetime import datetime, timezone

    from backend import seed
    from backend.db import Database
    from backend.server import ServingThread, bind_socket, build_app, url_for

    now = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # the receipt number's date, in China
    db = Database(f"sqlite:///{tmp_path / 'platform.sqlite3'}", clock=lambda: now)
    db.initialise()
    seed.seed_demo(db)
    sock = bind_socket("127.0.0.1", 0)
    serving = ServingThread(build_app(db, public_url=url_for(sock)), sock)
    serving.start()
    body = {"item_id": "JY-002", "receipt_no": "ZW0001261123-55555555", "materials": [],
            "applicant": {"name": NAME, "id_number": "11010519491231002X", "phone": "13800138000"},
            "delivery": {"method": "pickup"}}
    try:
        with Outbox(tmp_path / "outbox", key_file=tmp_path / "outbox.key") as box:
            first = box.put("POST", "/api/v1/submissions", json=body)
            clash = box.put("POST", "/api/v1/submissions", json=dict(body, applicant=dict(body["applicant"])))
            sender = Sender(box, serving.url, "demo-token")
            assert sender.run_until_empty(timeout=20)
            info = {i.id: i for i in box.list()}
            assert sender.run_until_empty(timeout=1) and sender.stats == dict(sender.stats, sent=1, dead=1)
    finally:
        serving.stop()
    assert info[first].state.value == "done" and info[first].last_status == 201
    assert info[clash].state.value == "dead" and info[clash].last_status == 409 and info[clash].attempts == 1
    assert info[clash].last_error == "HTTP 409 Conflict: receipt_no_taken"
