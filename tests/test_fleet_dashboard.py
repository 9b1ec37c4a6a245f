"""The fleet dashboard's accounts without a browser: ``kiosk fleet admin``, password hashes, sessions
that end, the sign-in throttle and its log (never the password), over the real platform on loopback."""
from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa

from backend.db import Database
from backend.fleet import admins as a
from kiosk.cli import main

PASSWORD = "correct-horse-battery"


def kiosk(*args, stdin: bytes = b""):
    """``kiosk ARGS`` in this process with ``stdin`` piped in: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code = exc.code
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def cheap_hashes(request, monkeypatch):
    """A lower scrypt cost keeps the many sign-ins here quick; the first test uses the real one."""
    if request.node.name != "test_admin_add_reads_the_password_from_stdin_or_a_file_and_stores_only_a_hash":
        monkeypatch.setattr(a, "SCRYPT_N", 2**10)


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'platform.db'}"


def stored_hashes(db_url):
    db = Database(db_url)
    try:
        with db.read() as conn:
            return dict(conn.execute(sa.select(a.fleet_admins.c.name, a.fleet_admins.c.password_hash)).all())
    finally:
        db.dispose()


def test_admin_add_reads_the_password_from_stdin_or_a_file_and_stores_only_a_hash(db_url, tmp_path):
    code, out, err = kiosk("fleet", "--db", db_url, "admin", "add", "alice", stdin=(PASSWORD + "\n").encode())
    assert code == 0, err
    assert "alice" in out and PASSWORD not in out + err
    secret = tmp_path / "pw.txt"
    secret.write_text("另一个很长的密码-2026\n", encoding="utf-8")
    assert kiosk("fleet", "--db", db_url, "admin", "add", "bob", "--password-file", str(secret))[0] == 0
    hashes = stored_hashes(db_url)
    assert set(hashes) == {"alice", "bob"}
    assert hashes["alice"].startswith(f"scrypt${2**15}$8$1$") and PASSWORD not in hashes["alice"]
    assert a.verify_password(PASSWORD, hashes["alice"]) and not a.verify_password(PASSWORD + "x", hashes["alice"])
    assert a.verify_password("另一个很长的密码-2026", hashes["bob"])
    code, out, _ = kiosk("fleet", "--db", db_url, "admin", "list")
    assert code == 0 and out.splitlines()[0].startswith("alice") and "never signed in" in out


@pytest.mark.parametrize("args, stdin, message", [
    (("add", "carol", "--password", PASSWORD), b"", "never give a password on the command line"),
    (("add", "carol", "--pass", PASSWORD), b"", "unrecognized arguments"),
    (("add", "carol"), b"short\n", "at least 10 characters"),
    (("add", "carol"), b"", "none given"),
    (("add", "carol"), b"\xff\xfe not utf-8 at all\n", "not UTF-8"),
    (("add", "a b<script>"), (PASSWORD + "\n").encode(), "admin name"),
    (("add", "carol", "--password-file", "/nonexistent/pw"), b"", "file not found"),
    (("add", "alice"), (PASSWORD + "\n").encode(), "already exists"),
    (("passwd", "nobody"), (PASSWORD + "\n").encode(), "no admin"),
    (("remove", "nobody"), b"", "no admin"),
])
def test_bad_admin_input_is_one_line_and_exit_2_and_changes_nothing(db_url, args, stdin, message):
    assert kiosk("fleet", "--db", db_url, "admin", "add", "alice", stdin=(PASSWORD + "\n").encode())[0] == 0
    before = stored_hashes(db_url)
    code, out, err = kiosk("fleet", "--db", db_url, "admin", *args, stdin=stdin)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    if "--password" in args:
        assert PASSWORD not in err
    assert "Traceback" not in err and stored_hashes(db_url) == before


def test_passwd_and_remove_end_the_accounts_sessions(db_url):
    db = Database(db_url)
    db.initialise()
    admins = a.Admins(db)
    admins.add("alice", PASSWORD)
    token, _ = admins.open_session("alice")
    assert admins.session(token) is not None
    assert kiosk("fleet", "--db", db_url, "admin", "passwd", "alice", stdin=b"a-brand-new-password\n")[0] == 0
    assert admins.session(token) is None
    assert admins.authenticate("alice", "a-brand-new-password", "127.0.0.1")
    token, _ = admins.open_session("alice")
    assert kiosk("fleet", "--db", db_url, "admin", "remove", "alice")[0] == 0
    assert admins.session(token) is None and not admins.authenticate("alice", "a-brand-new-password", "127.0.0.1")
    db.dispose()


def test_a_session_ends_when_idle_or_old_and_a_token_is_stored_only_hashed(db_url):
    now = [datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)]
    db = Database(db_url, clock=lambda: now[0])
    db.initialise()
    admins = a.Admins(db)
    admins.add("alice", PASSWORD)
    token, session = admins.open_session("alice")
    with db.read() as conn:
        assert conn.execute(sa.select(a.fleet_admin_sessions.c.token_sha256)).scalar() == a.token_sha256(token)
    for _ in range(20):  # used every 25 minutes: alive until 8 hours have passed
        now[0] += timedelta(minutes=25)
        alive = admins.session(token)
        assert (alive is not None) == (now[0] < session.expires_at)
    assert admins.session(token) is None
    token, _ = admins.open_session("alice")
    now[0] += a.SESSION_IDLE + timedelta(seconds=1)
    assert admins.session(token) is None
    assert admins.session("not-a-token") is None and admins.session("x" * 500) is None
    db.dispose()


def test_a_malformed_hash_never_matches():
    for stored in ("", "plain", "scrypt$1$2$3$!!$!!", "bcrypt$x$y$z$a$b", "scrypt$0$8$1$AAAA$AAAA"):
        assert not a.verify_password("anything-at-all", stored)


@pytest.fixture
def platform(tmp_path):
    from backend.server import BackendThread

    url = f"sqlite:///{tmp_path / 'platform.db'}"
    db = Database(url)
    db.initialise()
    admins = a.Admins(db)
    admins.add("alice", PASSWORD)
    admins.add("bob", PASSWORD)
    db.dispose()
    with BackendThread(db_url=url, demo=False) as backend:
        yield backend.url


def sign_in(base: str, name: str, password: str) -> requests.Response:
    session = requests.Session()
    form = session.get(base + "/admin/login", timeout=10)
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text).group(1)
    return session.post(base + "/admin/login", data={"name": name, "password": password, "nonce": nonce},
                        allow_redirects=False, timeout=10)


def test_pages_need_a_session_and_send_strict_headers(platform):
    for path in ("/admin/", "/admin/kiosks", "/admin/kiosks/k-001", "/admin/rollouts", "/admin/rollouts/1"):
        response = requests.get(platform + path, allow_redirects=False, timeout=10)
        assert response.status_code == 303 and response.headers["location"].startswith("/admin/"), path
    login = requests.get(platform + "/admin/login", timeout=10)
    assert "管理员登录" in login.text
    assert "script-src" not in login.headers["content-security-policy"]  # default-src 'none': no script
    assert login.headers["x-frame-options"] == "DENY"
    assert "HttpOnly" in login.headers["set-cookie"] and "SameSite=strict" in login.headers["set-cookie"]
    behind_tls = requests.get(platform + "/admin/login", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert "; Secure" in behind_tls.headers["set-cookie"] and "; Secure" not in login.headers["set-cookie"]
    no_nonce = requests.post(platform + "/admin/login", data={"name": "alice", "password": PASSWORD},
                             allow_redirects=False, timeout=10)
    assert no_nonce.status_code == 403 and "kiosk_admin_session" not in no_nonce.headers.get("set-cookie", "")
    unsigned = requests.post(platform + "/admin/rollouts/1/pause", data={"csrf": "x"}, allow_redirects=False, timeout=10)
    assert unsigned.status_code == 401


def test_failed_sign_ins_lock_the_name_and_are_logged_without_the_password(platform, caplog):
    caplog.set_level(logging.INFO, logger="backend.fleet.dashboard")
    ok = sign_in(platform, "alice", PASSWORD)
    assert ok.status_code == 303 and "kiosk_admin_session=" in ok.headers["set-cookie"]
    guesses = [f"guess-number-{n}" for n in range(a.MAX_FAILURES_PER_NAME)]
    for guess in guesses:
        refused = sign_in(platform, "alice", guess)
        assert refused.status_code == 401 and "用户名或密码错误" in refused.text
        assert "kiosk_admin_session" not in refused.headers.get("set-cookie", "")
    locked = sign_in(platform, "alice", PASSWORD)  # the right password, but too many failures
    assert locked.status_code == 429 and "尝试次数过多" in locked.text
    assert sign_in(platform, "bob", PASSWORD).status_code == 303  # another name is not locked
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert text.count("failed sign-in for 'alice'") == len(guesses)
    assert PASSWORD not in text and not any(g in text for g in guesses)


def test_accounts_and_the_dashboards_queries_on_postgresql(tmp_path):
    from backend.fleet import dashboard
    from backend.fleet.service import Fleet, Plan, record_heartbeat
    from fleet_helpers import PostgresServer, document, token_for

    server = PostgresServer().start()
    if server.url is None:
        pytest.skip(server.skip_reason)
    try:
        db = Database(server.url)
        db.initialise()
        db.register_kiosks({f"k-{n}": token_for(f"k-{n}") for n in range(1, 5)}, group="pingan")
        db.register_kiosks({"k-9": token_for("k-9")}, group="heping")
        admins = a.Admins(db)
        admins.add("alice", PASSWORD)
        for guess in range(a.MAX_FAILURES_PER_NAME):
            assert not admins.authenticate("alice", f"wrong-{guess}", "10.0.0.1")
        assert admins.throttled("alice", "10.0.0.2") is not None and admins.throttled("bob", "10.0.0.2") is None
        token, _ = admins.open_session("alice")
        assert admins.session(token).admin == "alice"
        fleet = Fleet(db)
        fleet.init(tmp_path / "fleet", tmp_path / "keys")
        fleet.publish(document("town/pingan", 1, ""), "doc.toml", tmp_path / "keys", Plan(canary="k-1", soak_s=0))
        with db.write() as conn:
            for beat in range(3):
                record_heartbeat(conn, "k-1", {"config_applied": {"town/pingan": 1}, "healthy": True,
                                               "outbox_backlog": beat}, db.clock())
        fleet.record_report("k-2", "refused", "town/pingan", 1, None, "not meant for this kiosk")
        rows = dashboard.kiosk_rows(db, "pingan")
        assert [r["kiosk_id"] for r in rows] == ["k-1", "k-2", "k-3", "k-4"] and rows[0]["is_online"]
        assert rows[1]["last_report"].kind == "refused" and dashboard.towns(db) == ["heping", "pingan"]
        assert [b.outbox_backlog for b in dashboard.kiosk_detail(db, "k-1")["heartbeats"]] == [0, 1, 2]
        waves = dashboard.rollout_detail(db, 1)["waves"]
        assert waves[0]["counts"] == {"healthy": 1} and sum(w["size"] for w in waves) == 4
        db.dispose()
    finally:
        server.stop()


def test_controller_lines_are_shown_in_chinese_and_unknown_ones_as_they_are():
    from backend.fleet.dashboard import explain

    assert explain("published") == "已发布"
    assert explain("paused: pause by the administrator") == "已暂停：管理员暂停"
    assert explain("halted: 3 of 10 kiosks unhealthy or rolled back (more than 20%)") == \
        "已自动停止：10 台中有 3 台异常或已回滚（超过 20%）"
    assert explain("wave 0 passed (1/1 applied healthy); wave 1 opened") == "第 0 波通过（1/1 台健康应用）；第 1 波开始"
    assert explain("published config/town/pingan/3.toml; wave 0 opened") == "已发布 config/town/pingan/3.toml；金丝雀波次开始"
    assert explain("something new: <b>") == "something new: <b>"


def test_a_rollout_halted_by_the_controller_is_announced_on_the_kiosk_table(tmp_path):
    from backend.fleet.service import record_heartbeat
    from fleet_helpers import Platform

    platform = Platform(tmp_path, {"k-1": "pingan", "k-2": "pingan"}).start()
    try:
        a.Admins(platform.fleet.db).add("alice", PASSWORD)
        platform.publish("town/pingan", 1, "", canary="k-1")
        db = platform.fleet.db
        with db.write() as conn:  # the canary applied it and is not healthy since
            record_heartbeat(conn, "k-1", {"config_applied": {"town/pingan": 1}, "healthy": False}, db.clock())
        assert any("halted" in line for line in platform.fleet.tick())
        signed_in = sign_in(platform.url, "alice", PASSWORD)
        jar = {"kiosk_admin_session": signed_in.cookies["kiosk_admin_session"]}
        table = requests.get(platform.url + "/admin/kiosks", cookies=jar, timeout=10).text
        assert "发布批次 <a href=\"/admin/rollouts/1\">1</a>（town/pingan v1）已自动停止" in table
        rollout = requests.get(platform.url + "/admin/rollouts/1", cookies=jar, timeout=10).text
        assert 'id="resume-button"' in rollout and 'id="pause-button"' not in rollout
    finally:
        platform.stop()
