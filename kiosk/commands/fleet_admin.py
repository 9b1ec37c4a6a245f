"""``kiosk fleet admin``: accounts of the fleet dashboard (``/admin/`` on the platform).

``add NAME`` and ``passwd NAME`` read the password from ``--password-file`` or standard input
(asked twice on a terminal), never from the command line, where other users and the shell history
would see it. ``remove NAME`` deletes an account and its sessions; ``list`` shows the accounts.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Callable

from kiosk.errors import UsageError

MAX_PASSWORD_BYTES = 4096


def register(sub: argparse._SubParsersAction, open_fleet: Callable) -> None:
    """Add ``admin`` to the ``kiosk fleet`` actions; ``open_fleet(args)`` opens the platform's fleet."""
    admin = sub.add_parser("admin", help="accounts of the fleet dashboard (/admin/ on the platform)")
    actions = admin.add_subparsers(dest="admin_command", metavar="ACTION")
    actions.required = True
    for name, text in (("add", "create an account (password from --password-file or stdin)"),
                       ("passwd", "set a new password (ends the account's sessions)")):
        p = actions.add_parser(name, help=text, allow_abbrev=False)
        p.add_argument("name", help="account name: letters, digits, _ . @ -")
        p.add_argument("--password-file", default=None, metavar="PATH",
                       help="read the password from the first line of this file (default: stdin)")
        # Only to refuse it: a password on the command line is seen by others and kept in history.
        p.add_argument("--password", dest="password_in_argv", default=None, help=argparse.SUPPRESS)
        p.set_defaults(func=cmd_admin, open_fleet=open_fleet)
    remove = actions.add_parser("remove", help="delete an account and its sessions")
    remove.add_argument("name")
    remove.set_defaults(func=cmd_admin, open_fleet=open_fleet)
    listing = actions.add_parser("list", help="the accounts and when each last signed in")
    listing.set_defaults(func=cmd_admin, open_fleet=open_fleet)


def read_password(path: str | None) -> str:
    """The password: first line of ``path`` or of stdin; asked twice when stdin is a terminal."""
    if path is None and sys.stdin is not None and sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise UsageError("the two passwords differ")
        return first
    try:
        if path is None:
            raw = sys.stdin.buffer.read(MAX_PASSWORD_BYTES + 1) if sys.stdin is not None else b""
        else:
            with open(Path(path), "rb") as handle:
                raw = handle.read(MAX_PASSWORD_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_PASSWORD_BYTES:
        raise UsageError(f"password: at most {MAX_PASSWORD_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("password: not UTF-8 text") from None
    line = text.splitlines()[0] if text.splitlines() else ""
    if not line:
        raise UsageError("password: none given (pipe it on stdin or use --password-file)")
    return line


def cmd_admin(args: argparse.Namespace) -> int:
    from backend.db import as_utc
    from backend.fleet.admins import AdminError, Admins, check_name

    try:
        if args.admin_command in ("add", "passwd"):
            if args.password_in_argv is not None:
                raise UsageError("--password: never give a password on the command line; "
                                 "pipe it on stdin or use --password-file")
            check_name(args.name)
            password = read_password(args.password_file)
            admins = Admins(args.open_fleet(args).db)
            if args.admin_command == "add":
                admins.add(args.name, password)
                print(f"admin {args.name} created; sign in at <platform URL>/admin/")
            else:
                admins.set_password(args.name, password)
                print(f"password of {args.name} changed; its sessions are closed")
        elif args.admin_command == "remove":
            Admins(args.open_fleet(args).db).remove(args.name)
            print(f"admin {args.name} removed")
        else:
            names = Admins(args.open_fleet(args).db).names()
            if not names:
                print("no admin accounts (create one with 'kiosk fleet admin add NAME')")
            for name, last in names:
                print(f"{name}\t{'last sign-in ' + as_utc(last).isoformat() if last else 'never signed in'}")
    except AdminError as exc:
        raise UsageError(str(exc)) from None
    return 0
