"""Continuing on the phone: the kiosk mints a link (kiosk token), the platform serves the page; a
real browser (Debian's chromium, headless, phone-sized) shows the progress, the notice and the
booking, cancels the booking with its form, and gets a plain page without data for an expired or
unknown link."""
from __future__ import annotations

import itertools
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from backend.db import mobile_links
from security_platform import DEMO, Clock, platform

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MENG = "450329195503020018"
WEI = "450329198802140427"
SLOTS = itertools.count()  # each booking here takes the next slot


@pytest.fixture(scope="module")
def clock():
    return Clock()


@pytest.fixture(scope="module")
def served(tmp_path_factory, clock):
    with platform(tmp_path_factory.mktemp("mobile") / "p.sqlite3", clock=clock) as server:
        yield server


def link(served, kind, target, headers=DEMO):
    return requests.post(served.url + "/api/v1/mobile-links", json={"kind": kind, "target": target},
                         headers=headers, timeout=10)


def url_for(served, kind, target):
    response = link(served, kind, target)
    assert response.status_code == 201, response.text
    return response.json()["url"]


def wei_receipt(served):
    response = requests.get(served.url + "/api/v1/applications", params={"id_number": WEI},
                            headers={**DEMO, "X-Subject-Id-Number": WEI}, timeout=10)
    assert response.status_code == 200
    return response.json()["items"][0]["receipt_no"]


def booking_no(served):
    slot = requests.get(served.url + "/api/v1/appointments/slots", params={"item_id": "YL-003", "kind": "window"},
                        headers=DEMO, timeout=10).json()["items"][next(SLOTS)]
    response = requests.post(served.url + "/api/v1/appointments", json={
        "slot_id": slot["slot_id"], "item_id": "YL-003", "name": "蒙桂英", "id_number": MENG, "phone": "13807730018"},
        headers={**DEMO, "X-Subject-Id-Number": MENG, "Idempotency-Key": uuid.uuid4().hex}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["booking_no"]


# -- the API -----------------------------------------------------------------------------------------

def test_minting_needs_a_kiosk_and_something_to_link_to(served):
    receipt = wei_receipt(served)
    made = link(served, "application", receipt)
    assert made.status_code == 201
    answer = made.json()
    assert answer["url"].startswith(served.url + "/m/") and answer["target"] == receipt
    assert answer["expires_at"] == "2026-11-30T10:00:00+08:00"  # 7 days
    token = answer["url"].rsplit("/", 1)[1]
    assert len(token) >= 32 and WEI not in answer["url"] and receipt not in answer["url"]
    with served.db.read() as conn:
        stored = conn.execute(sa.select(mobile_links.c.token_sha256)).scalars().all()
    assert token not in stored and len(stored) == 1  # only its hash is kept
    assert link(served, "application", receipt, headers={}).status_code == 401
    assert link(served, "application", "ZW0001261123-12345678").status_code == 404
    assert link(served, "booking", "YY0000261123-12345678").status_code == 404
    assert link(served, "notice", "NO-SUCH").status_code == 404
    assert link(served, "person", "x").status_code == 422


def test_a_page_without_a_browser(served):
    page = requests.get(url_for(served, "application", wei_receipt(served)), timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert WEI not in page.text and "韦岚" not in page.text and "韦*" in page.text
    assert "<script" not in page.text


def test_an_expired_or_unknown_link_shows_nothing(served, clock):
    url = url_for(served, "application", wei_receipt(served))
    saved = clock.moment
    clock.moment = saved + timedelta(days=7)
    try:
        expired = requests.get(url, timeout=10)
    finally:
        clock.moment = saved
    assert expired.status_code == 404 and "已过期" in expired.text and "韦" not in expired.text
    assert requests.get(url, timeout=10).status_code == 200
    for token in ("A" * 32, "short", "%2e%2e"):
        assert requests.get(served.url + "/m/" + token, timeout=10).status_code == 404


def test_cancel_needs_the_form_token_and_the_same_site(served):
    url = url_for(served, "booking", booking_no(served))
    form_token = requests.get(url, timeout=10).text.split('name="form_token" value="')[1].split('"')[0]
    wrong = requests.post(url + "/cancel", data={"form_token": "x" * 32}, allow_redirects=False, timeout=10)
    assert wrong.status_code == 403
    other = requests.post(url + "/cancel", data={"form_token": form_token}, allow_redirects=False, timeout=10,
                          headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert other.status_code == 403
    origin = requests.post(url + "/cancel", data={"form_token": form_token}, allow_redirects=False, timeout=10,
                           headers={"Origin": "http://evil.example"})
    assert origin.status_code == 403
    crowded = requests.post(url + "/cancel", data="&".join(f"f{i}=1" for i in range(20)), allow_redirects=False,
                            headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert crowded.status_code == 403
    not_form = requests.post(url + "/cancel", json={"form_token": form_token}, allow_redirects=False, timeout=10)
    assert not_form.status_code == 415
    assert "已预约" in requests.get(url, timeout=10).text
    notice_url = url_for(served, "notice", "YL-003")
    assert requests.post(notice_url + "/cancel", data={"form_token": form_token}, allow_redirects=False,
                         timeout=10).status_code == 404


# -- in a real browser, phone-sized ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def phone(tmp_path_factory):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make setup installs it)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with playwright_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, locale="zh-CN",
            viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True, java_script_enabled=False)
        context.set_default_timeout(20_000)
        page = context.new_page()
        yield page
        context.close()


def fits_the_screen(page) -> bool:
    """Nothing wider than the phone: no sideways scrolling (measured by the browser's layout)."""
    box = page.locator("body").bounding_box()
    return box is not None and box["width"] <= 360


def test_progress_on_a_phone(served, phone):
    phone.goto(url_for(served, "application", wei_receipt(served)))
    assert phone.title() == "办件进度"
    text = phone.locator("body").inner_text()
    assert "办理进度" in text and "受理编号" in text and "韦*" in text
    assert WEI not in text and "韦岚" not in text
    assert fits_the_screen(phone)


def test_notice_on_a_phone(served, phone):
    phone.goto(url_for(served, "notice", "YL-003"))
    assert phone.locator("h1").inner_text() == "一次性告知：老年人优待证办理"
    assert phone.locator("ol li").count() >= 2
    assert "居民身份证" in phone.locator("ol").inner_text()
    assert fits_the_screen(phone)


def test_booking_on_a_phone_and_cancel_it(served, phone):
    number = booking_no(served)
    url = url_for(served, "booking", number)
    phone.goto(url)
    text = phone.locator("body").inner_text()
    assert "已预约" in text and number in text and "蒙**" in text and "资源镇政务服务中心" in text
    assert "需要带的材料" in text and MENG not in text
    button = phone.get_by_role("button", name="取消这个预约")
    assert button.is_visible()
    with phone.expect_navigation():
        button.tap()
    assert phone.url == url  # back on the page, which now says so
    assert phone.locator(".big").inner_text() == "已取消"
    assert phone.get_by_role("button", name="取消这个预约").count() == 0
    state = requests.get(served.url + f"/api/v1/appointments/{number}", headers=DEMO, timeout=10).json()
    assert state["status"] == "cancelled" and state["slot"]["free"] == state["slot"]["capacity"]


def test_an_expired_link_on_a_phone(served, phone, clock):
    url = url_for(served, "booking", booking_no(served))
    saved = clock.moment
    clock.moment = saved + timedelta(days=8)
    try:
        response = phone.goto(url)
    finally:
        clock.moment = saved
    assert response.status == 404
    assert phone.title() == "链接无效"
    assert "已过期" in phone.locator("body").inner_text()
    assert phone.get_by_role("button").count() == 0
