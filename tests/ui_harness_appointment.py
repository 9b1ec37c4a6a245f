"""预约办理 in the real Kivy app under Xvfb, driven by simulated touches against the demo platform.

    python tests/ui_harness_appointment.py SCENARIO DATA_DIR

The scenarios join tests/ui_harness.py's (same runner, same JSON line of results).
"""
from __future__ import annotations

import sys
import uuid

import ui_harness
from ui_harness import find, tap
from ui_harness import wait_until as _wait_until

PATIENCE = 90.0   # seconds: a loaded two-core machine runs the demo platform and Kivy side by side


def wait_until(condition, timeout=PATIENCE, step=0.1):
    return _wait_until(condition, max(timeout, PATIENCE), step)

OTHERS = ("110105199001000031", "110105199001000058", "110105199001000074")   # people who take places meanwhile


def choice(screen, predicate):
    return find(screen.ids.choices, lambda w: type(w).__name__ == "AppointmentChoice" and predicate(w))


def tap_choice(screen, predicate):
    """Scroll a choice into view and tap it."""
    widget = choice(screen, predicate)
    assert widget is not None, [(w.key, w.title) for w in screen.ids.choices.children]
    screen.ids.choices_scroll.scroll_to(widget, padding=20, animate=False)
    yield 0.3
    tap(widget)
    yield 0.3


def ready(app):
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok, timeout=60)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")


def open_booking(app):
    tap(app.screens["attract"])
    yield 0.3
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "appointment"))
    screen = app.screens["appointment"]
    yield from wait_until(lambda: app.manager.current == "appointment" and screen.step == "item" and not screen.busy
                          and len(screen.ids.choices.children) > 0)
    yield 0.3
    return screen


def choose_time(app, screen, item_id, kind, village=None, results=None):
    """Item → way → (village) → the first free day → its first free time; taps counted."""
    taps = 0
    yield from tap_choice(screen, lambda w: w.key == item_id)
    taps += 1
    yield from wait_until(lambda: screen.step in ("kind", "day") and not screen.busy)
    if screen.step == "kind":
        yield from tap_choice(screen, lambda w: w.key == kind)
        taps += 1
    if village:
        yield from wait_until(lambda: screen.step == "village")
        yield from tap_choice(screen, lambda w: w.key == village)
        taps += 1
    yield from wait_until(lambda: screen.step == "day" and not screen.busy and len(screen.ids.choices.children) > 0)
    yield 0.3
    if results is not None:
        results["full_days_shown"] = sum(1 for w in screen.ids.choices.children if w.full)
        results["days_shown"] = len(screen.ids.choices.children)
    yield from tap_choice(screen, lambda w: not w.full)
    taps += 1
    yield from wait_until(lambda: screen.step == "time")
    slot = choice(screen, lambda w: not w.full)
    slot_id = slot.key
    yield from tap_choice(screen, lambda w: w.key == slot_id)
    taps += 1
    return slot_id, taps


def card_then_phone(app, screen, results, phone="13912345678"):
    """The card on the reader, then the phone number typed on the keypad and 确认预约; taps after the card."""
    yield from wait_until(lambda: app.manager.current == "identify")
    app.devices.reader.simulator.present("resident")
    yield from wait_until(lambda: app.manager.current == "appointment" and screen.mode == "phone")
    yield 0.3
    taps = 0
    if len(screen.phone) != 11:
        screen.phone = ""
        for digit in phone:
            tap(find(screen.ids.pad, lambda w: getattr(w, "text", None) == digit))
            taps += 1
            yield 0.05
    button = screen.ids.book_button_side if screen.landscape else screen.ids.book_button
    results["book_enabled"] = not button.disabled
    tap(button)
    taps += 1
    results["taps_after_card"] = taps


def demo_post(app, path, body, subject):
    import requests

    return requests.post(app.services.base_url + "/api/v1" + path, json=body, timeout=10, headers={
        "Authorization": "Bearer demo-token", "X-Kiosk-Id": app.cfg.kiosk.id, "Idempotency-Key": uuid.uuid4().hex,
        "X-Subject-Id-Number": subject})


def scenario_appt_book_cancel(app, clock, results):
    yield from ready(app)
    screen = yield from open_booking(app)
    results["items"] = len(screen.ids.choices.children)
    _slot, taps = yield from choose_time(app, screen, "SB-007", "window", results=results)
    results["taps_before_card"] = taps
    yield from card_then_phone(app, screen, results)
    yield from wait_until(lambda: screen.mode == "done", timeout=30)
    yield 0.3
    results["done"] = [screen.done_title, screen.done_when, screen.done_place, screen.done_number]
    results["qr_shown"] = screen.qr_texture is not None
    yield from wait_until(lambda: app.devices.printer.simulator.jobs_printed >= 1, timeout=20)
    results["slips"] = app.devices.printer.simulator.jobs_printed
    number = screen.done_number
    # 我的预约: the booking listed after the card; cancelled after a confirm
    tap(screen.ids.done_home)
    yield from wait_until(lambda: app.manager.current == "home")
    yield 0.3
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "appointment"))
    yield from wait_until(lambda: app.manager.current == "appointment" and screen.step == "item" and not screen.busy)
    yield 0.3
    tap(screen.ids.mine_button)
    yield from wait_until(lambda: screen.step == "mine" and not screen.busy and choice(screen, lambda w: w.key == number))
    yield 0.3
    results["mine"] = [w.key for w in screen.ids.choices.children]
    yield from tap_choice(screen, lambda w: w.key == number)
    yield from wait_until(lambda: screen.mode == "confirm")
    results["confirm"] = screen.confirm_text
    tap(screen.ids.cancel_button)
    yield from wait_until(lambda: bool(app.shell.dialogs), timeout=30)
    results["cancelled_message"] = app.shell.dialogs[-1].title
    app.shell.dialogs[-1].dismiss(animation=False)
    yield from wait_until(lambda: screen.step == "mine" and not screen.busy)
    yield 0.3
    results["mine_after"] = [w.key for w in screen.ids.choices.children]
    app.devices.reader.simulator.remove()


def scenario_appt_home_visit(app, clock, results):
    yield from ready(app)
    screen = yield from open_booking(app)
    _slot, taps = yield from choose_time(app, screen, "YL-001", "home_visit", village="车田苗族乡示例村")
    results["taps_before_card"] = taps
    yield from card_then_phone(app, screen, results)
    yield from wait_until(lambda: screen.mode == "done", timeout=30)
    results["done"] = [screen.done_title, screen.done_place, screen.done_number]
    app.devices.reader.simulator.remove()


def scenario_appt_offline(app, clock, results):
    yield from ready(app)
    screen = yield from open_booking(app)
    yield from choose_time(app, screen, "HJ-001", "after_hours")
    # the link goes down while the citizen reads the card and types the number
    app.services.demo.stop()
    app.status.probe_network()
    yield from wait_until(lambda: not app.network_ok)
    yield from card_then_phone(app, screen, results)
    yield from wait_until(lambda: screen.mode == "done", timeout=30)
    yield 0.3
    results["provisional"] = [screen.done_title, screen.provisional, screen.done_number, screen.qr_texture is not None]
    results["outbox_offline"] = app.services.outbox.status()
    yield from wait_until(lambda: app.devices.printer.simulator.jobs_printed >= 1, timeout=20)
    # the link returns: delivered, and the screen turns into the confirmed booking with its QR code
    app.services.demo.start()
    app.services.demo.wait_ready()
    app.status.probe_network()
    yield from wait_until(lambda: not screen.provisional, timeout=90)
    results["confirmed"] = [screen.done_title, screen.provisional, screen.done_number, screen.done_message]
    yield from wait_until(lambda: app.devices.printer.simulator.jobs_printed >= 2, timeout=20)
    results["slips"] = app.devices.printer.simulator.jobs_printed
    app.devices.reader.simulator.remove()


def scenario_appt_taken(app, clock, results):
    yield from ready(app)
    screen = yield from open_booking(app)
    slot_id, _taps = yield from choose_time(app, screen, "CJ-005", "home_visit", village="资源镇测试新村")
    yield from wait_until(lambda: app.manager.current == "identify")
    # meanwhile someone else takes the only place at another kiosk
    taken = demo_post(app, "/appointments", {"slot_id": int(slot_id), "item_id": "CJ-005", "name": "黄建国",
                                             "id_number": OTHERS[0], "phone": "13800000000",
                                             "address": "资源镇测试新村1号"}, OTHERS[0])
    results["other_booking"] = taken.status_code
    yield from card_then_phone(app, screen, results)
    yield from wait_until(lambda: screen.mode == "choices" and screen.step == "day" and not screen.busy, timeout=30)
    yield 0.3
    results["after_taken"] = [screen.step, screen.message]
    app.devices.reader.simulator.remove()


ui_harness.SCENARIOS.update({
    "appt_book_cancel": scenario_appt_book_cancel,
    "appt_home_visit": scenario_appt_home_visit,
    "appt_offline": scenario_appt_offline,
    "appt_taken": scenario_appt_taken,
})

if __name__ == "__main__":
    sys.exit(ui_harness.main())
