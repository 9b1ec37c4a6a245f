"""``kiosk fleet`` as an administrator runs it: real subprocesses on a real SQLite platform database."""
from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import pytest

from conftest import ROOT
from fleet_helpers import document
from kiosk.cli import main


def kiosk(*args):
    """``kiosk ARGS`` in this process (the CLI's own entry point), its exit code and output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def kiosk_process(*args):
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


@pytest.fixture
def admin(tmp_path):
    db = f"sqlite:///{tmp_path / 'platform.db'}"
    done = kiosk("fleet", "--db", db, "init", "--dir", str(tmp_path / "fleet"), "--keys", str(tmp_path / "keys"))
    assert done.returncode == 0, done.stderr
    from backend import seed
    from backend.db import Database

    platform = Database(db)  # the platform's kiosks: the demo kiosk (seeding is its own step)
    try:
        seed.seed_demo(platform)
    finally:
        platform.dispose()
    return tmp_path, db


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_init_makes_keys_and_a_root_to_install_and_refuses_twice(admin):
    tmp, db = admin
    assert sorted(p.name for p in (tmp / "keys").iterdir()) == ["root-1.pem", "root-2.pem", "targets.pem"]
    assert oct((tmp / "keys" / "targets.pem").stat().st_mode & 0o777) == "0o600"
    assert json.loads((tmp / "fleet" / "root.json").read_bytes())["signed"]["roles"]["root"]["threshold"] == 2
    again = kiosk("fleet", "--db", db, "init", "--dir", str(tmp / "fleet2"), "--keys", str(tmp / "keys2"))
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "already has a fleet" in again.stderr


@pytest.mark.parametrize("body, message", [
    ('[kiosk]\nhotline = "12345x"\n', "kiosk.hotline: must be a phone number, got '12345x'"),
    ('[session]\nidle_timeout_s = 5\n', "session.idle_timeout_s: must be between 15 and 3600 seconds, got 5"),
    ('[devices]\nreceipt_printer = "gopher://x"\n', "devices.receipt_printer: unsupported URL"),
])
def test_a_bad_document_is_refused_before_signing_with_the_config_check_line(admin, body, message):
    tmp, db = admin
    path = write(tmp, "doc.toml", document("county", 1, body))
    done = kiosk("fleet", "--db", db, "publish", path, "--keys", str(tmp / "keys"))
    assert done.returncode == 2 and done.stderr == f"kiosk: {path}: {message}" + done.stderr.split(message, 1)[1]
    assert done.stderr.count("\n") == 1
    # The same settings as a site file fail `kiosk config check` with the same key and message.
    site = write(tmp, "site.toml", body.encode())
    check = kiosk_process("--config", site, "config", "check")
    assert check.returncode == 2 and message in check.stderr
    assert not list((tmp / "fleet" / "repository" / "targets").glob("config/**/*.toml"))


@pytest.mark.parametrize("body, fragment", [
    ('[platform]\nbase_url = "http://evil.example"\ntoken = "x"\n', "platform: a fleet document may not set this section"),
    ('[fleet]\ntrusted_root = "/tmp/evil.json"\n', "fleet: a fleet document may not set this section"),
    ('[kiosk]\nid = "other"\n', "kiosk.id: a fleet document may not set this key"),
    ('[service]\npin = "1234"\n', "service.pin: a fleet document may set only hashed"),
])
def test_what_a_fleet_document_may_never_set(admin, body, fragment):
    tmp, db = admin
    path = write(tmp, "doc.toml", document("county", 1, body))
    done = kiosk("fleet", "--db", db, "publish", path, "--keys", str(tmp / "keys"))
    assert done.returncode == 2 and fragment in done.stderr, done.stderr


def test_publish_status_pause_resume_abort(admin):
    tmp, db = admin
    path = write(tmp, "doc.toml", document("county", 1, '[kiosk]\nhotline = "12345"\n', note="first"))
    done = kiosk_process("fleet", "--db", db, "publish", path, "--keys", str(tmp / "keys"), "--soak", "1m")
    assert done.returncode == 0, done.stderr
    assert "published config/county/1.toml as rollout 1 to 1 kiosk(s)" in done.stdout
    again = kiosk("fleet", "--db", db, "publish", path, "--keys", str(tmp / "keys"))
    assert again.returncode == 2 and "document.version: must be greater than 1" in again.stderr
    status = json.loads(kiosk("fleet", "--db", db, "status", "--json").stdout)
    assert status["rollouts"][0]["state"] == "running"
    assert status["kiosks"][0]["id"] == "demo-kiosk-001"
    assert kiosk("fleet", "--db", db, "pause", "1").stdout.strip() == "rollout 1 is now paused"
    bad = kiosk("fleet", "--db", db, "pause", "1")
    assert bad.returncode == 2 and "rollout 1 is paused; cannot pause it" in bad.stderr
    assert kiosk("fleet", "--db", db, "resume", "1").returncode == 0
    assert kiosk("fleet", "--db", db, "abort", "1").stdout.strip() == "rollout 1 is now aborted"
    text = kiosk("fleet", "--db", db, "status").stdout
    assert "rollout 1  county v1" in text and "aborted" in text
    missing = kiosk("fleet", "--db", db, "abort", "7")
    assert missing.returncode == 2 and "no rollout 7" in missing.stderr


def test_bad_usage_is_one_line_and_exit_2(admin):
    tmp, db = admin
    assert kiosk("fleet", "--db", db, "publish", str(tmp / "nope.toml"), "--keys", str(tmp / "keys")).returncode == 2
    wrong_keys = kiosk("fleet", "--db", db, "publish", write(tmp, "d.toml", document("county", 1)),
                       "--keys", str(tmp / "nokeys"))
    assert wrong_keys.returncode == 2 and "key file not found" in wrong_keys.stderr
    soak = kiosk("fleet", "--db", db, "publish", "x.toml", "--keys", "k", "--soak", "soon")
    assert soak.returncode == 2 and soak.stderr.count("\n") == 1
    waves = kiosk("fleet", "--db", db, "publish", write(tmp, "e.toml", document("county", 1)),
                  "--keys", str(tmp / "keys"), "--waves", "50,10")
    assert waves.returncode == 2 and "--waves" in waves.stderr


def test_rotate_key_moves_root_forward(admin):
    tmp, db = admin
    done = kiosk("fleet", "--db", db, "rotate-key", "online", "--keys", str(tmp / "keys"))
    assert done.returncode == 0, done.stderr
    assert "root is now version 2" in done.stdout
    assert json.loads((tmp / "fleet" / "root.json").read_bytes())["signed"]["version"] == 2
    wrong = kiosk("fleet", "--db", db, "rotate-key", "root", "--keys", str(tmp / "elsewhere"))
    assert wrong.returncode == 2 and "key file not found" in wrong.stderr
