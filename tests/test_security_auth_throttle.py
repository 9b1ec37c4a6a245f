"""Guessing tokens is slowed down per address and logged without the token; tokens under 128 bits
of entropy are refused at registration."""
from __future__ import annotations

import logging
import secrets

import pytest
import requests

from backend.auth import FAILURES_ALLOWED, AuthThrottle
from backend.db import Database
from backend.tokens import TokenError, estimated_bits, parse_entries
from conftest import run_kiosk
from security_platform import DEMO, platform


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_repeated_failures_lock_the_address_out_and_are_logged(tmp_path, caplog):
    ticks = Ticks()
    guesses = [secrets.token_urlsafe(12) for _ in range(FAILURES_ALLOWED + 5)]
    with platform(tmp_path / "p.sqlite3", auth_throttle=AuthThrottle(clock=ticks)) as server:
        url = server.url + "/api/v1/catalogue/SB-001"
        with caplog.at_level(logging.WARNING, logger="backend.auth"):
            answers = [requests.get(url, headers={"Authorization": f"Bearer {guess}"}, timeout=10)
                       for guess in guesses]
        codes = [a.status_code for a in answers]
        assert codes[:FAILURES_ALLOWED] == [403] * FAILURES_ALLOWED
        assert codes[FAILURES_ALLOWED + 1:] == [429] * 4, codes
        assert int(answers[-1].headers["Retry-After"]) >= 1
        # during the lock-out even the right token is not checked: a 429 tells nothing
        assert requests.get(url, headers=DEMO, timeout=10).status_code == 429
        ticks.now += 400  # past the lock-out and the counting window
        assert requests.get(url, headers=DEMO, timeout=10).status_code == 200
        # no credentials at all is a 401 and is not a guess
        for _ in range(FAILURES_ALLOWED + 2):
            assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, headers=DEMO, timeout=10).status_code == 200
    failures = [r.getMessage() for r in caplog.records if "authentication failed" in r.getMessage()]
    assert len(failures) >= FAILURES_ALLOWED and "127.0.0.1" in failures[0] and "/api/v1/catalogue/SB-001" in failures[0]
    for guess in guesses:
        assert guess not in caplog.text


def test_the_lockout_grows_and_is_capped():
    ticks = Ticks()
    throttle = AuthThrottle(clock=ticks, failures_allowed=2, window_s=10_000)
    for _ in range(3):
        throttle.failed("10.0.0.1")
    first = throttle.retry_after("10.0.0.1")
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") > first
    for _ in range(30):
        throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") <= 300
    assert throttle.retry_after("10.0.0.2") is None, "per address"


@pytest.mark.parametrize("token", ["TOKEN1", "demo-token", "abab" * 40, "a" * 200, "kiosk-7-secret-7",
                                   "0123456789abcdef"])
def test_weak_tokens_are_refused_at_registration(tmp_path, token):
    assert estimated_bits(token) < 128
    db = Database(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    db.initialise()
    try:
        with pytest.raises(TokenError, match="too weak"):
            db.register_kiosks({"k1": token})
    finally:
        db.dispose()
    with pytest.raises(TokenError):
        parse_entries(f"k1 1 {token}\n", "tokens")


def test_the_cli_refuses_weak_tokens_in_one_line(tmp_path):
    for args, env in ((["--kiosk-token", "k1=TOKEN1"], {}), ([], {"KIOSK_BACKEND_TOKENS": "k1 1 TOKEN1"})):
        proc = run_kiosk("backend", "--port", "0", "--db", f"sqlite:///{tmp_path / 'p.sqlite3'}", *args,
                         env=env, timeout=60)
        assert proc.returncode == 2 and "too weak" in proc.stderr and proc.stderr.count("\n") == 1
        assert "TOKEN1" not in proc.stderr, "the token is not repeated"
        assert not (tmp_path / "p.sqlite3").exists()


def test_strong_tokens_pass():
    for token in (secrets.token_urlsafe(32), secrets.token_hex(32), secrets.token_urlsafe(24)):
        assert estimated_bits(token) >= 128
