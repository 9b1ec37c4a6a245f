"""Service places (就近办), the forms a kiosk prints and items' English text: validated at load,
served in the catalogue answer and by ``GET /api/v1/places`` over real HTTP on loopback."""
from __future__ import annotations

import copy

import pytest
import requests

from backend.catalogue import (KIOSK_FORM_NOTE, CatalogueError, place_handles, validate_forms, validate_item,
                               validate_places)
from backend.seed import load_seed_catalogue, load_seed_places_and_forms
from backend.server import BackendThread

AUTH = {"Authorization": "Bearer demo-token"}


@pytest.fixture(scope="module")
def seed():
    items = load_seed_catalogue()
    places, forms = load_seed_places_and_forms()
    return items, places, forms


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    db_url = f"sqlite:///{tmp_path_factory.mktemp('places') / 'backend.sqlite3'}"
    with BackendThread(db_url=db_url) as server:
        yield server


def get(server, path):
    return requests.get(server.url + path, headers=AUTH, timeout=10)


def test_every_item_has_a_place_and_every_place_has_address_and_hours(seed):
    items, places, _ = seed
    kinds = {p["kind"] for p in places}
    assert kinds == {"county", "town", "village", "self_service"}
    assert any("24" in p["hours"] for p in places if p["kind"] == "self_service")
    for place in places:
        assert place["address"] and place["address_en"] and place["hours"] and place["hours_en"]
    for item in items:
        assert any(place_handles(p, item) for p in places), item["id"]
        # a village item can be done at a village station; a kiosk item at a 24-hour zone
        if item["level"] == "village":
            assert any(place_handles(p, item) for p in places if p["kind"] == "village"), item["id"]
        if item["kiosk_submittable"]:
            assert any(place_handles(p, item) for p in places if p["kind"] == "self_service"), item["id"]


def test_every_material_filled_in_at_the_kiosk_has_its_form(seed):
    items, _, forms = seed
    names = {f["material"] for f in forms}
    claimed = {m["name"] for item in items for m in item["materials"] if KIOSK_FORM_NOTE in m["note"]}
    assert claimed and claimed <= names
    broken = copy.deepcopy(items)
    broken[0]["materials"].append({"name": "不存在的表", "kind": "original", "count": 1, "required": True,
                                   "note": "可在自助终端填写后打印签字"})
    with pytest.raises(CatalogueError, match="不存在的表"):
        validate_forms(forms, broken)


@pytest.mark.parametrize("breakage, message", [
    (lambda p: p.pop("hours"), "missing fields"),
    (lambda p: p.update(kind="city"), "kind must be one of"),
    (lambda p: p.update(levels=["province"]), "levels"),
    (lambda p: p.update(levels=[], kiosk_items=False), "handles no item"),
    (lambda p: p.update(phone="call us"), "phone"),
    (lambda p: p.update(code="Bad Code"), "code"),
])
def test_place_validator_refuses_broken_places(seed, breakage, message):
    place = copy.deepcopy(seed[1][0])
    breakage(place)
    with pytest.raises(CatalogueError, match=message):
        validate_places([place])


def test_english_text_must_match_the_item(seed):
    item = next(i for i in seed[0] if i["en"])
    for breakage, message in ((lambda en: en["materials"].pop(), "materials"),
                              (lambda en: en.pop("steps"), "missing fields"),
                              (lambda en: en.update(name=""), "name")):
        broken = copy.deepcopy(item)
        breakage(broken["en"])
        with pytest.raises(CatalogueError, match=message):
            validate_item(broken)
    without = copy.deepcopy(item)
    del without["en"]
    assert validate_item(without)["en"] is None


def test_catalogue_answer_carries_places_forms_and_english(backend, seed):
    items, places, forms = seed
    document = get(backend, "/api/v1/catalogue").json()
    assert document["places"] == places and document["forms"] == forms
    english = {i["id"]: i["en"] for i in document["items"] if i["en"]}
    assert {"SB-001", "SJ-001", "YL-001", "YB-005"} <= set(english)
    assert english["SB-001"]["name"].startswith("Registration")


def test_places_route_lists_the_items_each_place_handles(backend, seed):
    items, places, _ = seed
    response = get(backend, "/api/v1/places")
    assert response.status_code == 200
    served = {p["code"]: p for p in response.json()["places"]}
    assert set(served) == {p["code"] for p in places}
    county = served["county-centre"]
    assert len(county["items"]) == len(items)
    zone = served["demo-town-24h"]
    assert set(zone["items"]) == {i["id"] for i in items if i["kiosk_submittable"]}
    village = served["demo-xincun"]
    assert set(village["items"]) == {i["id"] for i in items if i["level"] == "village"}
    assert requests.get(backend.url + "/api/v1/places", timeout=10).status_code == 401


def test_every_demo_persons_item_has_english(seed):
    from backend.seed import load_demo_people

    items = {i["id"]: i for i in seed[0]}
    used = {a["item_id"] for p in load_demo_people() for a in p.get("applications", [])}
    assert used, "the demo people have applications"
    assert [i for i in sorted(used) if items[i]["en"] is None] == []
