"""Who may enter service mode, and what they did there.

- Credentials come from configuration (``service.technicians``: ``NAME=HASH`` entries), hashed with
  scrypt (``hash_pin``); plain PINs are never stored or logged.
- Wrong PINs are limited: after ``service.max_tries`` wrong ones in a row the pad waits
  ``service.lockout_s``, and each further wrong one doubles the wait (at most an hour). The count
  and the wait are kept on disk, so restarting the kiosk does not reset them.
- Or a technician QR code the platform signs (Ed25519) for one technician, one kiosk (or all) and at
  most a day (``sign_technician_qr``; the kiosk holds the public key, ``service.technician_qr_key``);
  each code enters once.
- Every entry, exit and action goes to the audit log (technician, time, what), a SQLite file in the
  data folder written durably, and to the log.
- ``ServiceSession.tick()`` ends service mode after ``service.idle_exit_s`` without a touch.

Plain Python: the service-mode screens call it (``try_pin`` from a worker: scrypt takes a moment).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from offline_queue.durable import open_durable_sqlite

log = logging.getLogger(__name__)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
MAX_WAIT_S = 3600
AUDIT_FILE = "service-audit.sqlite3"


class BadPin(ValueError):
    """A PIN that cannot be set: it must be 6 to 12 digits."""


def check_pin_format(pin: str) -> str:
    if not isinstance(pin, str) or not pin.isdigit() or not pin.isascii() or not 6 <= len(pin) <= 12:
        raise BadPin("a service PIN is 6 to 12 digits")
    if len(set(pin)) == 1 or pin in "0123456789012" or pin in "9876543210987":
        raise BadPin("a service PIN must not be one digit repeated or a run like 123456")
    return pin


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_pin(pin: str, *, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """``scrypt$N$r$p$salt$hash`` for the configuration (``kiosk service hash-pin`` prints it)."""
    check_pin_format(pin)
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_pin(pin: str, hashed: str) -> bool:
    """Constant-time check of ``pin`` against a ``scrypt$…`` or ``pbkdf2_sha256$iterations$salt$hash``."""
    try:
        parts = hashed.split("$")
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            salt, want = base64.b64decode(parts[4]), base64.b64decode(parts[5])
            got = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=len(want))
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            salt, want = base64.b64decode(parts[2]), base64.b64decode(parts[3])
            got = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, int(parts[1]), dklen=len(want))
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def parse_technicians(entries: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    out = []
    for entry in entries:
        name, _, hashed = entry.partition("=")
        out.append((name.strip(), hashed.strip()))
    return out


# -- the audit log --------------------------------------------------------------------------------


class AuditLog:
    """Append-only record of service mode: ``record(technician, action, **detail)``; durable on return.

    ``detail`` is for the technician's actions (a counter name, a device, a test's outcome); it must
    never carry a citizen's data, and free text in it is redacted as a second line of defence.
    """

    def __init__(self, data_dir: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(data_dir) / AUDIT_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        self.clock = clock
        self._lock = threading.Lock()
        self._db = open_durable_sqlite(self.path)
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL,"
            " technician TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL);"
            "CREATE TABLE IF NOT EXISTS lockout (key TEXT PRIMARY KEY, failures INTEGER NOT NULL,"
            " locked_until REAL NOT NULL);"
            "CREATE TABLE IF NOT EXISTS used_codes (nonce TEXT PRIMARY KEY, expires REAL NOT NULL);")

    def use_nonce(self, nonce: str, expires: float, now: float) -> bool:
        """Remember a technician code's nonce until it expires; False when it was used before."""
        with self._lock:
            self._db.execute("DELETE FROM used_codes WHERE expires < ?", (now,))
            try:
                self._db.execute("INSERT INTO used_codes(nonce, expires) VALUES (?, ?)", (nonce, expires))
            except sqlite3.IntegrityError:
                return False
        return True

    def record(self, technician: str, action: str, **detail: Any) -> None:
        from kiosk.operate.redact import strip_secrets

        clean = strip_secrets(detail)
        with self._lock:
            self._db.execute("INSERT INTO audit(at, technician, action, detail) VALUES (?, ?, ?, ?)",
                             (self.clock(), technician or "?", action, json.dumps(clean, ensure_ascii=False)))
        log.info("service mode: %s %s %s", technician or "?", action, json.dumps(clean, ensure_ascii=False))

    def entries(self, limit: int = 200) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT at, technician, action, detail FROM audit ORDER BY seq DESC LIMIT ?",
                                    (int(limit),)).fetchall()
        return [{"at": at, "technician": t, "action": a, "detail": json.loads(d)} for at, t, a, d in reversed(rows)]

    def lockout_state(self) -> tuple[int, float]:
        with self._lock:
            row = self._db.execute("SELECT failures, locked_until FROM lockout WHERE key = 'pin'").fetchone()
        return (row[0], row[1]) if row else (0, 0.0)

    def set_lockout_state(self, failures: int, locked_until: float) -> None:
        with self._lock:
            self._db.execute("INSERT INTO lockout(key, failures, locked_until) VALUES ('pin', ?, ?) ON CONFLICT(key)"
                             " DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
                             (failures, locked_until))

    def close(self) -> None:
        with self._lock:
            self._db.close()


# -- entering, using and leaving service mode ---------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """The answer to a PIN: ``ok`` with the technician's name, or how long the pad must wait now."""

    ok: bool
    technician: str = ""
    wait_s: float = 0.0
    tries_left: int = 0
    message_zh: str = ""
    message_en: str = ""


@dataclass
class ServiceSession:
    """An open service-mode session; ``touch()`` on every tap, ``tick()`` from the UI clock."""

    technician: str
    started: float
    idle_exit_s: float
    audit: AuditLog
    monotonic: Callable[[], float] = time.monotonic
    last_touch: float = field(default=0.0)
    ended: str = ""

    def __post_init__(self) -> None:
        self.last_touch = self.monotonic()

    def touch(self) -> None:
        self.last_touch = self.monotonic()

    def idle_left(self) -> float:
        return max(0.0, self.idle_exit_s - (self.monotonic() - self.last_touch))

    def tick(self) -> bool:
        """True once the session has ended by itself (idle); then the UI goes back to the attract screen."""
        if not self.ended and self.idle_left() <= 0:
            self.end("idle")
        return self.ended == "idle"

    def action(self, what: str, **detail: Any) -> None:
        """Write what the technician did (a live test, a retry, a reset, an export) to the audit log."""
        if self.ended:
            raise RuntimeError("service mode has ended")
        self.touch()
        self.audit.record(self.technician, what, **detail)

    def end(self, reason: str = "button") -> None:
        if not self.ended:
            self.ended = reason
            self.audit.record(self.technician, "exit", reason=reason,
                              minutes=round((self.monotonic() - self.started) / 60, 1))


class ServiceAccess:
    """The PIN pad's logic: which technician, how many wrong tries, how long to wait."""

    def __init__(self, service_cfg: Any, data_dir: str | Path, *, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic, audit: AuditLog | None = None,
                 kiosk_id: str = "") -> None:
        self.cfg = service_cfg
        self.kiosk_id = kiosk_id
        self.technicians = parse_technicians(service_cfg.technicians)
        self.clock = clock
        self.monotonic = monotonic
        self.audit = audit or AuditLog(data_dir, clock=clock)

    @property
    def enabled(self) -> bool:
        return bool(self.technicians)

    def wait_left(self) -> float:
        failures, until = self.audit.lockout_state()
        return max(0.0, until - self.clock())

    def try_qr(self, text: str) -> tuple[Attempt, ServiceSession | None]:
        """Check a scanned technician code (``service.technician_qr_key``); each code enters once."""
        key = getattr(self.cfg, "technician_qr_key", "")
        if not key:
            return Attempt(False, message_zh="本机未启用维护二维码", message_en="technician codes are not enabled"), None
        wait = self.wait_left()
        if wait > 0:
            return Attempt(False, wait_s=wait, message_zh=f"请 {int(wait) + 1} 秒后再试",
                           message_en=f"wait {int(wait) + 1} s before the next try"), None
        claims, why = check_technician_qr(text, base64.b64decode(key), self.kiosk_id, self.clock())
        if claims is not None and not self.audit.use_nonce(claims["n"], claims["exp"], self.clock()):
            claims, why = None, "already used"
        if claims is None:
            failures, _ = self.audit.lockout_state()
            failures += 1
            over = failures - self.cfg.max_tries
            wait = 0.0 if over < 0 else min(MAX_WAIT_S, self.cfg.lockout_s * 2 ** over)
            self.audit.set_lockout_state(failures, self.clock() + wait)
            self.audit.record("?", "bad_code", why=why, failures=failures, wait_s=wait)
            return Attempt(False, wait_s=wait, message_zh="维护二维码无效或已过期", message_en=f"code refused: {why}"), None
        who = claims["t"].strip()
        self.audit.set_lockout_state(0, 0.0)
        self.audit.record(who, "enter", by="code", valid_until=claims["exp"])
        session = ServiceSession(who, self.monotonic(), self.cfg.idle_exit_s, self.audit, self.monotonic)
        return Attempt(True, technician=who, message_zh="已进入维护模式", message_en="service mode"), session

    def try_pin(self, pin: str) -> tuple[Attempt, ServiceSession | None]:
        """Check a PIN; on success a new ServiceSession (its entry is in the audit log)."""
        if not self.enabled:
            return Attempt(False, message_zh="本机未设置维护密码", message_en="no technician PIN is configured"), None
        wait = self.wait_left()
        if wait > 0:
            return Attempt(False, wait_s=wait, message_zh=f"请 {int(wait) + 1} 秒后再试",
                           message_en=f"wait {int(wait) + 1} s before the next try"), None
        who = next((name for name, hashed in self.technicians if verify_pin(str(pin), hashed)), None)
        failures, _ = self.audit.lockout_state()
        if who is not None:
            self.audit.set_lockout_state(0, 0.0)
            self.audit.record(who, "enter", after_wrong_tries=failures)
            session = ServiceSession(who, self.monotonic(), self.cfg.idle_exit_s, self.audit, self.monotonic)
            return Attempt(True, technician=who, message_zh="已进入维护模式", message_en="service mode"), session
        failures += 1
        over = failures - self.cfg.max_tries
        wait = 0.0 if over < 0 else min(MAX_WAIT_S, self.cfg.lockout_s * 2 ** over)
        self.audit.set_lockout_state(failures, self.clock() + wait)
        self.audit.record("?", "wrong_pin", failures=failures, wait_s=wait)
        left = max(0, self.cfg.max_tries - failures)
        if wait:
            return Attempt(False, wait_s=wait, message_zh=f"密码错误，请 {int(wait)} 秒后再试",
                           message_en=f"wrong PIN; wait {int(wait)} s"), None
        return Attempt(False, tries_left=left, message_zh=f"密码错误，还可尝试 {left} 次",
                       message_en=f"wrong PIN; {left} tries left"), None


# -- the technician QR code: signed by the platform for one technician and a limited time -------------

QR_PREFIX = "KIOSKTECH1."
QR_MAX_VALID_S = 24 * 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_technician_qr(private_key: bytes, technician: str, kiosk_id: str, valid_s: float,
                       now: float | None = None) -> str:
    """What the platform puts in a technician's QR code: ``KIOSKTECH1.<payload>.<signature>``, the
    payload naming the technician, the kiosk (or ``*``), an expiry and a nonce, signed with Ed25519."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not 60 <= valid_s <= QR_MAX_VALID_S:
        raise ValueError(f"a technician code is valid for 60 s to {QR_MAX_VALID_S} s")
    now = time.time() if now is None else now
    payload = json.dumps({"t": technician, "k": kiosk_id, "exp": int(now + valid_s), "iat": int(now),
                          "n": _b64url(os.urandom(12))}, ensure_ascii=False, separators=(",", ":")).encode()
    signature = Ed25519PrivateKey.from_private_bytes(private_key).sign(QR_PREFIX.encode() + payload)
    return f"{QR_PREFIX}{_b64url(payload)}.{_b64url(signature)}"


def check_technician_qr(text: str, public_key: bytes, kiosk_id: str, now: float) -> tuple[dict | None, str]:
    """The payload of a valid code for this kiosk, or None and why not (in English, for the audit)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if not isinstance(text, str) or not text.startswith(QR_PREFIX) or len(text) > 1024:
        return None, "not a technician code"
    try:
        payload_b64, signature_b64 = text[len(QR_PREFIX):].split(".")
        payload, signature = _unb64url(payload_b64), _unb64url(signature_b64)
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, QR_PREFIX.encode() + payload)
        claims = json.loads(payload)
        name, kiosk, exp, iat, nonce = claims["t"], claims["k"], claims["exp"], claims["iat"], claims["n"]
    except InvalidSignature:
        return None, "signature does not match"
    except (ValueError, KeyError, TypeError):
        return None, "malformed code"
    if not (isinstance(name, str) and name.strip() and isinstance(kiosk, str) and isinstance(nonce, str)
            and isinstance(exp, int) and isinstance(iat, int)):
        return None, "malformed code"
    if kiosk not in (kiosk_id, "*"):
        return None, "issued for another kiosk"
    if exp - iat > QR_MAX_VALID_S:
        return None, "valid for too long"
    if now >= exp:
        return None, "expired"
    if now < iat - 300:
        return None, "not valid yet (check the kiosk's clock)"
    return claims, ""
