"""The seeded 办事指南 catalogue and ``GET /api/v1/catalogue`` over real HTTP on loopback."""
from __future__ import annotations

import collections
import copy
import json
import re

import pytest
import requests

from backend.catalogue import CatalogueError, validate_catalogue, validate_item
from backend.db import Database
from backend.seed import load_seed_catalogue
from backend.server import BackendThread

AUTH = {"Authorization": "Bearer demo-token"}
FIELDS = ["id", "name", "department", "level", "category", "conditions", "materials", "steps",
          "time_limit_days", "fees", "fee_basis", "legal_basis", "phone", "supervision_phone",
          "kiosk_submittable", "en"]
MATERIAL_FIELDS = {"name", "kind", "count", "required", "note"}


@pytest.fixture(scope="module")
def seed():
    return load_seed_catalogue()


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    db_url = f"sqlite:///{tmp_path_factory.mktemp('catalogue') / 'backend.sqlite3'}"
    with BackendThread(db_url=db_url) as server:
        yield server


def get(server, path, **headers):
    return requests.get(server.url + path, headers={**AUTH, **headers}, timeout=10)


# -- the seed data ----------------------------------------------------------------------------

def test_seed_has_enough_complete_items_with_unique_ids(seed):
    assert len(seed) >= 64
    ids = [item["id"] for item in seed]
    assert len(set(ids)) == len(ids)
    names = [item["name"] for item in seed]
    assert len(set(names)) == len(names), "two items share a name"
    for item in seed:
        assert list(item) == FIELDS, item["id"]
        assert re.fullmatch(r"[A-Z]{2,4}-\d{3}", item["id"])
        for field in ("name", "department", "category", "conditions", "fees", "fee_basis", "legal_basis"):
            assert isinstance(item[field], str) and item[field].strip(), (item["id"], field)
        assert item["level"] in ("county", "town", "village")
        assert item["materials"], item["id"]
        for material in item["materials"]:
            assert set(material) - {"licence"} == MATERIAL_FIELDS, "licence (电子证照) is the one optional field"
            assert material["kind"] in ("original", "copy")
            assert type(material["count"]) is int and material["count"] >= 1
            assert type(material["required"]) is bool
        assert item["steps"] and all(isinstance(s, str) and s for s in item["steps"])
        assert type(item["time_limit_days"]) is int and item["time_limit_days"] >= 0
        assert re.fullmatch(r"0\d{2,3}-\d{7,8}|\d{5}", item["phone"])
        assert re.fullmatch(r"0\d{2,3}-\d{7,8}|\d{5}", item["supervision_phone"])
        assert type(item["kiosk_submittable"]) is bool


def test_seed_covers_town_and_village_work_across_areas(seed):
    levels = collections.Counter(item["level"] for item in seed)
    assert levels["town"] >= 25 and levels["village"] >= 20 and levels["county"] >= 1
    categories = {item["category"] for item in seed}
    for wanted in ("社会保障", "医疗保障", "社会救助", "残疾人服务", "退役军人", "卫生健康", "农业农村",
                   "自然资源", "就业创业", "户籍证明", "司法服务", "民政婚姻"):
        assert wanted in categories
    submittable = sum(item["kiosk_submittable"] for item in seed) / len(seed)
    assert 0.25 <= submittable <= 0.45
    names = " ".join(item["name"] for item in seed)
    for service in ("城乡居民基本养老保险", "异地就医备案", "社会保障卡", "最低生活保障", "特困人员", "临时救助",
                    "残疾人证", "护理补贴", "高龄津贴", "优待证", "出生医学证明", "生育登记", "宅基地",
                    "耕地地力保护补贴", "农机购置", "法律援助", "户口迁移", "失业登记", "创业担保贷款", "危房改造"):
        assert service in names, service
    assert any(item["time_limit_days"] == 0 for item in seed), "no 即办 item"
    assert any("《" in item["legal_basis"] for item in seed)


def valid_item():
    return copy.deepcopy(load_seed_catalogue()[0])


@pytest.mark.parametrize("breakage, message", [
    (lambda i: i.pop("phone"), "missing fields"),
    (lambda i: i.update(extra=1), "unknown fields"),
    (lambda i: i.update(level="province"), "level"),
    (lambda i: i.update(category="杂项"), "category"),
    (lambda i: i["materials"][0].update(kind="scan"), "kind"),
    (lambda i: i["materials"][0].update(count=True), "count"),
    (lambda i: i["materials"][0].pop("note"), "missing"),
    (lambda i: i.update(steps=[]), "steps"),
    (lambda i: i.update(time_limit_days=-1), "time_limit_days"),
    (lambda i: i.update(time_limit_days="3"), "time_limit_days"),
    (lambda i: i.update(kiosk_submittable="yes"), "kiosk_submittable"),
    (lambda i: i.update(phone="call us"), "phone"),
    (lambda i: i.update(id="sb1"), "id"),
    (lambda i: i.update(legal_basis="  "), "legal_basis"),
])
def test_validator_refuses_incomplete_items(breakage, message):
    item = valid_item()
    breakage(item)
    with pytest.raises(CatalogueError, match=message):
        validate_item(item)


def test_validator_refuses_duplicate_ids():
    item = valid_item()
    with pytest.raises(CatalogueError, match="duplicate id"):
        validate_catalogue([item, copy.deepcopy(item)])


# -- over HTTP --------------------------------------------------------------------------------

def test_catalogue_shape_matches_the_seed(backend, seed):
    response = get(backend, "/api/v1/catalogue")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    document = response.json()
    assert set(document) == {"version", "items", "places", "forms"}
    assert isinstance(document["version"], str) and document["version"]
    assert len(document["items"]) >= 60
    for item in document["items"]:
        assert list(item) == FIELDS
    assert {item["level"] for item in document["items"]} >= {"town", "village"}
    assert document["items"] == seed


def test_etag_is_strong_stable_and_answers_304(backend):
    first = get(backend, "/api/v1/catalogue")
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{64}"', etag), "a strong, quoted ETag"
    second = get(backend, "/api/v1/catalogue")
    assert second.headers["ETag"] == etag and second.content == first.content

    not_modified = get(backend, "/api/v1/catalogue", **{"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["ETag"] == etag
    for header in (f"W/{etag}", f'"something-else", {etag}', "*"):
        assert get(backend, "/api/v1/catalogue", **{"If-None-Match": header}).status_code == 304, header
    stale = get(backend, "/api/v1/catalogue", **{"If-None-Match": '"0000"'})
    assert stale.status_code == 200 and stale.json()["items"]


def test_catalogue_is_compressed_for_slow_links(backend):
    response = requests.get(backend.url + "/api/v1/catalogue", timeout=10,
                            headers={**AUTH, "Accept-Encoding": "gzip"}, stream=True)
    raw = response.raw.read()
    assert response.headers.get("Content-Encoding") == "gzip"
    assert len(raw) < len(get(backend, "/api/v1/catalogue").content) / 3


def test_one_item_by_id_and_unknown_id(backend, seed):
    response = get(backend, f"/api/v1/catalogue/{seed[5]['id']}")
    assert response.status_code == 200 and response.json() == seed[5]
    missing = get(backend, "/api/v1/catalogue/XX-999")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/json")
    assert "XX-999" in missing.json()["error"]


def test_changed_data_gives_a_new_etag(tmp_path, seed):
    db_url = f"sqlite:///{tmp_path / 'backend.sqlite3'}"
    with BackendThread(db_url=db_url) as server:
        before = get(server, "/api/v1/catalogue")
        old_etag = before.headers["ETag"]

        edited = copy.deepcopy(seed[0])
        edited["phone"] = "0771-4899999"
        db = Database(db_url)
        try:
            db.put_catalogue_item(edited)
        finally:
            db.dispose()

        after = get(server, "/api/v1/catalogue", **{"If-None-Match": old_etag})
        assert after.status_code == 200, "old ETag must not match changed content"
        assert after.headers["ETag"] != old_etag
        assert after.json()["version"] != before.json()["version"]
        assert after.json()["items"][0]["phone"] == "0771-4899999"
        assert get(server, f"/api/v1/catalogue/{edited['id']}").json()["phone"] == "0771-4899999"
        assert get(server, "/api/v1/catalogue", **{"If-None-Match": after.headers["ETag"]}).status_code == 304


def test_a_restart_serves_the_same_catalogue_and_etag(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'backend.sqlite3'}"
    with BackendThread(db_url=db_url) as server:
        first = get(server, "/api/v1/catalogue")
    with BackendThread(db_url=db_url) as server:
        again = get(server, "/api/v1/catalogue")
    assert again.headers["ETag"] == first.headers["ETag"]
    assert json.loads(again.content) == json.loads(first.content)
