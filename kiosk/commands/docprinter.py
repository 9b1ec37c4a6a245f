"""``kiosk device docprinter status|print|self-test``: the A4 certificate printer, for technicians.

Exit codes: 0 done (status: the print service answered, even if the printer is stopped — the
output says so), 2 bad usage or a file that is not a PDF, 4 the print service did not answer, the
queue does not exist, the self-test failed, or the job did not complete.
"""
from __future__ import annotations

import json
from pathlib import Path

from kiosk.commands.device_cli import (add_options, check_timeout, device_actions, device_url, open_driver,
                                       report_self_test)
from kiosk.errors import DeviceFailure, UsageError

URL_HELP = ("printer URL: cups://QUEUE, cups://QUEUE?server=HOST:PORT (or ?server=/path/cups.sock; "
            "CUPS_SERVER is honoured too), sim:// (default: devices.document_printer from the configuration)")


def register(parsers) -> None:
    sub = device_actions(parsers, "docprinter", help="A4 document printer (CUPS queue) for certificates")

    status = sub.add_parser("status", help="ask the queue for its state and reasons")
    add_options(status, URL_HELP, timeout=15.0)
    status.set_defaults(func=cmd_status)

    print_ = sub.add_parser("print", help="print a PDF and wait until the job completed")
    print_.add_argument("file", metavar="FILE.pdf", help="the PDF to print")
    add_options(print_, URL_HELP, timeout=120.0, timeout_help="cancel the job if it has not completed by then",
                json_help="print the job result as one JSON object")
    print_.add_argument("--title", default="kiosk-test-print",
                        help="job title kept by CUPS (never a name or an ID number)")
    print_.set_defaults(func=cmd_print)

    self_test = sub.add_parser("self-test", help="check the print service, the queue and its state (prints nothing)")
    add_options(self_test, URL_HELP, timeout=20.0)
    self_test.set_defaults(func=cmd_self_test)


def _printer(args):
    from devices.document_printer.driver import DocumentPrinter

    check_timeout(args)
    url = device_url(args, "document_printer", "document printer")
    return open_driver(lambda: DocumentPrinter(url, poll_interval=3600.0))


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
        raise DeviceFailure(f"print service did not answer ({printer.spec.display}): {cond.message}")
    if cond.failure_code == "missing":
        raise DeviceFailure(f"no queue {printer.spec.queue!r} on the print service")
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
        result = printer.print_job(data, args.title, timeout=args.timeout)
    finally:
        printer.stop()
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    if not result.completed:
        sent = "sent but not completed" if result.sent else "not sent"
        detail = f" [{result.detail}]" if result.detail else ""
        raise DeviceFailure(f"{path.name} {sent}: {result.reason_en} ({result.reason_zh}){detail}")
    if not args.json:
        print(f"printed {path.name} on {printer.spec.display}: job {result.job_id} completed, "
              f"{result.pages} page(s), {result.elapsed:.2f} s")
    return 0


def cmd_self_test(args) -> int:
    printer = _printer(args)
    try:
        report = printer.self_test(timeout=args.timeout)
    finally:
        printer.stop()
    return report_self_test(report, printer.spec.display, args.json)
