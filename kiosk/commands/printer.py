"""``kiosk device printer status|test|self-test`` and ``kiosk sim printer``: the receipt printer tools."""
from __future__ import annotations

import json
import math
import signal
import socket
import threading
from datetime import datetime

from kiosk.commands.device_cli import (add_options, check_timeout, device_actions, device_url, open_driver,
                                       report_self_test)
from kiosk.errors import DeviceFailure, UsageError

URL_HELP = ("printer URL: serial:///dev/ttyS0?baud=9600, tcp://HOST:9100, usb://VID:PID, file:///PATH, "
            "sim://, any pyserial URL; settings as query: profile=58mm, encoding=gbk, qr=raster "
            "(default: devices.receipt_printer with its encoding and paper width from the configuration)")


def register(parsers) -> None:
    sub = device_actions(parsers, "printer", help="ESC/POS receipt printer")

    status = sub.add_parser("status", help="ask the printer for its status (DLE EOT)")
    add_options(status, URL_HELP, timeout=10.0, json_help='print {"state", "online", "paper", "detail"}')
    status.set_defaults(func=cmd_status)

    test = sub.add_parser("test", help="print the test page (打印测试)")
    add_options(test, URL_HELP, timeout=60.0, json_help=None)
    test.set_defaults(func=cmd_test)

    self_test = sub.add_parser("self-test", help="check connection, status replies and encoding (prints nothing)")
    add_options(self_test, URL_HELP, timeout=15.0)
    self_test.set_defaults(func=cmd_self_test)

    sim = parsers.sim.add_parser("printer", help="simulate an ESC/POS receipt printer on TCP (tcp:// clients)")
    sim.add_argument("--listen", default="127.0.0.1:9100", metavar="HOST:PORT",
                     help="address to serve (default 127.0.0.1:9100; port 0 picks a free one)")
    sim.add_argument("--out", metavar="DIR", help="write every job to DIR/job-NNNN.png")
    sim.add_argument("--paper", type=int, choices=(58, 80), default=80, help="paper width in mm (384 or 576 dots)")
    sim.add_argument("--encoding", choices=("gb18030", "gbk", "utf-8"), default="gb18030",
                     help="bytes the printer expects in Chinese mode (default gb18030)")
    sim.add_argument("--font", choices=("gbk", "gb18030"), default="gbk",
                     help="what its font holds: gbk prints 4-byte GB18030 codes as garbage (default gbk)")
    sim.add_argument("--paper-cm", type=float, metavar="CM", help="paper on the roll (default endless)")
    sim.add_argument("--near-end-cm", type=float, default=20.0, metavar="CM",
                     help="paper left when the near-end sensor trips (default 20)")
    sim.add_argument("--chinese-default", action="store_true",
                     help="start in Chinese mode, as some printers are set to (default: FS & needed)")
    sim.add_argument("--control", metavar="HOST:PORT",
                     help="line-based control port: cover open|close, paper load [CM], paper out, "
                          "offline on|off, error KIND|none, silent on|off, reply HEX|off, status")
    sim.set_defaults(func=cmd_sim)


# -- device commands ----------------------------------------------------------------------------


def _printer(args):
    from devices.receipt_printer.driver import ReceiptPrinter
    from devices.receipt_printer.urls import with_settings

    check_timeout(args)
    url = device_url(args, "receipt_printer", "receipt printer", settings=lambda devices, url: with_settings(
        url, encoding=devices.receipt_printer_encoding, paper_mm=devices.receipt_printer_paper_mm))
    return open_driver(lambda: ReceiptPrinter(url, poll_interval=3600.0))


def cmd_status(args) -> int:
    printer = _printer(args)
    try:
        cond = printer.refresh(timeout=args.timeout)
    finally:
        printer.stop()
    if args.json:
        print(json.dumps(cond.as_dict(), ensure_ascii=False))
    else:
        print(f"{cond.state.value}: {cond.detail_en} ({cond.detail_zh})")
    if not cond.answered:
        raise DeviceFailure(f"printer did not answer ({args.url}): {cond.detail_en}")
    return 0


def cmd_test(args) -> int:
    from kiosk.receipts import TestPage, build

    printer = _printer(args)
    try:
        page = TestPage(kiosk_id=_kiosk_id(args), printed_at=datetime.now().replace(microsecond=0))
        job = build(page, printer.profile)
        result = printer.print_job(job, timeout=args.timeout)
    finally:
        printer.stop()
    if not result.ok:
        cond = result.error.condition
        if result.error.sent:
            raise DeviceFailure(f"test page sent but the printer stopped: {cond.detail_en} ({args.url})")
        raise DeviceFailure(f"test page not printed: {cond.detail_en} ({args.url})")
    where = ""
    sim = printer.simulator
    if sim is not None and sim.jobs and sim.jobs[-1].png_path:
        where = f", image {sim.jobs[-1].png_path}"
    state = result.after.state.value if result.after else "unknown"
    print(f"test page printed on {args.url} ({len(job)} bytes, printer {state}{where})")
    return 0


def cmd_self_test(args) -> int:
    printer = _printer(args)
    try:
        report = printer.self_test(timeout=args.timeout)
    finally:
        printer.stop()
    return report_self_test(report, args.url, args.json)


def _kiosk_id(args) -> str:
    try:
        from kiosk.config import load_config

        return load_config(args.config_path).kiosk.id
    except Exception:  # noqa: BLE001 - a test page must print even with a broken or absent configuration
        return socket.gethostname()


# -- simulator ------------------------------------------------------------------------------------


def cmd_sim(args) -> int:
    from devices.receipt_printer.sim_paper import SimulatorError
    from devices.receipt_printer.simulator import ControlServer, PrinterSimulator, SimulatorServer

    host, port = _host_port(args.listen, "--listen")
    control_at = _host_port(args.control, "--control") if args.control else None
    for name in ("paper_cm", "near_end_cm"):
        value = getattr(args, name)
        if value is not None and (not math.isfinite(value) or value < 0):
            raise UsageError(f"--{name.replace('_', '-')} must be a positive number of centimetres")
    try:
        sim = PrinterSimulator(paper_mm=args.paper, encoding=args.encoding, font_charset=args.font,
                               chinese_default=args.chinese_default, out_dir=args.out,
                               paper_cm=args.paper_cm, near_end_cm=args.near_end_cm)
    except SimulatorError as exc:
        raise DeviceFailure(str(exc)) from None
    if args.out:
        try:
            sim.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--out {args.out}: {exc.strerror or exc}") from None
    server = SimulatorServer(sim, host, port)
    control = ControlServer(sim, *control_at) if control_at else None
    try:
        server.start()
        if control:
            control.start()
    except OSError as exc:
        server.stop()
        raise DeviceFailure(f"cannot listen: {exc.strerror or exc}") from None
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    extra = f"; control on {control.address[0]}:{control.address[1]}" if control else ""
    print(f"receipt printer simulator on {server.url} ({args.paper} mm, {sim.dots} dots, {args.encoding}"
          f"{', jobs to ' + args.out if args.out else ''}{extra})", flush=True)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if control:
            control.stop()
        server.stop()
    return 0


def _host_port(text: str, option: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"{option} wants HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)
