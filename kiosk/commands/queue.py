"""``kiosk queue …``: the technician's view of the upload outbox (enqueue, run, status, list, retry, purge-done).

Every action takes ``--data-dir`` and ``--key-file``; they default to ``paths.data_dir/outbox`` and
``paths.key_file`` from the configuration. Input is checked before the outbox is opened, so bad
JSON or a missing file leaves nothing behind.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import stat
import sys
import time
from pathlib import Path

from kiosk.errors import DeviceFailure, NothingFound, UsageError

MAX_JSON_CHARS = 1024 * 1024          # the platform refuses bigger JSON bodies
MAX_ATTACHMENT_BYTES = 64 * 1024 * 1024  # all files of one item together; the platform's multipart limit
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def cli_path(text: str) -> Path:
    """A path argument: no control characters, ``~`` expanded (an unknown user is an error, not a folder)."""
    from kiosk.config import shown_path

    if _CONTROL.search(text):
        raise argparse.ArgumentTypeError(f"path {shown_path(text, 60)} contains control characters")
    try:
        return Path(text).expanduser()
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"path {shown_path(text, 60)} names the home folder of an unknown user") \
            from None


def register(parsers) -> None:
    queue = parsers.top.add_parser("queue", help="the upload outbox: enqueue, run, status, list, retry, purge-done")
    actions = queue.add_subparsers(dest="queue_action", metavar="ACTION", parser_class=type(queue))
    actions.required = True

    def action(name: str, help_text: str, handler):
        parser = actions.add_parser(name, help=help_text)
        parser.add_argument("--data-dir", type=cli_path, default=None,
                            help="outbox folder (default: paths.data_dir/outbox from the configuration)")
        parser.add_argument("--key-file", type=cli_path, default=None,
                            help="outbox key file, outside the data folder (default: paths.key_file)")
        parser.set_defaults(func=handler)
        return parser

    p = action("enqueue", "store one request durably and print its id", _enqueue)
    p.add_argument("--path", required=True, help="platform path, e.g. /api/v1/ratings")
    p.add_argument("--json", default=None, help="the JSON body")
    p.add_argument("--file", action="append", default=[], type=cli_path,
                   help=f"attach a file (repeatable; {MAX_ATTACHMENT_BYTES >> 20} MiB in all)")
    p.add_argument("--method", default="POST", help="HTTP method (default POST)")

    p = action("run", "send queued items to the platform", _run)
    p.add_argument("--base-url", default=None, help="platform base URL (default: platform.base_url)")
    p.add_argument("--token", default=None, help="bearer token (default: platform.token)")
    p.add_argument("--until-empty", action="store_true", help="stop when nothing is left to send")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="with --until-empty: give up (exit 4, items kept) after this many seconds (default 60)")

    p = action("status", "counts per state, oldest pending item, bytes stored", _status)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = action("list", "list items (no personal data: bodies stay encrypted)", _list)
    p.add_argument("--state", choices=("pending", "inflight", "done", "dead"), action="append",
                   help="only items in this state (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = action("retry", "send a dead item again (or all dead items with --dead)", _retry)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("item_id", nargs="?", metavar="ID", help="item id from `kiosk queue list`")
    which.add_argument("--dead", action="store_true", help="every dead item")

    action("purge-done", "delete the records of delivered items now", _purge_done)


# ------------------------------------------------------------------------- opening

class _Opened:
    """The outbox and the configuration values a handler needs, with errors turned into one line."""

    def __init__(self, args, need_platform: bool = False) -> None:
        from kiosk.config import load_config
        from offline_queue import KeyFileError, Outbox, OutboxError

        cfg = load_config(args.config_path)
        self.cfg = cfg
        data_dir = args.data_dir or cfg.paths.data_dir / "outbox"
        key_file = args.key_file or cfg.paths.key_file
        try:
            self.outbox = Outbox(data_dir, key_file=key_file, quota_bytes=cfg.outbox.quota_mb * 1024 * 1024,
                                 retention_s=cfg.outbox.retention_days * 86400.0)
        except KeyFileError as exc:
            raise UsageError(str(exc)) from None
        except OutboxError as exc:
            raise DeviceFailure(str(exc)) from None
        except OSError as exc:
            raise DeviceFailure(f"cannot open the outbox in {data_dir}: {exc.strerror or exc}") from None
        if self.outbox.recovered_from is not None:
            print(f"kiosk: warning: the outbox database {self.outbox.recovery_reason}; it was moved aside to "
                  f"{self.outbox.recovered_from} and a fresh one was started", file=sys.stderr)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.outbox.close()


def _no_nan(constant: str):
    raise ValueError(f"{constant} is not allowed in JSON")


# ------------------------------------------------------------------------- handlers

def _enqueue(args) -> int:
    from offline_queue import InvalidItem, OutboxFull
    from offline_queue.items import check_method, check_path

    from kiosk.config import shown_path

    try:
        check_method(args.method)
        check_path(args.path)
    except InvalidItem as exc:
        raise UsageError(shown_path(exc, 200)) from None
    body = _json_body(args.json) if args.json is not None else None
    files = _read_files(args.file)  # everything is read and checked before the outbox is opened
    with _Opened(args) as opened:
        try:
            item_id = opened.outbox.put(args.method, args.path, json=body, files=files)
        except InvalidItem as exc:
            raise UsageError(shown_path(exc, 200)) from None
        except OutboxFull as exc:
            raise DeviceFailure(str(exc)) from None
        except OSError as exc:
            raise DeviceFailure(f"could not store the item, nothing was queued: {exc.strerror or exc}") from None
    print(item_id)
    return 0


def _json_body(text: str):
    """``--json`` parsed; too long, too deep, NaN or a number of thousands of digits is one line."""
    if len(text) > MAX_JSON_CHARS:
        raise UsageError(f"--json is longer than {MAX_JSON_CHARS >> 20} MiB")
    try:
        return json.loads(text, parse_constant=_no_nan)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--json is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise UsageError("--json is nested too deeply") from None
    except ValueError as exc:
        if "digits" in str(exc):  # the interpreter's limit on converting long integers
            raise UsageError("--json is not valid JSON: a number has too many digits") from None
        raise UsageError(f"--json is not valid JSON: {exc}") from None


def _read_files(paths: list[Path]) -> list[tuple[str, bytes]]:
    """Each ``--file`` as (name, bytes): regular files only, sizes checked before anything is read."""
    from kiosk.config import read_bounded, shown_path

    total = 0
    for path in paths:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise UsageError(f"file not found: {shown_path(path)}") from None
        except OSError as exc:
            raise UsageError(f"cannot read file {shown_path(path)}: {exc.strerror or exc}") from None
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"not a file: {shown_path(path)}")
        if not stat.S_ISREG(info.st_mode):
            raise UsageError(f"{shown_path(path)}: not a regular file (a device, pipe or socket)")
        if info.st_size > MAX_ATTACHMENT_BYTES:
            raise UsageError(f"{shown_path(path)}: larger than {MAX_ATTACHMENT_BYTES >> 20} MiB, "
                             f"the most one item may carry")
        total += info.st_size
    if total > MAX_ATTACHMENT_BYTES:
        raise UsageError(f"the files together are larger than {MAX_ATTACHMENT_BYTES >> 20} MiB, "
                         f"the most one item may carry")
    files, left = [], MAX_ATTACHMENT_BYTES
    for path in paths:  # bounded again while reading: a file may grow, or lie about its size (/proc)
        data = read_bounded(path, left)
        left -= len(data)
        files.append((path.name, data))
    return files


def _run(args) -> int:
    from offline_queue import OutboxError, Sender

    with _Opened(args) as opened:
        base_url = args.base_url or opened.cfg.platform.base_url
        if not base_url:
            raise UsageError("no platform base URL: give --base-url or set platform.base_url in the configuration")
        token = args.token if args.token is not None else (opened.cfg.platform.token or None)
        try:
            sender = Sender(opened.outbox, base_url, token, concurrency=opened.cfg.outbox.concurrency)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        try:
            if not args.until_empty:
                # Ctrl-C or SIGTERM asks the loop to finish its attempt and return, rather than raising
                # KeyboardInterrupt into whatever it is doing (a commit, a lock, a request)
                import signal

                previous = {sig: signal.signal(sig, lambda signum, frame: sender.request_stop())
                            for sig in (signal.SIGINT, signal.SIGTERM)}
                print(f"sending the outbox to {sender.base_url}; Ctrl-C to stop", file=sys.stderr)
                try:
                    sender.run_forever()
                finally:
                    for sig, handler in previous.items():
                        signal.signal(sig, handler)
                return 0
            emptied = sender.run_until_empty(args.timeout)
        except OutboxError as exc:
            raise DeviceFailure(str(exc)) from None
        finally:
            sender.stop()
        counts = opened.outbox.status()
        stats = sender.stats
        print(f"sent {stats['sent']}, dead {counts['dead']}, pending {counts['pending'] + counts['inflight']}")
        if not emptied:
            raise DeviceFailure(f"{counts['pending'] + counts['inflight']} items could not be sent within "
                                f"{args.timeout:g} s (last error: {sender.last_error}); they stay queued")
        if counts["dead"]:
            print(f"kiosk: warning: {counts['dead']} dead items need attention: `kiosk queue list --state dead`",
                  file=sys.stderr)
    return 0


def _status(args) -> int:
    with _Opened(args) as opened:
        counts = opened.outbox.status()
    if args.json:
        print(json.dumps(counts))
        return 0
    age = counts["oldest_pending_age_s"]
    for state in ("pending", "inflight", "done", "dead"):
        print(f"{state:<10}{counts[state]}")
    print(f"{'oldest':<10}{'-' if age is None else _duration(age)}")
    print(f"{'stored':<10}{_size(counts['bytes'])}")
    return 0


def _list(args) -> int:
    with _Opened(args) as opened:
        items = opened.outbox.list(states=args.state)
        now = opened.outbox.clock()
    if args.json:
        print(json.dumps([item.as_dict() for item in items], ensure_ascii=False))
        return 0
    if not items:
        print("no items", file=sys.stderr)
        return 0
    print(f"{'ID':<36}  {'STATE':<8}  {'TRIES':>5}  {'CREATED':<19}  REQUEST / NOTE")
    for item in items:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(item.created_at))
        note = item.last_error or (f"HTTP {item.last_status}" if item.last_status else "")
        if item.next_attempt_at is not None and item.next_attempt_at > now:
            note = f"{note}; next try in {_duration(item.next_attempt_at - now)}".lstrip("; ")
        files = f" +{item.file_count} files" if item.file_count else ""
        print(f"{item.id:<36}  {item.state.value:<8}  {item.attempts:>5}  {created:<19}  "
              f"{item.method} {item.path}{files}{'  — ' + note if note else ''}")
    return 0


def _retry(args) -> int:
    from offline_queue import InvalidItem, ItemNotFound

    with _Opened(args) as opened:
        if args.dead:
            print(f"{opened.outbox.retry_dead()} dead items will be sent again")
            return 0
        try:
            opened.outbox.retry(args.item_id)
        except ItemNotFound as exc:
            raise NothingFound(str(exc)) from None
        except InvalidItem as exc:
            raise UsageError(str(exc)) from None
    print(f"item {args.item_id} will be sent again")
    return 0


def _purge_done(args) -> int:
    with _Opened(args) as opened:
        print(f"removed {opened.outbox.purge_done()} delivered items")
    return 0


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1048576:.1f} MiB"
