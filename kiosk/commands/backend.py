"""``kiosk backend``: serve the reference platform API until stopped.

Kiosks are registered from a tokens file (``--kiosk-tokens-file``) or the environment
(``KIOSK_BACKEND_TOKENS``), one ``ID NUMBER TOKEN`` per line (``backend.tokens``), so no token
shows on the command line. A platform with no kiosk registered says so and refuses to start.
``--demo`` adds the demo kiosk and the fictitious demo people (loopback only); a platform started
without it refuses a database that holds them.

Order matters for "no partial state": options, the URL and the tokens are checked first, then the
port is bound, and only then is the database created or changed, so a bad option leaves nothing
behind. The process creates its files readable by its owner only.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from kiosk.errors import DeviceFailure, UsageError

KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PUBLIC_URL_ENV = "KIOSK_BACKEND_PUBLIC_URL"
NO_KIOSK = ("no kiosk is registered on this platform: give --kiosk-tokens-file FILE or set "
            "KIOSK_BACKEND_TOKENS (lines 'ID NUMBER TOKEN')")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, not {text[:20]!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, not {port}")
    return port


def _people_per_hour(text: str) -> int:
    if len(text) > 6 or not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 100000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 100000, not {text[:20]!r}")
    return int(text)


def _kiosk_token(text: str) -> tuple[str, str]:
    kiosk_id, sep, token = text.partition("=")
    if not sep or not KIOSK_ID.match(kiosk_id):
        raise argparse.ArgumentTypeError("expected ID=TOKEN with an ID of letters, digits, '.', '_', '-'")
    if not token or any(c.isspace() for c in token):
        raise argparse.ArgumentTypeError(f"the token for {kiosk_id} must be non-empty, without spaces")
    return kiosk_id, token


def check_public_url(text: str) -> str:
    """An http(s) URL with a host and no query or fragment, without a trailing slash."""
    if "\x00" in text or any(ch.isspace() for ch in text) or len(text) > 200:
        raise UsageError("the public URL must be a short http(s) URL without spaces")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise UsageError(f"the public URL must look like https://platform.example.gov.cn, not {text[:60]!r}")
    return text.rstrip("/")


def register(parsers) -> None:
    p = parsers.top.add_parser("backend", help="serve the reference platform API (catalogue, uploads)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8750, help="port (default 8750; 0 picks a free one)")
    p.add_argument("--db", default=None, metavar="URL",
                   help="sqlite:///PATH or postgresql://USER:PASS@HOST/DB "
                        "(default: backend.sqlite3 in the configured data folder)")
    p.add_argument("--kiosk-tokens-file", type=Path, default=None, metavar="FILE",
                   help="register kiosks from FILE (mode 600): lines 'ID NUMBER TOKEN'; "
                        "KIOSK_BACKEND_TOKENS may hold the same lines")
    p.add_argument("--kiosk-token", action="append", default=[], type=_kiosk_token, metavar="ID=TOKEN",
                   help="register a kiosk or replace its token (repeatable; shows the token in ps: "
                        "prefer --kiosk-tokens-file)")
    p.add_argument("--public-url", default=None, metavar="URL",
                   help="where phones reach this platform, printed in certificates' QR codes "
                        f"(default: ${PUBLIC_URL_ENV}, else the address served)")
    p.add_argument("--people-per-hour", type=_people_per_hour, default=30, metavar="N",
                   help="distinct people whose records one kiosk may read per hour before it is stopped "
                        "and an alert is raised (default 30)")
    p.add_argument("--demo", action="store_true",
                   help="add the demo kiosk (token demo-token) and fictitious people; loopback only")
    p.set_defaults(func=run_backend)


def _open_database(url: str):
    from backend.db import Database, DatabaseURLError

    try:
        return Database(url)
    except DatabaseURLError as exc:
        raise UsageError(str(exc)) from None


def _default_path(args: argparse.Namespace) -> Path:
    from kiosk.config import load_config

    return load_config(args.config_path).paths.data_dir / "backend.sqlite3"


def _default_database(args: argparse.Namespace):
    """backend.sqlite3 in the configured data folder, which is created (0700) if need be."""
    data_dir = _default_path(args).parent
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create data folder {data_dir}: {exc.strerror}") from None
    return _open_database(f"sqlite:///{data_dir / 'backend.sqlite3'}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return host == ""


def _registrations(args: argparse.Namespace) -> list:
    """Every kiosk to register, from the file, the environment and ``--kiosk-token``, checked."""
    from backend.tokens import KioskRegistration, TokenError, check_token, read_tokens_file, tokens_from_environment

    entries = []
    try:
        if args.kiosk_tokens_file is not None:
            entries += read_tokens_file(args.kiosk_tokens_file, allow_weak=args.demo)
        entries += tokens_from_environment(allow_weak=args.demo)
        for kiosk_id, token in args.kiosk_token:
            entries.append(KioskRegistration(kiosk_id, None, check_token(kiosk_id, token, allow_weak=args.demo)))
    except TokenError as exc:
        raise UsageError(str(exc)) from None
    ids = [entry.kiosk_id for entry in entries]
    duplicate = next((kiosk_id for kiosk_id in ids if ids.count(kiosk_id) > 1), None)
    if duplicate is not None:
        raise UsageError(f"kiosk {duplicate} is registered twice (tokens file, environment, --kiosk-token)")
    return entries


def _public_url(args: argparse.Namespace) -> str | None:
    text = args.public_url if args.public_url is not None else os.environ.get(PUBLIC_URL_ENV)
    return check_public_url(text) if text else None


def _prepare(db, args: argparse.Namespace, entries: list) -> None:
    """Tables, then (demo) the demo data, then the kiosks; refuse what a real platform must not run."""
    from backend import seed
    from backend.db import DatabaseUnavailable

    try:
        db.initialise()
    except DatabaseUnavailable as exc:
        # A local SQLite file that cannot be opened is bad input; a database server that
        # cannot be reached is a network failure.
        raise (UsageError if db.is_sqlite else DeviceFailure)(str(exc)) from None
    if args.demo:
        seed.seed_demo(db)
    else:
        if seed.holds_demo_data(db):
            raise UsageError("this database holds the demo kiosk or the demo people: use a new database "
                             "for a real platform, or start with --demo")
        seed.seed_catalogue(db)
    if entries:
        try:
            db.register_kiosks(entries, allow_weak=args.demo)
        except ValueError as exc:
            raise UsageError(f"cannot register the kiosks: {exc}") from None
    if db.active_kiosk_count() == 0:
        raise UsageError(NO_KIOSK)


def run_backend(args: argparse.Namespace) -> int:
    from backend.access import AccessPolicy
    from backend.server import bind_socket, build_app, serve_until_signalled, url_for

    if args.demo and not _is_loopback(args.host):
        raise UsageError("--demo serves the public demo token: listen on 127.0.0.1 or ::1 only")
    public_url = _public_url(args)
    if public_url is None and _is_wildcard(args.host):
        raise UsageError(f"listening on {args.host}, the platform needs --public-url (or {PUBLIC_URL_ENV}): "
                         "certificates print where phones reach it")
    entries = _registrations(args)
    if args.kiosk_token and not args.demo:
        print("kiosk backend: --kiosk-token shows tokens to every user of this machine (ps); "
              "prefer --kiosk-tokens-file", file=sys.stderr, flush=True)
    os.umask(0o077)  # the database and its journal: owner only
    db = _open_database(args.db) if args.db else None
    if not entries and not args.demo:  # a new database would hold no kiosk: refuse before creating it
        path = _default_path(args) if db is None else Path(db.url.database or "") if db.is_sqlite else None
        if path is not None and not path.expanduser().exists():
            raise UsageError(NO_KIOSK)
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    try:
        if db is None:  # the configured data folder is touched only once the port is ours
            db = _default_database(args)
        _prepare(db, args, entries)
        served = url_for(sock)

        def announce(url: str) -> None:
            print(f"kiosk backend: serving {url} (database {db.display_url()})", flush=True)

        app = build_app(db, public_url=public_url or served,
                        access_policy=AccessPolicy(subjects_per_hour=args.people_per_hour),
                        demo_payments=args.demo)   # the demo pay page and provider endpoint: demo only
        serve_until_signalled(app, sock, announce)
    finally:
        sock.close()
        if db is not None:
            db.dispose()
    return 0
