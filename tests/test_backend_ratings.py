"""好差评 ratings and 上门办/帮代办 service requests over real HTTP on loopback: validated, stored once per
Idempotency-Key, answered with the same bytes on a repeat."""
from __future__ import annotations

import json
import re
import sqlite3
import uuid

import pytest
import requests

from backend.server import BackendThread
from kiosk.qr_content import RECEIPT_NO_RE

AUTH = {"Authorization": "Bearer demo-token"}


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return tmp_path_factory.mktemp("ratings") / "backend.sqlite3"


@pytest.fixture(scope="module")
def backend(db_path):
    with BackendThread(db_url=f"sqlite:///{db_path}") as server:
        yield server


def post(server, path, body, key=None):
    return requests.post(server.url + path, json=body, timeout=10,
                         headers={**AUTH, "Idempotency-Key": key or str(uuid.uuid4())})


def count(db_path, table):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


# -- ratings -----------------------------------------------------------------------------------------

RATING = {"subject": "SB-001", "score": 5, "tags": ["办事快", "态度好"], "comment": "自助机很方便，一次就办好了。",
          "receipt_no": "ZW20261123-000042"}


def test_a_rating_is_stored_once_per_key(backend, db_path):
    key = str(uuid.uuid4())
    before = count(db_path, "ratings")
    first = post(backend, "/api/v1/ratings", RATING, key)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert set(answer) == {"rating_id", "subject", "score", "score_label", "follow_up", "received_at"}
    assert answer["subject"] == "SB-001" and answer["score"] == 5
    assert answer["score_label"] == "非常满意" and answer["follow_up"] is False
    assert answer["received_at"].endswith("+08:00")
    again = post(backend, "/api/v1/ratings", dict(reversed(RATING.items())), key)
    assert again.status_code == 201 and again.content == first.content
    assert again.headers["Idempotent-Replay"] == "true"
    assert count(db_path, "ratings") == before + 1
    assert post(backend, "/api/v1/ratings", {**RATING, "score": 4}, key).status_code == 422
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute("SELECT subject, score, tags, comment, receipt_no, kiosk_id FROM ratings WHERE id=?",
                              (answer["rating_id"],)).fetchone()
    assert stored[:2] == ("SB-001", 5) and json.loads(stored[2]) == ["办事快", "态度好"]
    assert stored[3:] == ("自助机很方便，一次就办好了。", "ZW20261123-000042", "demo-kiosk-001")


@pytest.mark.parametrize("score, label, follow_up", [(1, "非常不满意", True), (2, "不满意", True),
                                                     (3, "基本满意", False), (4, "满意", False)])
def test_every_score_has_its_label_and_bad_ones_are_followed_up(backend, score, label, follow_up):
    answer = post(backend, "/api/v1/ratings", {"subject": "service", "score": score}).json()
    assert (answer["score_label"], answer["follow_up"]) == (label, follow_up)


def test_a_comment_of_exactly_300_characters_is_accepted(backend):
    assert post(backend, "/api/v1/ratings", {**RATING, "comment": "好" * 300}).status_code == 201
    assert post(backend, "/api/v1/ratings", {**RATING, "comment": "第一行\n第二行"}).status_code == 201


RATING_REFUSALS = [
    ("score 0", {**RATING, "score": 0}, "score"),
    ("score 6", {**RATING, "score": 6}, "score"),
    ("score as text", {**RATING, "score": "5"}, "score"),
    ("score true", {**RATING, "score": True}, "score"),
    ("score 4.5", {**RATING, "score": 4.5}, "score"),
    ("no score", {"subject": "service"}, "score"),
    ("unknown subject", {**RATING, "subject": "XX-999"}, "subject"),
    ("no subject", {"score": 5}, "subject"),
    ("comment 301", {**RATING, "comment": "差" * 301}, "at most 300"),
    ("comment not text", {**RATING, "comment": 5}, "comment"),
    ("too many tags", {**RATING, "tags": [f"标签{i}" for i in range(9)]}, "tags"),
    ("long tag", {**RATING, "tags": ["很" * 21]}, "tag"),
    ("tag not text", {**RATING, "tags": [1]}, "tag"),
    ("tags not a list", {**RATING, "tags": "办事快"}, "tags"),
    ("bad receipt", {**RATING, "receipt_no": "not a receipt"}, "receipt_no"),
    ("unknown field", {**RATING, "stars": 5}, "unknown field 'stars'"),
    ("not an object", [5], "JSON object"),
]


@pytest.mark.parametrize("case, body, words", RATING_REFUSALS, ids=[r[0] for r in RATING_REFUSALS])
def test_bad_ratings_are_refused_and_not_stored(backend, db_path, case, body, words):
    before = count(db_path, "ratings")
    response = post(backend, "/api/v1/ratings", body)
    assert response.status_code == 422, response.text
    assert words in response.json()["error"]
    assert count(db_path, "ratings") == before


def test_ratings_need_a_key_a_token_and_json(backend):
    url = backend.url + "/api/v1/ratings"
    assert requests.post(url, json=RATING, headers=AUTH, timeout=10).status_code == 400
    assert requests.post(url, json=RATING, headers={"Idempotency-Key": "k"}, timeout=10).status_code == 401
    form = requests.post(url, files=[("payload", (None, b"{}", "application/json"))], timeout=10,
                         headers={**AUTH, "Idempotency-Key": str(uuid.uuid4())})
    assert form.status_code == 415


# -- service requests ------------------------------------------------------------------------------

VISIT = {"kind": "home_visit", "item_id": "CJ-005", "name": "蒙桂英", "phone": "13807730018",
         "address": "广西壮族自治区桂林市资源县车田苗族乡示例村民委员会三组", "preferred_time": "工作日上午",
         "note": "行动不便，请上门采集材料"}


def test_a_service_request_gets_a_number_and_is_stored_once(backend, db_path):
    key = str(uuid.uuid4())
    before = count(db_path, "service_requests")
    first = post(backend, "/api/v1/service-requests", VISIT, key)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert set(answer) == {"request_no", "kind", "kind_label", "status", "received_at"}
    assert RECEIPT_NO_RE.fullmatch(answer["request_no"])
    assert re.fullmatch(r"FW0000\d{6}-\d{8}", answer["request_no"]), "the platform's own number space"
    assert answer["request_no"][6:12] == answer["received_at"][2:10].replace("-", "")
    assert (answer["kind"], answer["kind_label"], answer["status"]) == ("home_visit", "上门办", "已登记")
    again = post(backend, "/api/v1/service-requests", VISIT, key)
    assert again.content == first.content and again.headers["Idempotent-Replay"] == "true"
    assert count(db_path, "service_requests") == before + 1

    proxy = post(backend, "/api/v1/service-requests", {"kind": "proxy", "name": "黄建国", "phone": "0773-4312345"})
    assert proxy.status_code == 201 and proxy.json()["kind_label"] == "帮代办"
    assert proxy.json()["request_no"] != answer["request_no"]
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute("SELECT kind, item_id, name, phone, address, preferred_time, note, kiosk_id "
                              "FROM service_requests WHERE request_no=?", (answer["request_no"],)).fetchone()
    assert stored == ("home_visit", "CJ-005", VISIT["name"], VISIT["phone"], VISIT["address"],
                      VISIT["preferred_time"], VISIT["note"], "demo-kiosk-001")


REQUEST_REFUSALS = [
    ("unknown kind", {**VISIT, "kind": "delivery"}, "kind"),
    ("no kind", {k: v for k, v in VISIT.items() if k != "kind"}, "kind"),
    ("visit without address", {**VISIT, "address": ""}, "address"),
    ("unknown item", {**VISIT, "item_id": "XX-001"}, "item_id"),
    ("no name", {**VISIT, "name": ""}, "name"),
    ("digits in name", {**VISIT, "name": "蒙桂英2"}, "name"),
    ("bad phone", {**VISIT, "phone": "110"}, "phone"),
    ("long note", {**VISIT, "note": "说" * 301}, "note"),
    ("long time", {**VISIT, "preferred_time": "上" * 51}, "preferred_time"),
    ("control characters", {**VISIT, "note": "a\x00b"}, "control characters"),
    ("unknown field", {**VISIT, "id_number": "450329195503020018"}, "unknown field 'id_number'"),
]


@pytest.mark.parametrize("case, body, words", REQUEST_REFUSALS, ids=[r[0] for r in REQUEST_REFUSALS])
def test_bad_service_requests_are_refused_and_not_stored(backend, db_path, case, body, words):
    before = count(db_path, "service_requests")
    response = post(backend, "/api/v1/service-requests", body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert words in error
    assert VISIT["phone"] not in error and "蒙桂英" not in error
    assert count(db_path, "service_requests") == before
