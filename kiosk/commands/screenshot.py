"""``kiosk screenshot``: render one screen with demo data to a PNG and exit (needs a display)."""
from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import replace
from pathlib import Path

SCREENSHOT_NAMES = ("attract", "home", "guide", "guide-detail", "idle", "not-ready", "identify", "card-alert", "progress", "rating", "help",
                    "service-pin", "service")
SCREENSHOT_NAMES += ("appointment-items", "appointment-days", "appointment-times", "appointment-phone",  # booking steps
                     "appointment-done", "appointment-pending", "appointment-mine", "appointment-confirm")
SCREENSHOT_NAMES += ("submit-licences", "submit-phone", "submit-contact")  # 材料免提交, 手机继续办, the phone
SCREENSHOT_NAMES += ("payment", "payment-expired", "payment-list")   # a demo order's amount and QR; expired; the fees
SCREENSHOT_NAMES += ("address", "address-house", "address-pickup")  # the courier's address picker


def register(parsers) -> None:
    p = parsers.top.add_parser("screenshot", help="render a screen with demo data to a PNG and exit")
    p.add_argument("--screen", required=True, help=", ".join(SCREENSHOT_NAMES))
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--elderly", action="store_true", help="render in elderly mode")
    p.add_argument("--size", metavar="WxH", help="window size (default from configuration, 1080x1920)")
    p.set_defaults(func=screenshot)


def screenshot(args: argparse.Namespace) -> int:
    from kiosk import ui_env
    from kiosk.commands.run import parse_size
    from kiosk.config import PathsSection, load_config
    from kiosk.errors import DeviceFailure, UsageError

    if args.screen not in SCREENSHOT_NAMES:
        raise UsageError(f"unknown screen {args.screen!r} (known: {', '.join(SCREENSHOT_NAMES)})")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"cannot write {out}: folder {out.parent} does not exist")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise DeviceFailure("no display: run under Xvfb, e.g. xvfb-run -a -s '-screen 0 1920x1920x24' kiosk screenshot ...")
    cfg = load_config(args.config_path)
    width, height = parse_size(args.size, (cfg.screen.width, cfg.screen.height))
    work = Path(tempfile.mkdtemp(prefix="kiosk-screenshot-"))
    # demo data, in a throw-away data folder: the demo backend and its seeded catalogue
    cfg = replace(cfg, platform=replace(cfg.platform, base_url="", token=""),
                  paths=PathsSection(data_dir=work / "data", log_dir=work / "log", key_file=work / "outbox.key"))
    ui_env.prepare(width, height, False, kivy_home=work / "kivy", log_level="debug" if args.verbose else "error")
    from kiosk.app import KioskApp, ScreenshotRequest

    if out.exists():
        out.unlink()
    KioskApp(cfg, screenshot=ScreenshotRequest(args.screen, str(out), args.lang, args.elderly, stage,
                                               settle_seconds(args.screen))).run()
    if not out.exists():
        raise DeviceFailure(f"screenshot of {args.screen!r} was not written")
    print(out)
    return 0


def settle_seconds(screen: str) -> float:
    """How long a staged screen may fill in before its picture is taken (the diagnostics fill in from workers)."""
    if screen.startswith("payment"):
        return 25.0     # a real order from the demo platform, made once it is up (seeding takes a while)
    return 12.0 if screen == "service" else 2.0 if screen == "service-pin" else 1.5


def stage(app, screen: str) -> None:
    """Put the running app (kiosk.app.KioskApp) on ``screen`` with demo content, as a citizen would get there."""
    if screen == "attract":
        app.show_screen("attract")
        return
    if screen.startswith("service"):
        stage_service(app, screen)
        return
    if screen.startswith("payment"):
        from kiosk.commands.screenshot_payment import stage as stage_payment

        stage_payment(app, screen)
        return
    app.start_session("screenshot")
    if screen.startswith("appointment-"):
        from kiosk.commands.screenshot_appointment import stage as stage_appointment

        stage_appointment(app, screen)
    elif screen.startswith("submit-"):
        from kiosk.commands.screenshot_licences import stage as stage_submit

        stage_submit(app, screen)
    elif screen == "guide":
        app.open_task("guide")
        app.screens["guide"].query = "shebao"
    elif screen == "guide-detail":
        items = list(app.catalogue.items.values())
        richest = max(items, key=lambda i: (len(i.materials), len(i.steps))) if items else None
        if richest is not None:
            app.flows["guide"].open_item(richest.id)
    elif screen == "idle":
        app._show_idle_dialog(12)
    elif screen == "not-ready":
        app.open_task("not-ready", app.tr(app.lang, "tile_certificates"))
    elif screen == "identify":
        app.open_task("certificates", app.tr(app.lang, "tile_certificates"))
    elif screen == "progress":
        app.open_task("progress")
        app.screens["progress"].digits = "000126112373920155"
    elif screen == "rating":
        app.open_task("rating")
        app.screens["rating"].choose(2)
        app.screens["rating"].toggle_reason("reason_wait")
    elif screen == "help":
        app.screens["help"].reset(app.tr(app.lang, "help_address", address="广西壮族自治区****"))
        app.screens["help"].kind = "home_visit"
        app.screens["help"].phone = "138"
        app.show_screen("help")
    elif screen == "card-alert":
        app._show_card_alert()
    elif screen.startswith("address"):
        stage_address(app, screen)


def stage_address(app, screen: str) -> None:
    """The address picker as a citizen of the demo county sees it: the villages of a town, the
    house-number keypad, or the pick-up day and time (drawn with the demo county's names)."""
    from kiosk.flows.views import AddressLevel, Row

    view, tr = app.screens["address"], app.tr
    app.show_screen("address")
    view.reset(tr(app.lang, "address_title"))
    names = ["广西壮族自治区", "桂林市", "资源县", "资源镇", "和平村"]
    keys = ("province", "city", "county", "town", "village")
    current = {"address": 4, "address-house": 5, "address-pickup": 6}[screen]
    chosen = names[:current]
    levels = [AddressLevel(i, tr(app.lang, f"address_level_{key}"), chosen[i] if i < len(chosen) else "", i == current)
              for i, key in enumerate(keys)]
    levels.append(AddressLevel(5, tr(app.lang, "address_level_house"), "12号" if current > 5 else "", current == 5))
    view.show_levels(levels)
    if screen == "address":
        villages = ("城东社区", "示例路社区", "测试新村", "和平村")
        view.show_choices(tr(app.lang, "address_choose_prompt", level=tr(app.lang, "address_level_village")),
                          [Row(key=str(i), title=name) for i, name in enumerate(villages)])
    elif screen == "address-house":
        view.show_house(tr(app.lang, "address_house_prompt"), "3栋2单元40",
                        tr(app.lang, "address_phone_line", phone="138****0427"))
    else:
        days = [Row(key=f"d{i}", title=tr(app.lang, "address_pickup_day", word=tr(app.lang, f"address_day_{i}"),
                                             month=12, day=1 + i, weekday=tr(app.lang, f"address_weekday_{i + 1}")))
                for i in (1, 2, 3)]
        slots = [Row(key=s, title=tr(app.lang, f"address_pickup_{s}")) for s in ("am", "pm")]
        view.show_pickup(tr(app.lang, "address_pickup_prompt"), days, slots, "d1", "am")


def stage_service(app, screen: str) -> None:
    """The technician's PIN pad after one wrong PIN, or the diagnostics screen entered with the demo PIN
    (the demo profile's technician) with the receipt printer's live test run."""
    import time

    app.workers.submit(lambda: time.sleep(0.5), lambda _: _stage_service(app, screen))  # after the first layout


def _stage_service(app, screen: str) -> None:
    import time

    service = app.flows["service"]
    service.open_pad()
    if screen == "service-pin":
        for digit in "1234":
            service.press(digit)
        service._pad_message = "密码错误，还可尝试 4 次"
        service._show_pin()
        return
    for digit in "135792":
        service.press(digit)
    service.submit_pin()

    def entered() -> None:
        deadline = time.monotonic() + 20
        while not service.active and time.monotonic() < deadline:
            time.sleep(0.1)
    app.workers.submit(entered, lambda _: service.live_test("receipt_printer"))
