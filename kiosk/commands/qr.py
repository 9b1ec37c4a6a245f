"""``kiosk device qr decode|read|status|self-test`` and ``kiosk sim qr``: the technician's QR tools."""
from __future__ import annotations

import json
import math
import queue
import signal
import sys
import threading
import time
import unicodedata
from typing import Any

from kiosk.commands.device_cli import (add_options, check_timeout, device_actions, device_url, open_driver,
                                       report_self_test, report_status)
from kiosk.errors import DeviceFailure, NothingFound, UsageError

URL_HELP = ("scanner URL, e.g. serial:///dev/ttyACM0?baud=115200, socket://127.0.0.1:7002, "
            "hid:///dev/hidraw0, file:///path/images/, sim://?code=TEXT "
            "(default: devices.qr from the configuration)")


def register(parsers) -> None:
    sub = device_actions(parsers, "qr", help="QR / barcode scanner: decode images, read a scanner")

    decode = sub.add_parser("decode", help="decode the codes in image files")
    decode.add_argument("images", nargs="+", metavar="IMAGE")
    decode.add_argument("--json", action="store_true", help="one JSON object per image, one per line")
    decode.add_argument("--engine", choices=("zxing", "zbar"), default="zxing", help="decoder (default zxing)")
    decode.add_argument("--formats", default="QRCode", metavar="LIST",
                        help="comma-separated formats to look for (default QRCode; e.g. QRCode,Code128)")
    decode.set_defaults(func=cmd_decode)

    read = sub.add_parser("read", help="wait for a code from a scanner and print it")
    add_options(read, URL_HELP, timeout=30.0, timeout_help="how long to wait for a code",
                json_help="one JSON object per code, one per line")
    read.add_argument("--count", type=int, default=1, metavar="N", help="codes to read before exiting (default 1)")
    read.set_defaults(func=cmd_read)

    status = sub.add_parser("status", help="open the scanner and report its state")
    add_options(status, URL_HELP)
    status.set_defaults(func=cmd_status)

    test = sub.add_parser("self-test", help="open the scanner and check it (and the decoder for cameras)")
    add_options(test, URL_HELP)
    test.set_defaults(func=cmd_self_test)

    sim = parsers.sim.add_parser("qr", help="simulate a serial QR scanner on a TCP socket or a pty")
    where = sim.add_mutually_exclusive_group()
    where.add_argument("--listen", default=None, metavar="HOST:PORT",
                       help="address to serve (default 127.0.0.1:7002; port 0 picks a free one)")
    where.add_argument("--pty", action="store_true", help="serve on a new pty and print its path")
    sim.add_argument("--terminator", choices=("cr", "lf", "crlf", "none"), default="cr",
                     help="suffix after each code (default cr)")
    sim.add_argument("--encoding", choices=("utf-8", "gb18030"), default="utf-8", help="text encoding (default utf-8)")
    sim.add_argument("--aim", action="store_true", help="prefix each code with its AIM identifier (]Q1)")
    sim.add_argument("--mode", default="", metavar="MODES", help="misbehaviour, comma-separated: chunked, slow, noisy")
    sim.add_argument("--code", action="append", default=[], metavar="TEXT",
                     help="a code to scan once a host is connected (repeatable); lines on stdin are scanned too")
    sim.add_argument("--every", type=float, default=None, metavar="SECONDS", help="rescan the --code list this often")
    sim.set_defaults(func=cmd_sim)


# -- decode ------------------------------------------------------------------------------------
def cmd_decode(args) -> int:
    from devices.qr.engines import FrameDecoder, ImageError

    formats = [name.strip() for name in args.formats.split(",") if name.strip()]
    try:
        decoder = FrameDecoder(args.engine, formats)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except ImportError as exc:
        raise DeviceFailure(f"the {args.engine} decoder is not installed ({exc})") from None
    found = readable = 0
    for path in args.images:
        try:
            codes, ms = decoder.decode_file(path)
        except ImageError as exc:
            _print_decoded(args, {"file": path, "codes": [], "error": str(exc)})
            continue
        readable += 1
        found += bool(codes)
        _print_decoded(args, {"file": path, "codes": [c.as_dict() for c in codes], "ms": round(ms, 2)})
    if not readable:
        raise UsageError("no readable image among the files given")
    if not found:
        raise NothingFound("no code found" + (" in any image" if len(args.images) > 1 else ""))
    return 0


def _print_decoded(args, record: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(record, ensure_ascii=False), flush=True)
        return
    name = printable(record["file"])
    if "error" in record:
        print(f"{name}: error: {record['error']}", flush=True)
    elif not record["codes"]:
        print(f"{name}: no code ({record['ms']:.1f} ms)", flush=True)
    for code in record["codes"]:
        print(f"{name}: {code['format']}: {printable(code['text'])} ({record['ms']:.1f} ms)", flush=True)


def printable(text: str) -> str:
    """A code's text made safe for a terminal: control and format characters (escape sequences,
    bidi overrides) are shown as \\uXXXX instead of acting on the technician's terminal."""
    return "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)


# -- read / status / self-test -----------------------------------------------------------------
def cmd_read(args) -> int:
    from devices.base import DeviceState, StatusChanged
    from devices.qr.events import CodeScanned

    check_timeout(args)
    if args.count < 1:
        raise UsageError("--count must be at least 1")
    scanner = _scanner(args)
    events: queue.Queue = queue.Queue()
    scanner.subscribe(events.put)
    base_url = _platform_base_url(args)
    got = 0
    deadline = time.monotonic() + args.timeout
    try:
        scanner.start()
        status = scanner.wait_settled(min(args.timeout, 15.0))
        if status.state in (DeviceState.OFFLINE, DeviceState.ERROR):
            raise DeviceFailure(status.detail_en)
        ready_seen = False  # status events queued before the scanner settled are history
        while got < args.count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                event = events.get(timeout=left)
            except queue.Empty:
                break
            if isinstance(event, StatusChanged):
                if event.status.state == DeviceState.READY:
                    ready_seen = True
                elif ready_seen and event.status.state in (DeviceState.OFFLINE, DeviceState.ERROR):
                    raise DeviceFailure(event.status.detail_en)
                continue
            if isinstance(event, CodeScanned):
                got += 1
                _print_code(args, event, base_url)
    finally:
        scanner.stop()
    if got == 0:
        raise NothingFound(f"no code scanned within {args.timeout:g} s ({args.url})")
    if got < args.count:
        raise NothingFound(f"only {got} of {args.count} codes scanned within {args.timeout:g} s ({args.url})")
    return 0


def _print_code(args, event, base_url: str | None) -> None:
    from kiosk.qr_content import interpret

    meaning = interpret(event.text, base_url)
    if args.json:
        print(json.dumps({"text": event.text, "symbology": event.symbology, "source": event.source,
                          "meaning": {"kind": meaning.kind, "receipt_no": meaning.receipt_no,
                                      "message_zh": meaning.message_zh, "message_en": meaning.message_en}},
                         ensure_ascii=False), flush=True)
    else:
        extra = f" → receipt {meaning.receipt_no}" if meaning.receipt_no else ""
        print(f"{event.symbology}: {printable(event.text)}{extra}", flush=True)


def cmd_status(args) -> int:
    scanner = _scanner(args)
    try:
        scanner.start()
        status = scanner.wait_settled(10.0)
    finally:
        scanner.stop()
    return report_status({"url": args.url, **status.as_dict()}, status, args.json)


def cmd_self_test(args) -> int:
    scanner = _scanner(args)
    try:
        scanner.start()
        scanner.wait_settled(10.0)
        if scanner.spec.kind in ("camera", "file"):  # let a frame or two through
            time.sleep(min(1.0, 3.0 / scanner.spec.fps))
        report = scanner.self_test()
    finally:
        scanner.stop()
    return report_self_test(report, args.url, args.json)


def _scanner(args):
    from devices.qr import QrScanner

    url = device_url(args, "qr", "QR scanner")
    scanner = open_driver(lambda: QrScanner(url))
    if scanner.spec.kind == "camera" and not scanner.spec.target:
        raise UsageError("camera:// needs a device here, e.g. camera:///dev/video0 or camera://0")
    return scanner


def _platform_base_url(args) -> str | None:
    try:
        from kiosk.config import load_config

        return load_config(args.config_path).platform.base_url or None
    except Exception:  # the meaning of a code is a courtesy here; reading it must not depend on config
        return None


# -- sim ---------------------------------------------------------------------------------------
def cmd_sim(args) -> int:
    from devices.qr.simulator import ScannerSimulator

    modes = {m.strip() for m in args.mode.split(",") if m.strip()}
    unknown = modes - {"chunked", "slow", "noisy"}
    if unknown:
        raise UsageError(f"unknown --mode {sorted(unknown)[0]!r} (chunked, slow, noisy)")
    if args.every is not None and (not math.isfinite(args.every) or args.every <= 0):
        raise UsageError("--every must be a positive number of seconds")
    simulator = ScannerSimulator(terminator=args.terminator, encoding=args.encoding, aim=args.aim,
                                 **{m: True for m in modes})
    stop = threading.Event()
    try:
        if args.pty:
            where = simulator.open_pty()
        else:
            host, port = _host_port(args.listen or "127.0.0.1:7002")
            try:
                host, port = simulator.listen(host, port)
            except OSError as exc:
                raise DeviceFailure(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
            where = f"socket://{host}:{port}"
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        print(f"QR scanner simulator on {where} (terminator {args.terminator}, {args.encoding}"
              f"{', ' + ', '.join(sorted(modes)) if modes else ''}); lines on stdin are scanned", flush=True)
        if args.code:
            threading.Thread(target=_scan_codes, args=(simulator, args.code, args.every, stop), daemon=True).start()
        threading.Thread(target=_scan_stdin, args=(simulator,), daemon=True).start()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        simulator.close()
    return 0


def _scan_codes(simulator, codes, every, stop) -> None:
    while not stop.is_set():
        simulator.wait_for_client(timeout=3600)
        for text in codes:
            simulator.scan(text, wait=True)
        if every is None or stop.wait(every):
            return


def _scan_stdin(simulator) -> None:
    if sys.stdin is None:
        return
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        if text:
            simulator.scan(text)


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--listen wants HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)
