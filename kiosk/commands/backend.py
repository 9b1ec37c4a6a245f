"""``kiosk backend``: serve the reference platform API (DESIGN.md §5) until stopped.

Order matters for "no partial state": the URL is checked first, then the port is bound, and only
then is the database created or changed, so a bad option leaves nothing behind.
"""
from __future__ import annotations

import argparse
import re

from kiosk.errors import DeviceFailure, UsageError

KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, not {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, not {port}")
    return port


def _kiosk_token(text: str) -> tuple[str, str]:
    kiosk_id, sep, token = text.partition("=")
    if not sep or not KIOSK_ID.match(kiosk_id):
        raise argparse.ArgumentTypeError("expected ID=TOKEN with an ID of letters, digits, '.', '_', '-'")
    if not token or any(c.isspace() for c in token):
        raise argparse.ArgumentTypeError(f"the token for {kiosk_id} must be non-empty, without spaces")
    return kiosk_id, token


def register(parsers) -> None:
    p = parsers.top.add_parser("backend", help="serve the reference platform API (catalogue, uploads)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8750, help="port (default 8750; 0 picks a free one)")
    p.add_argument("--db", default=None, metavar="URL",
                   help="sqlite:///PATH or postgresql://USER:PASS@HOST/DB "
                        "(default: backend.sqlite3 in the configured data folder)")
    p.add_argument("--kiosk-token", action="append", default=[], type=_kiosk_token, metavar="ID=TOKEN",
                   help="register a kiosk or replace its token (repeatable)")
    p.set_defaults(func=run_backend)


def _open_database(url: str):
    from backend.db import Database, DatabaseURLError

    try:
        return Database(url)
    except DatabaseURLError as exc:
        raise UsageError(str(exc)) from None


def _default_database(args: argparse.Namespace):
    """backend.sqlite3 in the configured data folder, which is created if need be."""
    from kiosk.config import load_config

    data_dir = load_config(args.config_path).paths.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create data folder {data_dir}: {exc.strerror}") from None
    return _open_database(f"sqlite:///{data_dir / 'backend.sqlite3'}")


def run_backend(args: argparse.Namespace) -> int:
    from backend.db import DatabaseUnavailable
    from backend.server import bind_socket, build_app, serve_until_signalled

    db = _open_database(args.db) if args.db else None
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    try:
        if db is None:  # the configured data folder is touched only once the port is ours
            db = _default_database(args)
        try:
            db.initialise()
        except DatabaseUnavailable as exc:
            # A local SQLite file that cannot be opened is bad input; a database server that
            # cannot be reached is a network failure.
            raise (UsageError if db.is_sqlite else DeviceFailure)(str(exc)) from None
        if args.kiosk_token:
            try:
                db.register_kiosks(dict(args.kiosk_token))
            except ValueError as exc:
                raise UsageError(f"--kiosk-token: {exc}") from None

        def announce(url: str) -> None:
            print(f"kiosk backend: serving {url} (database {db.display_url()})", flush=True)

        serve_until_signalled(build_app(db), sock, announce)
    finally:
        sock.close()
        if db is not None:
            db.dispose()
    return 0
