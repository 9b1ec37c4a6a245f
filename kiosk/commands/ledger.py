"""``kiosk ledger verify|show``: check and read the hash-chained print ledger.

``verify`` exits 0 when the chain (and, with the ledger key, the sealed head) is intact, 3 when
there is no ledger, and 4 with one line naming the first entry that cannot be trusted when it has
been tampered with or damaged. Exit 4 is the contract's "failure" code: a broken ledger is a
failed piece of the kiosk that needs a technician, like a device that stopped answering.
"""
from __future__ import annotations

import json
from pathlib import Path

from kiosk.errors import DeviceFailure, NothingFound, UsageError


def register(parsers) -> None:
    ledger = parsers.top.add_parser("ledger", help="the print ledger: verify its hash chain, show entries")
    sub = ledger.add_subparsers(dest="ledger_command", metavar="ACTION", parser_class=type(ledger))
    sub.required = True

    verify = sub.add_parser("verify", help="check the hash chain and the sealed head; exit 4 when tampered")
    _common(verify)
    verify.set_defaults(func=cmd_verify)

    show = sub.add_parser("show", help="list the entries (no personal data is stored in them)")
    _common(show)
    show.add_argument("--last", type=int, metavar="N", help="only the last N entries")
    show.set_defaults(func=cmd_show)


def _common(parser) -> None:
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="kiosk data folder holding ledger/ (default: paths.data_dir from the configuration)")
    parser.add_argument("--key-file", type=Path, metavar="FILE",
                        help="ledger key, to check the sealed head (default: ledger.key beside paths.key_file)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _ledger(args):
    from kiosk.ledger import LedgerError, PrintLedger, ledger_key_file

    data_dir, key_file = args.data_dir, args.key_file
    if data_dir is None or key_file is None:
        from kiosk.config import load_config

        cfg = load_config(args.config_path)
        data_dir = data_dir or cfg.paths.data_dir
        key_file = key_file or ledger_key_file(cfg.paths.key_file)
    if Path(data_dir).exists() and not Path(data_dir).is_dir():
        raise UsageError(f"--data-dir {data_dir} is not a folder")
    try:
        ledger = PrintLedger(data_dir, key_file)
    except LedgerError as exc:
        raise UsageError(str(exc)) from None
    if not ledger.exists():
        raise NothingFound(f"no print ledger in {ledger.folder}")
    return ledger


def cmd_verify(args) -> int:
    from kiosk.ledger import LedgerError

    ledger = _ledger(args)
    try:
        report = ledger.verify()
    except LedgerError as exc:  # an unsafe key file
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise DeviceFailure(f"cannot read {ledger.path}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    if not report.ok:
        raise DeviceFailure(f"print ledger broken at {report.problem.message}")
    if not args.json:
        sealed = "head seal checked" if report.sealed else "head seal NOT checked"
        note = f"; {report.note}" if report.note else ""
        print(f"print ledger intact: {report.entries} entries, head {report.head_hash[:16]}…, {sealed}{note}")
    return 0


def cmd_show(args) -> int:
    if args.last is not None and args.last < 1:
        raise UsageError("--last must be 1 or more")
    ledger = _ledger(args)
    try:
        entries = ledger.entries()
    except OSError as exc:
        raise DeviceFailure(f"cannot read {ledger.path}: {exc.strerror or exc}") from None
    numbered = list(enumerate(entries, 1))
    if args.last is not None:
        numbered = numbered[-args.last:]
    if args.json:
        print(json.dumps([e if e is not None else {"line": n, "unreadable": True} for n, e in numbered],
                         ensure_ascii=False))
        return 0
    print(f"{'seq':>5}  {'at':<29}  {'certificate':<20}  {'pages':>5}  {'result':<22}  {'printer':<16}  subject")
    for number, e in numbered:
        if e is None:
            print(f"{'?':>5}  line {number} is not a ledger entry")
            continue
        print(f"{e.get('seq', '?')!s:>5}  {e.get('at', '')!s:<29}  {e.get('certificate_id', '')!s:<20}  "
              f"{e.get('pages', '')!s:>5}  {e.get('result', '')!s:<22}  {e.get('printer', '')!s:<16}  "
              f"{str(e.get('subject', ''))[:12]}…")
    return 0
