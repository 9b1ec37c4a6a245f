"""``kiosk device idcard read|status`` and ``kiosk sim idcard``: the technician's ID-card tools."""
from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

from kiosk.commands.device_cli import add_options, check_timeout, device_actions, device_url, open_driver
from kiosk.errors import DeviceFailure, NothingFound, UsageError
from kiosk.masking import mask_address, mask_id_number, mask_name

CARD_TYPE_ZH = {
    "resident": "居民身份证",
    "hkmt_permit": "港澳台居民居住证",
    "foreign_permanent_2017": "外国人永久居留身份证（2017版）",
    "foreign_permanent_2023": "外国人永久居留身份证（2023版）",
}
LABELS = {
    "card_type": "card type", "name": "name 姓名", "name_en": "English name", "sex": "sex 性别",
    "nation": "nation 民族", "birth_date": "born 出生", "address": "address 住址",
    "id_number": "number 号码", "issuer": "issuer 签发机关", "valid_from": "valid from",
    "valid_to": "valid to", "expired": "expired", "id_number_valid": "check digit ok",
    "nationality": "nationality 国籍", "pass_number": "pass number 通行证号",
    "issue_count": "issue count 签发次数", "photo_bytes": "photo (WLT bytes)",
}


URL_HELP = ("reader URL, e.g. /dev/ttyUSB0, socket://127.0.0.1:7001, sim://?card=resident "
            "(default: devices.idcard from the configuration)")


def register(parsers) -> None:
    sub = device_actions(parsers, "idcard", help="second-generation ID-card reader (SAM serial protocol)")

    read = sub.add_parser("read", help="wait for a card and print it (personal fields masked)")
    add_options(read, URL_HELP, timeout=10.0, timeout_help="how long to wait for a card")
    read.add_argument("--reveal", action="store_true", help="print personal fields in clear")
    read.set_defaults(func=cmd_read)

    status = sub.add_parser("status", help="check the reader and its SAM")
    add_options(status, URL_HELP)
    status.set_defaults(func=cmd_status)

    sim = parsers.sim.add_parser("idcard", help="simulate an ID-card reader for socket:// clients")
    sim.add_argument("--listen", default="127.0.0.1:7001", metavar="HOST:PORT",
                     help="address to serve (default 127.0.0.1:7001; port 0 picks a free one)")
    sim.add_argument("--card", metavar="FILE.json", help="card in the field at start (a fixture file or name)")
    sim.add_argument("--mode", default="", metavar="MODES",
                     help="misbehaviour, comma-separated: slow, chunked, noisy, corrupt, silent, nosam")
    sim.add_argument("--baud", type=int, default=115200, help="wire rate the replies are paced at")
    sim.set_defaults(func=cmd_sim)


def cmd_read(args) -> int:
    from devices.idcard.reader import NoCard, ReaderFailure

    check_timeout(args)
    reader = _reader(args)
    try:
        event = reader.read_once(args.timeout)
    except NoCard as exc:
        raise NothingFound(f"{exc} on {args.url}") from None
    except ReaderFailure as exc:
        raise DeviceFailure(f"{exc} ({args.url})") from None
    finally:
        reader.stop()
    fields = event.card.to_dict()
    if not args.reveal:
        fields = mask_card_fields(fields)
    if args.json:
        print(json.dumps(fields, ensure_ascii=False))
    else:
        for key, value in fields.items():
            if value is None:
                continue
            if key == "card_type":
                value = f"{value} ({CARD_TYPE_ZH.get(value, '?')})"
            print(f"{LABELS[key]}: {_plain(value)}")
    return 0


def cmd_status(args) -> int:
    reader = _reader(args)
    try:
        result = reader.self_test()
        status = reader.status()
    finally:
        reader.stop()
    sam_id = result.properties.get("sam_id")
    report = {"url": args.url, **status.as_dict(), "sam_id": sam_id}
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(f"{status.state.value}: {status.detail_en} ({status.detail_zh})")
        if sam_id:
            print(f"SAM id: {sam_id}")
    if not result.ok:
        raise DeviceFailure(f"{status.detail_en} ({args.url})")
    return 0


def cmd_sim(args) -> int:
    from devices.idcard.commands import BAUD_CODES
    from devices.idcard.fixtures import FixtureError, load_card
    from devices.idcard.sim_links import TcpSimulatorServer
    from devices.idcard.simulator import SamSimulator

    host, port = _host_port(args.listen)
    if args.baud not in BAUD_CODES:
        raise UsageError(f"--baud must be one of {', '.join(map(str, sorted(BAUD_CODES)))}")
    try:
        card = load_card(args.card) if args.card else None
        simulator = SamSimulator(card, [m for m in args.mode.split(",") if m], baud=args.baud)
    except (FixtureError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    server = TcpSimulatorServer(simulator, host, port)
    try:
        server.start()
    except OSError as exc:
        raise DeviceFailure(f"cannot listen on {args.listen}: {exc.strerror or exc}") from None
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    interactive = sys.stdin is not None and sys.stdin.isatty()
    print(f"ID-card reader simulator on {server.url} (card: {card.label if card else 'none'}"
          f"{'; Enter puts the card on or takes it off' if interactive else ''})", flush=True)
    if interactive:
        threading.Thread(target=_hotkey, args=(simulator,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def mask_card_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The card's JSON with personal fields masked (the CLI's default)."""
    masked = dict(fields)
    masked["name"] = mask_name(fields.get("name"))
    masked["name_en"] = mask_name(fields.get("name_en"))
    masked["id_number"] = mask_id_number(fields.get("id_number"))
    masked["pass_number"] = mask_id_number(fields.get("pass_number"))
    masked["address"] = mask_address(fields.get("address"))
    birth = fields.get("birth_date")
    masked["birth_date"] = birth[:4] + "-**-**" if birth and len(birth) == 10 else mask_id_number(birth)
    return masked


def _reader(args):
    from devices.idcard.fixtures import FixtureError
    from devices.idcard.reader import IdCardReader

    url = device_url(args, "idcard", "ID-card reader")
    try:
        return open_driver(lambda: IdCardReader(url))
    except FixtureError as exc:
        raise UsageError(str(exc)) from None


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--listen wants HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _hotkey(simulator) -> None:
    for _line in sys.stdin:
        present = simulator.toggle()
        print("card on the reader" if present else "card taken off", flush=True)
