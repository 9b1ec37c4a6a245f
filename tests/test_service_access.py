"""Service-mode entry: hashed PINs from configuration, wrong tries with growing waits that survive a
restart, the audit log of entries/exits/actions, and leaving by itself when idle."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from conftest import ROOT, run_kiosk
from kiosk.config import ServiceSection, load_config
from kiosk.errors import ConfigError
from kiosk.operate.access import AuditLog, BadPin, ServiceAccess, hash_pin, verify_pin

FAST = dict(n=2 ** 10)  # a cheap scrypt for tests; production uses 2**14


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def access(tmp_path):
    clock = Clock()
    cfg = ServiceSection(technicians=(f"李工={hash_pin('482915', **FAST)}", f"王工={hash_pin('730264', **FAST)}"),
                         max_tries=3, lockout_s=30, idle_exit_s=120)
    return ServiceAccess(cfg, tmp_path, clock=clock, monotonic=clock), clock, cfg


def test_pins_are_hashed_salted_and_checked_in_constant_time():
    a, b = hash_pin("482915", **FAST), hash_pin("482915", **FAST)
    assert a != b and "482915" not in a and a.startswith("scrypt$1024$8$1$")
    assert verify_pin("482915", a) and not verify_pin("482916", a)
    assert not verify_pin("482915", "scrypt$garbage") and not verify_pin("482915", "md5$x$y")
    for bad in ("1234", "111111", "123456", "12345a", "１２３４５６", "9" * 13):
        with pytest.raises(BadPin):
            hash_pin(bad, **FAST)


def test_right_pin_names_the_technician_and_the_session_is_audited(access, tmp_path):
    acc, clock, _ = access
    attempt, session = acc.try_pin("730264")
    assert attempt.ok and attempt.technician == "王工" and session is not None
    session.action("live_test", device="receipt_printer", ok=True)
    clock.now += 60
    session.end("button")
    with pytest.raises(RuntimeError):
        session.action("late")
    entries = AuditLog(tmp_path).entries()
    assert [(e["technician"], e["action"]) for e in entries] == [("王工", "enter"), ("王工", "live_test"),
                                                                  ("王工", "exit")]
    assert entries[2]["detail"] == {"reason": "button", "minutes": 1.0}


def test_wrong_pins_lock_the_pad_with_growing_waits_even_across_a_restart(access, tmp_path):
    acc, clock, cfg = access
    assert [acc.try_pin("000001")[0].tries_left for _ in range(2)] == [2, 1]
    third, _ = acc.try_pin("000001")
    assert not third.ok and third.wait_s == 30
    refused, session = acc.try_pin("482915")  # the right PIN does not help while the pad waits
    assert not refused.ok and session is None and 0 < refused.wait_s <= 30
    restarted = ServiceAccess(cfg, tmp_path, clock=clock, monotonic=clock)  # the kiosk restarts
    assert 0 < restarted.wait_left() <= 30
    clock.now += 31
    assert restarted.try_pin("000002")[0].wait_s == 60  # the fourth wrong one doubles the wait
    clock.now += 61
    assert restarted.try_pin("000003")[0].wait_s == 120
    clock.now += 121
    ok, session = restarted.try_pin("482915")
    assert ok.ok and session is not None
    assert restarted.wait_left() == 0 and restarted.try_pin("000004")[0].tries_left == 2  # counting starts over
    actions = [e["action"] for e in AuditLog(tmp_path).entries()]
    assert actions.count("wrong_pin") == 6 and actions.count("enter") == 1
    assert "482915" not in (tmp_path / "service-audit.sqlite3").read_bytes().decode("latin-1")


def test_service_mode_leaves_by_itself_when_idle(access, tmp_path):
    acc, clock, _ = access
    _, session = acc.try_pin("482915")
    clock.now += 100
    assert not session.tick()
    session.touch()
    clock.now += 119
    assert not session.tick() and session.idle_left() == pytest.approx(1)
    clock.now += 2
    assert session.tick() and session.ended == "idle"
    assert AuditLog(tmp_path).entries()[-1]["detail"]["reason"] == "idle"


def test_no_technicians_configured_means_no_entry(tmp_path):
    acc = ServiceAccess(ServiceSection(), tmp_path)
    attempt, session = acc.try_pin("482915")
    assert not attempt.ok and session is None and "PIN" in attempt.message_en


def test_configuration_takes_only_hashes(tmp_path):
    good = hash_pin("482915", **FAST)
    site = tmp_path / "kiosk.toml"
    site.write_text(f'[service]\ntechnicians = ["李工={good}"]\nidle_exit_s = 300\n', encoding="utf-8")
    cfg = load_config(site)
    assert cfg.service.technicians == (f"李工={good}",) and cfg.service.idle_exit_s == 300
    for bad in ('technicians = ["李工=482915"]', "idle_exit_s = 5", "paper_warn_days = -1"):
        site.write_text(f"[service]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError):
            load_config(site)
    assert replace(cfg.service, max_tries=4).max_tries == 4


def test_hash_pin_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "service", "hash-pin", "--name", "李工"],
                          input="482915\n", capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    entry = proc.stdout.strip().strip('"')
    name, _, hashed = entry.partition("=")
    assert name == "李工" and verify_pin("482915", hashed) and "482915" not in proc.stdout
    bad = run_kiosk("service", "hash-pin", "--name", "李工")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


# -- technician QR codes ---------------------------------------------------------------------------


@pytest.fixture
def signed(tmp_path):
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    public = base64.b64encode(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                            serialization.PublicFormat.Raw)).decode()
    clock = Clock()
    cfg = ServiceSection(technician_qr_key=public, max_tries=3, lockout_s=30)
    return ServiceAccess(cfg, tmp_path, clock=clock, monotonic=clock, kiosk_id="gx-pingan-001"), private, clock


def test_a_signed_code_enters_once_for_its_kiosk_until_it_expires(signed, tmp_path):
    from kiosk.operate.access import sign_technician_qr

    acc, private, clock = signed
    code = sign_technician_qr(private, "李工", "gx-pingan-001", 3600, now=clock.now)
    ok, session = acc.try_qr(code)
    assert ok.ok and ok.technician == "李工" and session is not None
    again, _ = acc.try_qr(code)
    assert not again.ok and "already used" in again.message_en
    assert acc.try_qr(sign_technician_qr(private, "李工", "*", 3600, now=clock.now))[0].ok  # any kiosk
    other = sign_technician_qr(private, "李工", "gx-other-002", 3600, now=clock.now)
    assert "another kiosk" in acc.try_qr(other)[0].message_en
    later = sign_technician_qr(private, "李工", "gx-pingan-001", 600, now=clock.now)
    clock.now += 601
    assert "expired" in acc.try_qr(later)[0].message_en
    entries = AuditLog(tmp_path).entries()
    assert entries[0]["action"] == "enter" and entries[0]["detail"]["by"] == "code"
    assert [e["detail"]["why"] for e in entries if e["action"] == "bad_code"] == [
        "already used", "issued for another kiosk", "expired"]


def test_forged_tampered_and_foreign_codes_are_refused_and_count_as_wrong_tries(signed):
    import base64
    import json as _json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.operate.access import QR_PREFIX, sign_technician_qr

    acc, private, clock = signed
    good = sign_technician_qr(private, "李工", "gx-pingan-001", 3600, now=clock.now)
    payload, signature = good[len(QR_PREFIX):].split(".")
    claims = _json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["t"] = "张工"
    tampered = QR_PREFIX + base64.urlsafe_b64encode(_json.dumps(claims).encode()).rstrip(b"=").decode() + "." + signature
    stranger = Ed25519PrivateKey.generate().private_bytes_raw()
    forged = sign_technician_qr(stranger, "李工", "gx-pingan-001", 3600, now=clock.now)
    results = [acc.try_qr(t)[0] for t in (tampered, forged, "KIOSKTECH1.garbage")]
    assert [r.ok for r in results] == [False, False, False]
    assert results[-1].wait_s == 30  # the third bad code locks the pad like a third wrong PIN
    assert not acc.try_qr(good)[0].ok  # even a good code waits
    with pytest.raises(ValueError):
        sign_technician_qr(private, "李工", "gx-pingan-001", 3 * 86400)


def test_codes_are_off_without_a_configured_key(tmp_path):
    acc = ServiceAccess(ServiceSection(), tmp_path)
    attempt, session = acc.try_qr("KIOSKTECH1.x.y")
    assert not attempt.ok and session is None and "not enabled" in attempt.message_en


def test_platform_side_commands_make_a_code_the_kiosk_takes(tmp_path):
    key_file = tmp_path / "tech.key"
    made = run_kiosk("service", "code-keygen", "--out", str(key_file))
    assert made.returncode == 0, made.stderr
    public = made.stdout.split('"')[1]
    assert oct(key_file.stat().st_mode)[-3:] == "600"
    assert run_kiosk("service", "code-keygen", "--out", str(key_file)).returncode == 2  # never overwritten
    signed = run_kiosk("service", "sign-code", "--key", str(key_file), "--name", "李工", "--kiosk", "gx-pingan-001",
                       "--hours", "2", "--png", str(tmp_path / "code.png"))
    assert signed.returncode == 0, signed.stderr
    acc = ServiceAccess(ServiceSection(technician_qr_key=public), tmp_path, kiosk_id="gx-pingan-001")
    assert acc.try_qr(signed.stdout.strip())[0].ok
    from devices.qr.engines import FrameDecoder  # the decoder the kiosk's camera scanner uses

    codes, _ms = FrameDecoder().decode_file(tmp_path / "code.png")
    assert signed.stdout.strip() in [c.text for c in codes]
    bad = run_kiosk("service", "sign-code", "--key", str(key_file), "--name", "李工", "--kiosk", "x", "--hours", "48")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
