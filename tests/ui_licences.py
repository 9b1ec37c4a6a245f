"""UI scenarios for 材料免提交 and 手机继续办, run like tests/ui_harness.py (whose helpers they use):

    python tests/ui_licences.py SCENARIO DATA_DIR

``licences``: the demo's elderly citizen (蒙桂英) submits 困难残疾人生活补贴申请 (CJ-004), whose disability
certificate and household register the demo platform holds as electronic licences: those two lines
say so and are never photographed; the other three are. Every tap after the card is counted.

``phone``: the same citizen photographs one material, then taps 回家用手机补交: the QR code and the
slip; the page its link opens is read by a real browser (headless chromium) while the demo platform
still runs.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ui_harness  # noqa: E402
from ui_harness import find, tap, wait_until  # noqa: E402

ITEM = "CJ-004"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class Taps:
    """Taps the citizen makes, counted."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, widget) -> None:
        self.count += 1
        tap(widget)


def card_and_item(app, results, press):
    """Card on the reader, 材料提交 on the home screen, the item from the list."""
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    app.devices.reader.simulator.present("resident_longterm")
    yield from wait_until(lambda: bool(app.identity_name))
    yield 0.3
    results["dialog_after_card"] = bool(app.shell.dialogs)
    press(find(app.screens["home"], lambda w: getattr(w, "action", None) == "submit"))
    yield 0.4
    submit = app.screens["submit"]
    choice = find(submit.ids.choices, lambda w: getattr(w, "item_id", None) == ITEM)
    submit.ids.choices_scroll.scroll_to(choice)   # scrolling is not a tap
    yield 0.3
    press(choice)
    yield from wait_until(lambda: submit.step == "materials")
    flow = app.flows["submit"]
    yield from wait_until(lambda: flow.draft().licence_check in ("done", "failed"))
    yield 0.3
    return submit, flow


def lines_of(submit):
    return sorted((w for w in submit.ids.materials.children if type(w).__name__ == "MaterialLine"),
                  key=lambda w: w.index)


def capture(app, submit, index, press):
    line = find(submit.ids.materials, lambda w: type(w).__name__ == "MaterialLine" and w.index == index)
    submit.ids.materials.parent.scroll_to(line)
    yield 0.3
    press(find(line, lambda w: type(w).__name__ == "BigButton"))
    capture_screen = app.screens["capture"]
    yield from wait_until(lambda: app.manager.current == "capture")
    yield from wait_until(lambda: capture_screen.pages >= 1, timeout=40)   # auto-capture: no tap
    press(capture_screen.ids.capture_done)
    yield from wait_until(lambda: app.manager.current == "submit")
    yield 0.3


def scenario_licences(app, clock, results):
    import requests

    press = Taps()
    submit, flow = yield from card_and_item(app, results, press)
    results["licence_check"] = flow.draft().licence_check
    results["note"] = submit.licence_note
    lines = lines_of(submit)
    results["lines"] = [[w.name, w.licence, w.pages_text, w.detail] for w in lines]
    camera_buttons = {w.index: find(w, lambda b: type(b).__name__ == "BigButton") for w in lines}
    results["camera_buttons"] = {str(i): [b.disabled, b.opacity, b.width] for i, b in camera_buttons.items()}
    for line in lines:
        if not line.licence:
            yield from capture(app, submit, line.index, press)
    results["next_enabled"] = not submit.ids.materials_next.disabled
    press(submit.ids.materials_next)
    yield 0.3
    for digit in "13800138000":
        press(find(submit, lambda w: type(w).__name__ == "PadKey" and w.text == digit and not w.disabled))
        yield 0.05
    press(submit.ids.contact_next)
    yield 0.3
    results["review_text"] = submit.review_text
    press(submit.ids.confirm)
    yield from wait_until(lambda: submit.step == "done", timeout=30)
    results["taps_after_card"] = press.count
    results["receipt_no"] = submit.receipt_no
    yield from wait_until(lambda: app.devices.printer.simulator.jobs_printed >= 1, timeout=20)
    outbox = app.services.outbox
    yield from wait_until(lambda: outbox.status()["pending"] + outbox.status()["inflight"] == 0, timeout=60)
    results["outbox_final"] = outbox.status()
    headers = {"Authorization": "Bearer demo-token", "X-Kiosk-Id": app.cfg.kiosk.id}
    answer = requests.get(f"{app.services.base_url}/api/v1/applications/{submit.receipt_no}", headers=headers,
                          timeout=10)
    results["stored_materials"] = answer.json()["materials"]
    app.devices.reader.simulator.remove()
    yield from wait_until(lambda: not app.card_on_reader)


def read_in_chromium(url: str, out: dict) -> None:
    """The page as a real browser renders it (its DOM after loading), off the Kivy thread."""
    try:
        done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               "--disable-background-networking", "--disable-component-update", "--disable-sync",
                               "--window-size=360,640", "--dump-dom", url],
                              capture_output=True, text=True, timeout=60)
        out["dom"] = done.stdout
        out["rc"] = done.returncode
    except (OSError, subprocess.TimeoutExpired) as exc:
        out["error"] = repr(exc)


def scenario_phone(app, clock, results):
    press = Taps()
    submit, flow = yield from card_and_item(app, results, press)
    first = next(w for w in lines_of(submit) if not w.licence)
    yield from capture(app, submit, first.index, press)
    results["continue_visible"] = [submit.ids.phone_continue.opacity, submit.ids.phone_continue.disabled]
    printed = app.devices.printer.simulator.jobs_printed
    press(submit.ids.phone_continue)
    yield from wait_until(lambda: submit.step == "phone", timeout=30)
    results["taps_after_card"] = press.count
    results["phone_text"] = submit.phone_text
    results["qr"] = submit.phone_qr is not None
    yield from wait_until(lambda: app.devices.printer.simulator.jobs_printed > printed, timeout=20)
    results["slip_printed"] = True
    url = flow.last_phone_url
    results["url"] = url
    page: dict = {}
    if Path(CHROMIUM).exists():
        reader = threading.Thread(target=read_in_chromium, args=(url, page), daemon=True)
        reader.start()
        yield from wait_until(lambda: not reader.is_alive(), timeout=90)
    results["page"] = page
    press(submit.ids.phone_finish)
    yield 0.5
    results["visit_ended"] = app.keeper.current is None
    app.devices.reader.simulator.remove()
    yield from wait_until(lambda: not app.card_on_reader)


ui_harness.SCENARIOS.update({"licences": scenario_licences, "phone": scenario_phone})

if __name__ == "__main__":
    sys.exit(ui_harness.main())
