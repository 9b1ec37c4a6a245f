"""Courier scenarios for the real Kivy app under Xvfb (run as a subprocess by tests/test_ui_courier.py):

    python tests/ui_courier.py SCENARIO DATA_DIR

They add to tests/ui_harness.py's scenarios and use its runner: every touch is a simulated tap on
the widget a citizen would touch, and every tap after the ID card is counted.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import ui_harness  # noqa: E402
from ui_harness import find, wait_until, window_rect  # noqa: E402

HEADERS = {"Authorization": "Bearer demo-token", "X-Kiosk-Id": "demo-kiosk-001"}


class Taps:
    """Taps as the citizen makes them, counted."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, widget) -> None:
        assert widget is not None and not widget.disabled, widget
        self.count += 1
        ui_harness.tap(widget)


def shot(app, name: str) -> None:
    if os.environ.get("UI_SHOTS"):
        from kiosk.app import save_window_png

        save_window_png(os.path.join(os.environ["UI_SHOTS"], name))


def address_geometry(app) -> dict:
    """Where the address screen's parts are, in window coordinates (to check nothing is cut off)."""
    screen = app.screens["address"]
    step = screen.ids.steps.current_screen
    buttons = [w for w in _walk(step) if type(w).__name__ in ("PadKey", "BigButton", "DivisionButton", "PickupButton")
               and _shown(w)]
    return {"window": list(ui_harness.window().size), "footer_top": app.footer.top,
            "header_y": app.header.y if hasattr(app, "header") else None,
            "buttons": [window_rect(w) + [w.text] for w in buttons],
            "levels": [window_rect(screen.ids.summary_box)] if screen.compact
            else [window_rect(w) for w in screen.ids.levels.children]}


def _shown(widget) -> bool:
    """On screen for the citizen: in the window, and neither it nor a parent made invisible."""
    if widget.get_root_window() is None:
        return False
    for _ in range(64):                      # up to the window, whose parent may be itself
        if widget is None or widget is widget.parent:
            return True
        if getattr(widget, "opacity", 1) == 0:
            return False
        widget = widget.parent
    return True


def _walk(widget):
    stack = [widget]
    while stack:
        w = stack.pop()
        yield w
        stack.extend(w.children)


def pick_address(app, tap, town: str, village: str, house: str, results: dict, prefix: str):
    """Town and village from the lists, the house number on the keypad, 确认地址."""
    screen = app.screens["address"]
    yield from wait_until(lambda: app.manager.current == "address" and len(screen.ids.choices.children) > 0)
    yield 0.3
    results[f"{prefix}_towns"] = [w.text for w in reversed(screen.ids.choices.children)]
    results[f"{prefix}_levels_prefilled"] = [w.value for w in reversed(screen.ids.levels.children)][:3]
    shot(app, f"{prefix}-towns.png")
    tap(find(screen.ids.choices, lambda w: getattr(w, "text", None) == town))
    yield from wait_until(lambda: any(getattr(w, "text", None) == village for w in screen.ids.choices.children))
    yield 0.3
    tap(find(screen.ids.choices, lambda w: getattr(w, "text", None) == village))
    yield from wait_until(lambda: screen.step == "house")
    yield 0.3
    results[f"{prefix}_house_geometry"] = address_geometry(app)
    for key in re.findall(r"单元|.", house):
        tap(find(screen.ids.house_pad, lambda w: getattr(w, "text", None) == key))
        yield 0.05
    yield 0.2
    results[f"{prefix}_house"] = screen.house
    shot(app, f"{prefix}-house.png")
    tap(screen.ids.house_next)
    yield 0.3


def card_in(app):
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    app.devices.reader.simulator.present("resident")
    yield from wait_until(lambda: bool(app.identity_name))
    yield 0.3


def scenario_courier_submit(app, clock, results):
    """Submit with 快递寄到家: capture, phone, courier, town and village, house number, pick-up
    day and time, confirm while offline; delivered later; the shipment's steps in progress."""
    import requests

    tap = Taps()
    yield from card_in(app)
    if os.environ.get("UI_ELDERLY"):
        ui_harness.tap(app.footer.ids.elderly_button)
        yield 0.3
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "submit"))
    yield 0.4
    submit = app.screens["submit"]
    items = [i for i in app.catalogue.items.values() if i.kiosk_submittable
             and any(m.kind == "original" for m in i.materials)]
    item = min(sorted(items, key=lambda i: i.id), key=lambda i: sum(m.required for m in i.materials))
    results["item"] = item.id
    choice = find(submit.ids.choices, lambda w: getattr(w, "item_id", None) == item.id)
    submit.ids.choices_scroll.scroll_to(choice, animate=False)
    yield 0.5
    tap(choice)
    yield from wait_until(lambda: submit.step == "materials")
    yield 0.3
    capture = app.screens["capture"]
    results["materials_step"] = [submit.step, [type(w).__name__ for w in submit.ids.materials.children]]
    for index in [i for i, m in enumerate(item.materials) if m.required]:
        line = find(submit.ids.materials, lambda w: type(w).__name__ == "MaterialLine" and w.index == index)
        assert line is not None, (results, index, item.id)
        submit.ids.materials.parent.scroll_to(line, animate=False)
        yield 0.3
        tap(find(line, lambda w: type(w).__name__ == "BigButton"))
        yield from wait_until(lambda: app.manager.current == "capture")
        yield from wait_until(lambda: capture.pages >= 1, timeout=40)
        yield 0.2
        tap(capture.ids.capture_done)
        yield from wait_until(lambda: app.manager.current == "submit")
        yield 0.3
    tap(submit.ids.materials_next)
    yield 0.3
    results["taps_before_phone"] = tap.count
    for digit in "13877310427":
        tap(find(submit, lambda w: type(w).__name__ == "PadKey" and w.text == digit and not w.disabled))
        yield 0.05
    courier_start = tap.count
    tap(submit.ids.post)
    yield 0.2
    results["post_address_text"] = submit.ids.post_address.text
    tap(submit.ids.courier)
    yield 0.2
    results["phone_typed"] = submit.phone
    shot(app, "contact.png")
    tap(submit.ids.contact_next)
    yield 0.3
    yield from pick_address(app, tap, "车田苗族乡", "石溪头村", "12号", results, "submit")
    screen = app.screens["address"]
    yield from wait_until(lambda: screen.step == "pickup")
    yield 0.3
    results["pickup_days"] = [w.text for w in reversed(screen.ids.days.children)]
    results["pickup_geometry"] = address_geometry(app)
    shot(app, "submit-pickup.png")
    tap(list(reversed(screen.ids.days.children))[0])
    yield 0.2
    tap(find(screen.ids.slots, lambda w: getattr(w, "key", None) == "pm"))
    yield 0.2
    tap(screen.ids.pickup_confirm)
    yield from wait_until(lambda: app.manager.current == "submit" and submit.step == "review")
    results["review_text"] = submit.review_text
    # offline when the citizen confirms: the courier request waits in the outbox with the submission
    app.services.demo.stop()
    app.status.probe_network()
    yield from wait_until(lambda: not app.network_ok)
    tap(submit.ids.confirm)
    yield from wait_until(lambda: submit.step == "done", timeout=30)
    # what a citizen taps (the test's look at 邮寄 is not counted): from 快递寄到家 to 确认提交
    results["taps_after_card"] = tap.count - 1
    results["taps_for_courier"] = tap.count - courier_start - 1
    results["receipt_no"] = submit.receipt_no
    status = app.services.outbox.status()
    results["pending_offline"] = status["pending"] + status["inflight"]
    yield from wait_until(lambda: app.devices.printer.simulator.jobs_printed >= 1, timeout=20)
    app.services.demo.start()
    app.services.demo.wait_ready()
    app.status.probe_network()
    outbox = app.services.outbox
    yield from wait_until(lambda: outbox.status()["pending"] + outbox.status()["inflight"] == 0, timeout=60)
    results["outbox_final"] = outbox.status()
    base = app.services.base_url
    lookup = requests.get(f"{base}/api/v1/applications/{submit.receipt_no}", headers=HEADERS, timeout=10).json()
    results["shipments"] = lookup.get("shipments")
    deliver = lookup["shipments"][-1]["tracking_no"]
    # the courier collects the parcel: its push, played on the demo platform's database (the demo
    # platform mounts no test endpoints)
    from backend import courier
    from backend.db import Database

    platform_db = Database(f"sqlite:///{app.services.demo.db_path}")
    with platform_db.write() as conn:
        results["advanced"] = courier.advance(conn, deliver, platform_db.clock())
    platform_db.dispose()
    from kiosk.qr_content import receipt_qr_text

    assert app.devices.scanner.simulator.scan(receipt_qr_text(submit.receipt_no, base), wait=True)
    progress = app.screens["progress"]
    yield from wait_until(lambda: app.manager.current == "progress" and not progress.busy and progress.results,
                          timeout=30)
    yield 0.4
    card = find(progress, lambda w: type(w).__name__ == "ApplicationCard")
    results["progress_status_line"] = card.status_line
    results["progress_shipments"] = card.shipment_text
    shot(app, "progress.png")
    app.devices.reader.simulator.remove()
    yield from wait_until(lambda: not app.card_on_reader)


def scenario_courier_certificate(app, clock, results):
    """邮寄 a certificate: preview, 邮寄, town, village, house, phone; then tracked by its number."""
    import requests

    tap = Taps()
    yield from card_in(app)
    if os.environ.get("UI_ELDERLY"):
        ui_harness.tap(app.footer.ids.elderly_button)
        yield 0.3
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "certificates"))
    screen = app.screens["certificates"]
    yield from wait_until(lambda: app.manager.current == "certificates" and not screen.busy)
    yield 0.4
    rows = [w for w in screen.ids.rows.children if not w.expired]
    tap(rows[-1])
    yield from wait_until(lambda: screen.step == "preview" and not screen.busy, timeout=40)
    yield 0.4
    tap(screen.ids.post_button)
    yield 0.3
    yield from pick_address(app, tap, "资源镇", "和平村", "3栋2单元401室", results, "certificate")
    address = app.screens["address"]
    yield from wait_until(lambda: address.step == "phone")
    yield 0.3
    results["phone_geometry"] = address_geometry(app)
    shot(app, "certificate-phone.png")
    for digit in "13877310427":
        tap(find(address.ids.steps.current_screen, lambda w: type(w).__name__ == "PadKey" and w.text == digit))
        yield 0.05
    tap(address.ids.phone_next)
    yield from wait_until(lambda: bool(app.shell.dialogs), timeout=30)
    results["taps_after_card"] = tap.count
    results["dialog"] = [app.shell.dialogs[-1].title, app.shell.dialogs[-1].body]
    results["screen_after"] = app.manager.current
    outbox = app.services.outbox
    yield from wait_until(lambda: outbox.status()["pending"] + outbox.status()["inflight"] == 0, timeout=60)
    order_no = re.search(r"ZW\d{10}-\d{8}", results["dialog"][1]).group(0)
    answer = requests.get(f"{app.services.base_url}/api/v1/applications/{order_no}", headers=HEADERS, timeout=10)
    results["order_lookup"] = answer.json()
    app.devices.reader.simulator.remove()
    yield from wait_until(lambda: not app.card_on_reader)


ui_harness.SCENARIOS.update(courier_submit=scenario_courier_submit, courier_certificate=scenario_courier_certificate)

if __name__ == "__main__":
    sys.exit(ui_harness.main())
