"""``kiosk device docprinter status|print|self-test``: the A4 certificate printer, for technicians.

Exit codes: 0 done (status: the print service answered, even if the printer is stopped — the
output says so), 2 bad usage or a file that is not a PDF, 4 the print service did not answer, the
queue does not exist, the self-test failed, or the job did not complete.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from kiosk.errors import DeviceFailure, UsageError

URL_HELP = ("printer URL: cups://QUEUE, cups://QUEUE?server=HOST:PORT (or ?server=/path/cups.sock; "
            "CUPS_SERVER is honoured too), sim:// (default: devices.document_printer from the configuration)")


def register(parsers) -> None:
    device = parsers.device.add_parser("docprinter", help="A4 document printer (CUPS queue) for certificates")
    sub = device.add_subparsers(dest="docprinter_command", metavar="ACTION", parser_class=type(device))
    sub.required = True

    status = sub.add_parser("status", help="ask the queue for its state and reasons")
    status.add_argument("--url", help=URL_HELP)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.add_argument("--timeout", type=float, default=15.0, metavar="SECONDS", help="give up after (default 15)")
    status.set_defaults(func=cmd_status)

    print_ = sub.add_parser("print", help="print a PDF and wait until the job completed")
    print_.add_argument("file", metavar="FILE.pdf", help="the PDF to print")
    print_.add_argument("--url", help=URL_HELP)
    print_.add_argument("--title", default="kiosk-test-print",
                        help="job title kept by CUPS (never a name or an ID number)")
    print_.add_argument("--json", action="store_true", help="print the job result as one JSON object")
    print_.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                        help="cancel the job if it has not completed by then (default 120)")
    print_.set_defaults(func=cmd_print)

    self_test = sub.add_parser("self-test", help="check the print service, the queue and its state (prints nothing)")
    self_test.add_argument("--url", help=URL_HELP)
    self_test.add_argument("--json", action="store_true", help="print one JSON object")
    self_test.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS", help="give up after (default 20)")
    self_test.set_defaults(func=cmd_self_test)


def _printer(args):
    from devices.document_printer.driver import DocumentPrinter
    from devices.document_printer.urls import DocPrinterUrlError

    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if not args.url:
        from kiosk.config import load_config

        args.url = load_config(args.config_path).devices.document_printer
    try:
        return DocumentPrinter(args.url, status_interval=3600.0)
    except DocPrinterUrlError as exc:
        raise UsageError(str(exc)) from None


def cmd_status(args) -> int:
    printer = _printer(args)
    try:
        cond = printer.refresh(timeout=args.timeout)
    finally:
        printer.stop()
    zh, en = cond.detail
    if args.json:
        print(json.dumps(cond.as_dict(), ensure_ascii=False))
    else:
        reasons = ", ".join(cond.reasons) or "none"
        print(f"{cond.state.value}: {en} ({zh}); reasons: {reasons}; "
              f"{'accepting' if cond.accepting else 'not accepting'} jobs")
    if not cond.answered:
        raise DeviceFailure(f"print service did not answer ({printer.url.display}): {cond.message}")
    if cond.failure_code == "missing":
        raise DeviceFailure(f"no queue {printer.url.queue!r} on the print service")
    return 0


def cmd_print(args) -> int:
    from devices.document_printer.pdf import looks_like_pdf

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    if not looks_like_pdf(data):
        raise UsageError(f"{args.file} is not a PDF")
    printer = _printer(args)
    try:
        result = printer.print_pdf(data, args.title, timeout=args.timeout)
    finally:
        printer.stop()
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    if not result.completed:
        sent = "sent but not completed" if result.sent else "not sent"
        detail = f" [{result.detail}]" if result.detail else ""
        raise DeviceFailure(f"{path.name} {sent}: {result.reason_en} ({result.reason_zh}){detail}")
    if not args.json:
        print(f"printed {path.name} on {printer.url.display}: job {result.job_id} completed, "
              f"{result.pages} page(s), {result.elapsed:.2f} s")
    return 0


def cmd_self_test(args) -> int:
    printer = _printer(args)
    try:
        report = printer.self_test(timeout=args.timeout)
    finally:
        printer.stop()
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        for check in report.checks:
            print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    if not report.ok:
        failed = next(c for c in report.checks if not c.ok)
        raise DeviceFailure(f"self-test failed at {failed.name}: {failed.detail} ({printer.url.display})")
    return 0
