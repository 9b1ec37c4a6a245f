"""The fleet dashboard's administrator accounts, sessions and sign-in records.

Passwords are kept as scrypt hashes (``scrypt$n$r$p$salt$hash``, base64 parts): the parameters
travel with each hash, so they can be raised later without breaking old accounts. Session tokens
are random (256 bits) and only their sha256 is stored, so a copy of the database opens no session.

Tables (created on demand, next to the fleet tables):

``fleet_admins`` — name (PK), password_hash, created_at, last_login_at.
``fleet_admin_sessions`` — token_sha256 (PK), admin, csrf (the session's form token),
    created_at, last_seen_at, expires_at, flash (a one-time message for the next page).
``fleet_admin_logins`` — every sign-in attempt: id, at, name (as typed, cut to 64), remote, ok.
    Failed attempts in the last :data:`THROTTLE_WINDOW` lock a name or an address (see
    :meth:`Admins.throttled`).
``fleet_admin_actions`` — what administrators did from the dashboard: id, at, admin, action, target.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from backend.db import Database, as_utc

admin_metadata = sa.MetaData()

fleet_admins = sa.Table(
    "fleet_admins", admin_metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
)

fleet_admin_sessions = sa.Table(
    "fleet_admin_sessions", admin_metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("admin", sa.String(64), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("flash", sa.Text, nullable=True),
)

fleet_admin_logins = sa.Table(
    "fleet_admin_logins", admin_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("remote", sa.String(64), nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
)

fleet_admin_actions = sa.Table(
    "fleet_admin_actions", admin_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("admin", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target", sa.String(128), nullable=False),
)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1  # 32 MiB of memory per hash
SCRYPT_MAXMEM = 128 * 1024 * 1024

SESSION_LIFETIME = timedelta(hours=8)  # absolute: sign in again after this
SESSION_IDLE = timedelta(minutes=30)  # a session unused this long is over
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_REMOTE = 20


class AdminError(ValueError):
    """An account operation cannot be done as asked; the message is one line (English, for the CLI)."""


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise AdminError("admin name: 1-64 letters, digits or _ . @ -, starting with a letter or digit")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AdminError(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AdminError(f"password: at most {MAX_PASSWORD} characters")
    if "\x00" in password:
        raise AdminError("password: must not contain a NUL character")
    return password


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=SCRYPT_MAXMEM, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; a malformed hash never matches."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt, validate=True),
                                n=int(n), r=int(r), p=int(p), maxmem=SCRYPT_MAXMEM, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# Verified against when the name is unknown, so an unknown name costs as long as a wrong password.
_DUMMY_HASH = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(bytes(16))}${_b64(bytes(32))}"


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Session:
    """A signed-in administrator's session (as found from its cookie)."""
    token_sha256: str
    admin: str
    csrf: str
    expires_at: datetime
    flash: str | None


class Admins:
    """Administrator accounts and sessions on the platform's database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        admin_metadata.create_all(db.engine)

    # -- accounts (the CLI) -------------------------------------------------------------------------

    def add(self, name: str, password: str) -> None:
        check_name(name)
        check_password(password)
        hashed = hash_password(password)
        with self.db.write() as conn:
            if conn.execute(sa.select(fleet_admins.c.name).where(fleet_admins.c.name == name)).first():
                raise AdminError(f"admin {name!r} already exists (use 'kiosk fleet admin passwd {name}')")
            conn.execute(sa.insert(fleet_admins).values(name=name, password_hash=hashed,
                                                        created_at=self.db.clock()))

    def set_password(self, name: str, password: str) -> None:
        """A new password; every session of the account ends and its sign-in lock is lifted."""
        check_password(password)
        hashed = hash_password(password)
        with self.db.write() as conn:
            if not conn.execute(sa.update(fleet_admins).where(fleet_admins.c.name == name)
                                .values(password_hash=hashed)).rowcount:
                raise AdminError(f"no admin {name!r}")
            conn.execute(sa.delete(fleet_admin_sessions).where(fleet_admin_sessions.c.admin == name))
            conn.execute(sa.delete(fleet_admin_logins).where(fleet_admin_logins.c.name == name,
                                                             fleet_admin_logins.c.ok.is_(False)))

    def remove(self, name: str) -> None:
        with self.db.write() as conn:
            if not conn.execute(sa.delete(fleet_admins).where(fleet_admins.c.name == name)).rowcount:
                raise AdminError(f"no admin {name!r}")
            conn.execute(sa.delete(fleet_admin_sessions).where(fleet_admin_sessions.c.admin == name))

    def names(self) -> list[tuple[str, datetime | None]]:
        with self.db.read() as conn:
            return [(r.name, r.last_login_at) for r in
                    conn.execute(sa.select(fleet_admins).order_by(fleet_admins.c.name))]

    # -- signing in ------------------------------------------------------------------------------------

    def throttled(self, name: str, remote: str) -> timedelta | None:
        """How long until this name or address may try again, or None when it may try now."""
        now = self.db.clock()
        since = now - THROTTLE_WINDOW
        waits = []
        with self.db.read() as conn:
            for column, value, limit in ((fleet_admin_logins.c.name, name[:64], MAX_FAILURES_PER_NAME),
                                         (fleet_admin_logins.c.remote, remote[:64], MAX_FAILURES_PER_REMOTE)):
                times = conn.execute(sa.select(fleet_admin_logins.c.at).where(
                    column == value, fleet_admin_logins.c.ok.is_(False), fleet_admin_logins.c.at > since)
                    .order_by(fleet_admin_logins.c.at.desc()).limit(limit)).scalars().all()
                if len(times) >= limit:
                    waits.append(as_utc(times[-1]) + THROTTLE_WINDOW - now)
        return max(waits) if waits else None

    def authenticate(self, name: str, password: str, remote: str) -> bool:
        """Check a password and record the attempt (never the password)."""
        with self.db.read() as conn:
            stored = conn.execute(sa.select(fleet_admins.c.password_hash)
                                  .where(fleet_admins.c.name == name[:64])).scalar()
        ok = verify_password(password[:MAX_PASSWORD], stored or _DUMMY_HASH) and stored is not None
        now = self.db.clock()
        with self.db.write() as conn:
            conn.execute(sa.insert(fleet_admin_logins).values(at=now, name=name[:64], remote=remote[:64], ok=ok))
            if ok:
                conn.execute(sa.update(fleet_admins).where(fleet_admins.c.name == name).values(last_login_at=now))
            # The throttle looks back minutes; a month of attempts is kept as the audit record.
            conn.execute(sa.delete(fleet_admin_logins).where(fleet_admin_logins.c.at < now - timedelta(days=30)))
        return ok

    # -- sessions --------------------------------------------------------------------------------------

    def open_session(self, name: str) -> tuple[str, Session]:
        """A new session: returns the cookie token (never stored) and the session."""
        token = secrets.token_urlsafe(32)
        now = self.db.clock()
        session = Session(token_sha256(token), name, secrets.token_urlsafe(32), now + SESSION_LIFETIME, None)
        with self.db.write() as conn:
            conn.execute(sa.delete(fleet_admin_sessions).where(fleet_admin_sessions.c.expires_at < now))
            conn.execute(sa.insert(fleet_admin_sessions).values(
                token_sha256=session.token_sha256, admin=name, csrf=session.csrf, created_at=now,
                last_seen_at=now, expires_at=session.expires_at))
        return token, session

    def session(self, token: str | None) -> Session | None:
        """The live session for a cookie token, taking its one-time message; None if none or over."""
        if not token or len(token) > 128:
            return None
        digest = token_sha256(token)
        now = self.db.clock()
        with self.db.write() as conn:
            row = conn.execute(sa.select(fleet_admin_sessions)
                               .where(fleet_admin_sessions.c.token_sha256 == digest)).first()
            if row is None:
                return None
            if as_utc(row.expires_at) <= now or now - as_utc(row.last_seen_at) > SESSION_IDLE:
                conn.execute(sa.delete(fleet_admin_sessions).where(fleet_admin_sessions.c.token_sha256 == digest))
                return None
            conn.execute(sa.update(fleet_admin_sessions).where(fleet_admin_sessions.c.token_sha256 == digest)
                         .values(last_seen_at=now, flash=None))
        return Session(digest, row.admin, row.csrf, as_utc(row.expires_at), row.flash)

    def set_flash(self, session: Session, message: str) -> None:
        with self.db.write() as conn:
            conn.execute(sa.update(fleet_admin_sessions)
                         .where(fleet_admin_sessions.c.token_sha256 == session.token_sha256)
                         .values(flash=message[:500]))

    def close_session(self, session: Session) -> None:
        with self.db.write() as conn:
            conn.execute(sa.delete(fleet_admin_sessions)
                         .where(fleet_admin_sessions.c.token_sha256 == session.token_sha256))

    def record_action(self, admin: str, action: str, target: str) -> None:
        with self.db.write() as conn:
            conn.execute(sa.insert(fleet_admin_actions).values(at=self.db.clock(), admin=admin,
                                                               action=action[:32], target=target[:128]))
