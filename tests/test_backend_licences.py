"""Electronic licences (电子证照) on a real platform on loopback: listed only for the kiosk acting for the
holder (on the record, masked; someone else refused), referred to in a submission instead of pages
(accepted for the applicant's own valid licence of the right type; refused with one line for someone
else's, an expired one or the wrong type), and a submission left unfinished linked to the phone."""
from __future__ import annotations

import sqlite3
import uuid

import pytest
import requests

from backend.seed import load_seed_catalogue
from security_platform import DEMO, Clock, platform

MENG = "450329195503020018"   # holds a household register and a disability certificate
WEI = "450329198802140427"    # holds a marriage certificate
CHEN = "810000198503160522"   # holds an expired business licence
ITEM = "CJ-004"               # 困难残疾人生活补贴申请: 第二代残疾人证 and 居民户口簿 can come from licences


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    path = tmp_path_factory.mktemp("licences") / "p.sqlite3"
    with platform(path, clock=Clock()) as server:
        server.path = path
        yield server


def licences(served, number, subject=None, headers=DEMO):
    return requests.get(served.url + "/api/v1/licences", params={"id_number": number}, timeout=10,
                        headers={**headers, "X-Subject-Id-Number": subject or number})


def submit(served, applicant, materials, item=ITEM):
    payload = {"item_id": item, "materials": materials, "delivery": {"method": "pickup"},
               "applicant": {"name": "蒙桂英", "id_number": applicant, "phone": "13877310018"}}
    return requests.post(served.url + "/api/v1/submissions", json=payload, timeout=10,
                         headers={**DEMO, "Idempotency-Key": str(uuid.uuid4())})


def by_type(served, number):
    return {entry["type"]: entry for entry in licences(served, number).json()["items"]}


def test_the_catalogue_marks_materials_a_licence_can_stand_for():
    item = next(i for i in load_seed_catalogue() if i["id"] == ITEM)
    marked = {m["name"]: m.get("licence") for m in item["materials"]}
    assert marked["第二代残疾人证"] == "disability_certificate" and marked["居民户口簿"] == "household_register"
    assert marked["居民身份证"] is None


def test_the_catalogue_api_carries_the_licence_type(served):
    item = requests.get(served.url + "/api/v1/catalogue", headers=DEMO, timeout=10).json()["items"]
    materials = {m["name"]: m.get("licence") for i in item if i["id"] == ITEM for m in i["materials"]}
    assert materials["居民户口簿"] == "household_register"


def test_a_holder_sees_their_licences_on_the_record(served):
    answer = licences(served, MENG)
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert sorted(i["type"] for i in items) == ["disability_certificate", "household_register"]
    assert all(set(i) == {"id", "type", "title", "issuer", "issued_on", "valid_until", "expired"} for i in items)
    assert "licence_no" not in answer.text and "0518-0031" not in answer.text, "a licence's number stays home"
    with sqlite3.connect(served.path) as conn:
        rows = conn.execute("SELECT kiosk_id, action, subject_masked FROM subject_access "
                            "WHERE action = 'list_licences'").fetchall()
        everything = repr(conn.execute("SELECT * FROM subject_access").fetchall())
    assert ("demo-kiosk-001", "list_licences", "450329********0018") in rows
    assert MENG not in everything


@pytest.mark.parametrize("subject", [WEI, None])
def test_someone_elses_licences_are_refused(served, subject):
    headers = dict(DEMO)
    if subject is not None:
        headers["X-Subject-Id-Number"] = subject
    answer = requests.get(served.url + "/api/v1/licences", params={"id_number": MENG}, headers=headers, timeout=10)
    assert answer.status_code == 403 and "someone else" in answer.json()["error"]
    assert requests.get(served.url + "/api/v1/licences", params={"id_number": MENG}, timeout=10).status_code == 401


def test_licences_count_toward_the_kiosks_hourly_limit(tmp_path):
    from backend.access import AccessPolicy

    with platform(tmp_path / "p.sqlite3", access_policy=AccessPolicy(subjects_per_hour=1)) as server:
        assert licences(server, MENG).status_code == 200
        stopped = licences(server, WEI)
        assert stopped.status_code == 429 and "operator" in stopped.json()["error"]


def test_a_submission_may_give_licences_instead_of_pages(served):
    held = by_type(served, MENG)
    answer = submit(served, MENG, [
        {"name": "第二代残疾人证", "licence": held["disability_certificate"]["id"]},
        {"name": "居民户口簿", "licence": held["household_register"]["id"]}])
    assert answer.status_code == 201, answer.text
    materials = answer.json()["materials"]
    assert materials == [{"name": "第二代残疾人证", "pages": 0, "licence": held["disability_certificate"]["id"]},
                         {"name": "居民户口簿", "pages": 0, "licence": held["household_register"]["id"]}]
    lookup = requests.get(served.url + "/api/v1/applications/" + answer.json()["receipt_no"], headers=DEMO,
                          timeout=10).json()
    assert [m.get("licence") for m in lookup["materials"]] == [m["licence"] for m in materials]


def test_someone_elses_licence_is_refused(served):
    hers = by_type(served, MENG)["household_register"]["id"]
    answer = submit(served, WEI, [{"name": "居民户口簿", "licence": hers}])
    assert answer.status_code == 422
    assert answer.json()["error"] == "materials[0]: the electronic licence belongs to someone else, not the applicant"
    assert MENG not in answer.text


def test_an_expired_or_unfitting_licence_is_refused(served):
    expired = by_type(served, CHEN)["business_licence"]
    assert expired["expired"] is True
    answer = submit(served, CHEN, [{"name": "营业执照或经营场所证明", "licence": expired["id"]}], item="JY-004")
    assert answer.status_code == 422 and "expired on" in answer.json()["error"]
    hers = by_type(served, MENG)
    wrong = submit(served, MENG, [{"name": "第二代残疾人证", "licence": hers["household_register"]["id"]}])
    assert wrong.status_code == 422 and "needs a disability_certificate licence" in wrong.json()["error"]
    not_marked = submit(served, MENG, [{"name": "居民身份证", "licence": hers["household_register"]["id"]}])
    assert not_marked.status_code == 422 and "cannot be given as an electronic licence" in not_marked.json()["error"]
    unknown = submit(served, MENG, [{"name": "居民户口簿", "licence": "DZ000000000000"}])
    assert unknown.status_code == 422 and "no electronic licence has this id" in unknown.json()["error"]
    both = submit(served, MENG, [{"name": "居民户口簿", "licence": hers["household_register"]["id"], "pages": ["a"]}])
    assert both.status_code == 422 and "either as pages or as an electronic licence" in both.json()["error"]


def test_an_unfinished_submission_links_to_what_is_missing(served):
    made = requests.post(served.url + "/api/v1/mobile-links", headers=DEMO, timeout=10, json={
        "kind": "unfinished", "item_id": ITEM, "missing": ["困难残疾人生活补贴申请表"],
        "from_licences": ["第二代残疾人证", "居民户口簿"]})
    assert made.status_code == 201, made.text
    link = made.json()
    assert link["kind"] == "unfinished" and link["url"].startswith(served.url + "/m/")
    assert MENG not in link["url"]
    page = requests.get(link["url"], timeout=10)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    missing_part = page.text.split("还需要补交的材料")[1].split("</ol>")[0]
    assert "困难残疾人生活补贴申请表" in missing_part and "居民户口簿" not in missing_part
    assert "已有电子证照，无需提交" in page.text and "需要带的材料" in page.text
    for body, status in (({"kind": "unfinished", "item_id": "XX-999", "missing": ["a"]}, 404),
                         ({"kind": "unfinished", "item_id": ITEM, "missing": ["不是材料"]}, 422),
                         ({"kind": "unfinished", "item_id": ITEM, "missing": []}, 422),
                         ({"kind": "unfinished", "item_id": ITEM, "missing": ["居民户口簿"],
                           "from_licences": ["居民户口簿"]}, 422),
                         ({"kind": "unfinished", "item_id": ITEM, "missing": ["居民户口簿"], "name": "x"}, 422)):
        refused = requests.post(served.url + "/api/v1/mobile-links", headers=DEMO, json=body, timeout=10)
        assert refused.status_code == status, (body, refused.text)


def test_a_receipts_phone_link_is_drawn_by_the_kiosk_and_opens_progress(served):
    import secrets

    token = secrets.token_urlsafe(24)
    payload = {"item_id": "JY-002", "materials": [], "delivery": {"method": "pickup"}, "mobile_token": token,
               "applicant": {"name": "韦岚", "id_number": WEI, "phone": "13877310427"}}
    made = requests.post(served.url + "/api/v1/submissions", json=payload, timeout=10,
                         headers={**DEMO, "Idempotency-Key": str(uuid.uuid4())})
    assert made.status_code == 201, made.text
    receipt_no = made.json()["receipt_no"]
    page = requests.get(served.url + "/m/" + token, timeout=10)
    assert page.status_code == 200 and receipt_no in page.text and "韦*" in page.text and WEI not in page.text
    seen = requests.get(served.url + "/api/v1/mobile-links/" + token, headers=DEMO, timeout=10)
    assert seen.status_code == 200 and seen.json()["kind"] == "application" and seen.json()["target"] == receipt_no
    assert requests.get(served.url + "/api/v1/mobile-links/" + token, timeout=10).status_code == 401
    unknown = requests.get(served.url + "/api/v1/mobile-links/" + secrets.token_urlsafe(24), headers=DEMO, timeout=10)
    assert unknown.status_code == 404
    for bad in (token, "short", "x" * 40 + "/"):
        again = requests.post(served.url + "/api/v1/submissions", json={**payload, "mobile_token": bad}, timeout=10,
                              headers={**DEMO, "Idempotency-Key": str(uuid.uuid4())})
        assert again.status_code == 422 and "mobile_token" in again.json()["error"], bad
