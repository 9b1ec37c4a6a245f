"""The fleet dashboard in a real browser: Debian's chromium (headless) driven by Playwright.

One platform (real uvicorn on a free loopback port, temporary SQLite) and one browser serve the
whole module. Kiosks send real heartbeats and reports over HTTP; the administrator account is made
with the real ``kiosk fleet admin add`` command.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from conftest import ROOT
from fleet_helpers import Platform, token_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "长城-correct-horse-42"
XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip("chromium is not installed (make setup installs it)", allow_module_level=True)


def heartbeat(url: str, kiosk_id: str, **fields) -> None:
    body = {"software_version": "0.1.0", "config_applied": {"county": 1},
            "devices": {"receipt_printer": "ok", "idcard": "ok"}, "healthy": True, "outbox_backlog": 0,
            "disk_free_mb": 5000, "paper_left_m": 30.0, "uptime_s": 600, "clock_offset_ms": 3, **fields}
    response = requests.post(f"{url}/api/v1/kiosks/{kiosk_id}/heartbeat", json=body,
                             headers={"Authorization": f"Bearer {token_for(kiosk_id)}"}, timeout=10)
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dashboard")
    p = Platform(tmp, {"k-001": "pingan", "k-002": "pingan", "k-003": "heping", "k-004": "heping"}).start()
    added = subprocess.run([sys.executable, "-m", "kiosk.cli", "fleet", "--db", p.db_url, "admin", "add", "county-admin"],
                           input=PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert added.returncode == 0, added.stderr
    for backlog in (0, 4, 9, 2, 1):
        heartbeat(p.url, "k-001", outbox_backlog=backlog, paper_left_m=30.0 - backlog)
    heartbeat(p.url, "k-002", devices={"receipt_printer": "ok", "idcard": "fault"}, healthy=False,
              software_version="<b>0.2</b>")
    heartbeat(p.url, "k-003")
    report = requests.post(p.url + "/api/v1/fleet/reports", json={
        "kind": "rolled_back", "scope": "town/pingan", "version": 1, "from_version": 0, "reason": XSS},
        headers={"Authorization": f"Bearer {token_for('k-001')}"}, timeout=10)
    assert report.status_code == 200, report.text
    p.publish("town/pingan", 1, '[kiosk]\nhotline = "12345"\n', canary="k-001", soak_s=3600)
    p.publish("town/heping", 1, '[kiosk]\nhotline = "12345"\n', canary="k-003", soak_s=3600)
    yield p
    p.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    with playwright_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, locale="zh-CN")
        context.set_default_timeout(20_000)
        yield context
        context.close()


@pytest.fixture(scope="module")
def page(browser):
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    return page


def rollout_state(platform: Platform, rollout_id: int) -> str:
    from backend.fleet import tables as t

    with platform.fleet.db.read() as conn:
        return conn.execute(sa.select(t.fleet_rollouts.c.state).where(t.fleet_rollouts.c.id == rollout_id)).scalar()


def session_cookie(browser) -> dict:
    return {c["name"]: c for c in browser.cookies()}.get("kiosk_admin_session")


def sign_in(page, platform, password: str) -> None:
    page.goto(platform.url + "/admin/login")
    page.fill("#name", "county-admin")
    page.fill("#password", password)
    page.click("#login-button")


def test_a_wrong_password_is_refused(page, browser, platform):
    page.goto(platform.url + "/admin/kiosks")
    assert page.url.endswith("/admin/login")  # not signed in: sent to the sign-in page
    sign_in(page, platform, PASSWORD + "x")
    assert "用户名或密码错误" in page.inner_text("#login-error")
    assert session_cookie(browser) is None
    page.goto(platform.url + "/admin/kiosks")
    assert page.url.endswith("/admin/login")


def test_sign_in_shows_the_kiosk_table_and_filters_by_town(page, browser, platform):
    sign_in(page, platform, PASSWORD)
    assert page.url.endswith("/admin/kiosks")
    cookie = session_cookie(browser)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/admin"
    rows = {r.get_attribute("data-kiosk"): r.inner_text() for r in page.query_selector_all("#kiosks tbody tr")}
    assert set(rows) == {"k-001", "k-002", "k-003", "k-004"}
    assert "在线" in rows["k-001"] and "已回滚" in rows["k-001"] and "pingan" in rows["k-001"]
    assert "身份证阅读器：故障" in rows["k-002"] and "<b>0.2</b>" in rows["k-002"]
    assert "离线" in rows["k-004"] and "从未" in rows["k-004"]
    assert page.query_selector("#kiosks b") is None  # the kiosk's version string stayed text
    assert "共 4 台 · 在线 3 台 · 异常 1 台" in page.inner_text("#summary")
    page.select_option("#town", "heping")
    page.click("#filter-button")
    assert "town=heping" in page.url
    assert [r.get_attribute("data-kiosk") for r in page.query_selector_all("#kiosks tbody tr")] == ["k-003", "k-004"]
    page.select_option("#town", "")
    page.check("#problems")  # offline, unhealthy, or a report that is not "applied"
    page.click("#filter-button")
    assert [r.get_attribute("data-kiosk") for r in page.query_selector_all("#kiosks tbody tr")] == \
        ["k-001", "k-002", "k-004"]


def test_the_kiosk_page_draws_its_heartbeats_and_shows_reasons_as_text(page, platform):
    page.goto(platform.url + "/admin/kiosks")
    page.click("a[href='/admin/kiosks/k-001']")
    assert page.inner_text("#kiosk-id") == "k-001"
    chart = page.query_selector("#chart-backlog")
    assert chart.get_attribute("data-points") == "5"
    points = page.get_attribute("#chart-backlog polyline", "points").split()
    assert len(points) == 5
    ys = [float(p.split(",")[1]) for p in points]
    assert ys.index(min(ys)) == 2  # the highest backlog (9) is the third heartbeat, drawn highest
    assert page.query_selector("#chart-health").get_attribute("data-points") == "5"
    assert len(page.query_selector_all("#chart-paper circle")) == 5
    reason = page.inner_text("#reports .report-rolled_back .reason")
    assert reason == XSS
    assert page.evaluate("window.__xss") is None and page.dialogs == []
    assert page.query_selector("#reports img") is None


def test_pause_resume_and_abort_a_rollout_from_its_page(page, platform):
    page.goto(platform.url + "/admin/rollouts")
    assert page.query_selector("#chart-rollout-1") is not None
    page.click("#rollout-1 h2 a")
    assert page.query_selector("#chart-waves").get_attribute("data-waves") == "2"
    assert page.inner_text("#rollout-state") == "进行中"
    page.click("#pause-button")
    assert "已暂停" in page.inner_text("#flash")
    assert rollout_state(platform, 1) == "paused" and page.inner_text("#rollout-state") == "已暂停"
    assert page.query_selector("#pause-button") is None
    page.click("#resume-button")
    assert rollout_state(platform, 1) == "running" and page.inner_text("#rollout-state") == "进行中"
    page.click("#abort-button")  # the confirmation box is required: the browser does not send the form
    assert rollout_state(platform, 1) == "running"
    page.check("#confirm-abort")
    page.click("#abort-button")
    assert rollout_state(platform, 1) == "aborted" and page.inner_text("#rollout-state") == "已中止"
    assert "已中止：管理员中止" in page.inner_text("#events")


def test_the_wave_chart_follows_what_kiosks_report(page, platform):
    heartbeat(platform.url, "k-003", config_applied={"county": 1, "town/heping": 1})  # the canary applied
    page.goto(platform.url + "/admin/rollouts/2")
    assert "已应用且健康 1" in page.inner_html("#chart-waves rect.seg-healthy")
    assert page.query_selector("#chart-waves rect.seg-not_open") is not None  # wave 1 not opened yet
    assert "1/1 健康" in page.text_content("#chart-waves")
    requests.post(platform.url + "/api/v1/fleet/reports", json={
        "kind": "rolled_back", "scope": "town/heping", "version": 1, "from_version": 0,
        "reason": "device not healthy after the change: receipt_printer"},
        headers={"Authorization": f"Bearer {token_for('k-003')}"}, timeout=10).raise_for_status()
    page.reload()
    assert page.query_selector("#chart-waves rect.seg-healthy") is None
    assert "已回滚 1" in page.inner_html("#chart-waves rect.seg-rolled_back")


def test_a_post_without_the_session_form_token_is_refused(browser, platform):
    cookie = session_cookie(browser)
    jar = {"kiosk_admin_session": cookie["value"]}
    url = platform.url + "/admin/rollouts/2/pause"
    page_html = requests.get(platform.url + "/admin/rollouts/2", cookies=jar, timeout=10).text
    token = page_html.split('name="csrf" value="')[1].split('"')[0]
    for data, headers in (({}, {}), ({"csrf": "forged"}, {}),
                          ({"csrf": token}, {"Origin": "http://evil.example"}),
                          ({"csrf": token}, {"Sec-Fetch-Site": "cross-site"})):
        response = requests.post(url, data=data, headers=headers, cookies=jar, allow_redirects=False, timeout=10)
        assert response.status_code == 403 and "表单校验失败" in response.text
        assert rollout_state(platform, 2) == "running"
    response = requests.post(url, data={"csrf": token}, cookies=jar, allow_redirects=False, timeout=10)
    assert response.status_code == 303 and rollout_state(platform, 2) == "paused"


def test_a_form_on_another_site_cannot_steer_a_rollout(page, platform, tmp_path):
    from fleet_helpers import StaticServer

    for host in ("127.0.0.1", "localhost"):  # another port on our host (same site), another site
        (tmp_path / "evil.html").write_text(
            f'<form id="f" method="post" action="{platform.url}/admin/rollouts/2/abort">'
            '<input name="confirm" value="yes"><input name="csrf" value="guess"></form>'
            '<script>document.getElementById("f").submit()</script>')
        with StaticServer(tmp_path) as evil:
            page.goto(evil.url.replace("127.0.0.1", host) + "/evil.html")
            page.wait_for_url(platform.url + "/admin/rollouts/2/abort")
        assert "表单校验失败" in page.content() or "未登录" in page.content()
        assert rollout_state(platform, 2) == "paused"


def test_signing_out_ends_the_session(page, browser, platform):
    old = session_cookie(browser)["value"]
    page.goto(platform.url + "/admin/kiosks")
    page.click("header .logout button")
    assert page.url.endswith("/admin/login") and session_cookie(browser) is None
    response = requests.get(platform.url + "/admin/kiosks", cookies={"kiosk_admin_session": old},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"
