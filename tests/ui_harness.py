"""Drive the real Kivy app under Xvfb with simulated touches; run as a subprocess by tests.

    python tests/ui_harness.py SCENARIO DATA_DIR

Each scenario is a generator that yields seconds to wait (real Kivy frames pass meanwhile) and
records what it saw in ``results``; the harness prints the results as one JSON line and exits 0,
or prints the failure and exits 1. A fresh process per scenario keeps Kivy's global state clean.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path



class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def find(widget, predicate):
    """Depth-first search of the widget tree (including open modal views via the Window)."""
    stack = [widget]
    while stack:
        w = stack.pop()
        if predicate(w):
            return w
        stack.extend(reversed(w.children))
    return None


def tap(widget) -> None:
    from kivy.tests.common import UnitTestTouch

    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()


def wait_until(condition, timeout=30.0, step=0.1):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            import inspect
            raise AssertionError(f"timed out waiting for {inspect.getsource(condition).strip()}")
        yield step


def window():
    from kivy.core.window import Window
    return Window


def button_with_text(text):
    return find(window(), lambda w: getattr(w, "text", None) == text and hasattr(w, "on_release"))


def scenario_browse(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None)
    results["start_screen"] = app.manager.current
    tap(app.screens["attract"])
    yield 0.2
    results["after_touch"] = app.manager.current
    results["session_started"] = app.keeper.current is not None
    tile = find(app.screens["home"], lambda w: getattr(w, "action", None) == "guide")
    tap(tile)
    yield 0.2
    results["after_tile"] = app.manager.current
    guide = app.screens["guide"]
    results["all_count"] = len(guide.results)
    for letter in "SHBX":
        tap(button_with_text(letter))
        yield 0.05
    yield 0.2
    results["query"] = guide.query
    results["shbx_names"] = [r["name"] for r in guide.results]
    tap(button_with_text(app.tr(app.lang, "keyboard_clear")))
    yield 0.1
    for letter in "SHEBAO":
        tap(button_with_text(letter))
        yield 0.05
    yield 0.2
    results["shebao_names"] = [r["name"] for r in guide.results]
    tap(button_with_text(app.tr(app.lang, "keyboard_clear")))
    tap(button_with_text("低保"))
    yield 0.2
    results["dibao_names"] = [r["name"] for r in guide.results]
    yield 0.3
    row = find(guide.ids.list, lambda w: type(w).__name__ == "GuideRow" and w.item_id)
    results["row_item"] = row.item_id
    tap(row)
    yield 0.3
    results["after_row"] = app.manager.current
    detail = app.screens["guide-detail"]
    results["detail_title"] = detail.title
    texts = []
    find(detail.ids.body, lambda w: texts.append(getattr(w, "text", "")) and False)
    results["detail_texts"] = texts
    tap(detail.ids.notice_button)
    yield from wait_until(lambda: bool(app.shell.dialogs), timeout=30)
    results["print_dialog"] = app.shell.dialogs[-1].title
    results["printed_jobs"] = len(app.devices.printer.simulator.jobs)
    app.shell.dialogs[-1].dismiss(animation=False)
    yield 0.3
    tap(detail.ids.back_button)
    yield 0.2
    results["after_back"] = app.manager.current


def scenario_idle(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None)
    tap(app.screens["attract"])
    yield 0.2
    session = app.keeper.current
    folder = session.temp_dir
    (folder / "page-1.jpg").write_bytes(b"\xff\xd8 scanned page of 11010519491231002X")
    session.identity = {"name": "张三丰"}
    results["session_id"] = session.id
    timeout, warning = app.keeper.timeout, app.keeper.warning
    clock.now += timeout - warning + 1
    yield 0.6
    results["dialog_after_idle"] = app.idle_dialog is not None
    results["dialog_seconds"] = app.idle_dialog.seconds if app.idle_dialog else None
    tap(app.idle_dialog.ids.continue_button)
    yield 0.4
    results["dialog_after_continue"] = app.idle_dialog is not None
    results["same_session"] = app.keeper.current is session
    clock.now += timeout - warning + 1
    yield 0.6
    results["dialog_again"] = app.idle_dialog is not None
    clock.now += warning + 1
    yield 0.6
    results["screen_after_expiry"] = app.manager.current
    results["session_after_expiry"] = app.keeper.current is not None
    results["folder_exists"] = folder.exists()
    results["identity_after"] = session.identity
    results["wipe_records"] = app.keeper.wipe_records
    results["dialog_after_expiry"] = app.idle_dialog is not None


def scenario_tiles(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None)
    yield from wait_until(lambda: app.pending_uploads >= 0)
    results["status_idle"] = app.status_line
    seen = []
    app.bind(pending_uploads=lambda *_: seen.append(int(app.pending_uploads)))
    app.services.outbox.put("POST", "/api/v1/ratings", json={"subject": "service", "score": 5, "tags": [], "comment": ""})
    yield from wait_until(lambda: seen and seen[-1] == 0 and max(seen) >= 1)
    results["pending_seen"] = seen
    results["outbox_status"] = app.services.outbox.status()
    tap(app.screens["attract"])
    yield 0.2
    tile = find(app.screens["home"], lambda w: getattr(w, "action", None) == "progress")
    tap(tile)
    yield 0.3
    results["progress_screen"] = app.manager.current
    tap(app.footer.ids.home_button)  # on a task screen: back to home, the visit goes on
    yield 0.3
    results["after_home"] = [app.manager.current, app.keeper.current is not None]
    fs_before = app.fs
    timeout_before = app.keeper.timeout
    tap(app.footer.ids.elderly_button)
    yield 0.2
    results["fs"] = [fs_before, app.fs]
    results["timeouts"] = [timeout_before, app.keeper.timeout]
    tap(app.footer.ids.language_button)
    yield 0.2
    results["lang"] = app.lang
    results["tile_title_en"] = find(app.screens["home"], lambda w: getattr(w, "action", None) == "guide").title
    results["home_label"] = app.footer.ids.home_button.text
    tap(app.footer.ids.home_button)  # already on home: asks whether to end
    yield from wait_until(lambda: bool(app.shell.dialogs))
    yield 0.2
    dialog = app.shell.dialogs[-1]
    results["confirm_dialog"] = type(dialog).__name__
    tap(dialog.ids.end_button)
    from kivy.core.window import Window
    from kivy.uix.modalview import ModalView
    results["dialogs_left_on_window"] = [type(w).__name__ for w in Window.children if isinstance(w, ModalView)]
    yield 0.3
    results["screen_after_end"] = app.manager.current
    results["wipes"] = [r["reason"] for r in app.keeper.wipe_records]
    results["lang_after_end"] = app.lang
    results["elderly_after_end"] = app.elderly
    tap(app.screens["attract"])   # the next citizen at once: nothing left of the last visit takes the tap
    yield 0.2
    results["next_visit_at_once"] = [app.manager.current, app.keeper.current is not None]


def scenario_identity(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None)
    yield from wait_until(lambda: app.reader_ready and app.devices.reader.status().state.value == "ready")
    sim = app.devices.reader.simulator
    sim.present("resident")
    yield from wait_until(lambda: bool(app.identity_name))
    yield 0.3  # let the home screen lay out before touching it
    results["screen_after_card"] = app.manager.current
    results["greeting"] = app.screens["home"].ids.welcome.text
    results["identity_type"] = app.keeper.current.identity.card_type
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "help"))
    yield 0.3
    results["task_with_identity"] = app.manager.current  # the card is known: no second ask
    help_screen = app.screens["help"]
    tap(help_screen.ids.proxy)
    yield 0.1
    for digit in "13912345678":
        tap(find(help_screen.ids.pad, lambda w: getattr(w, "text", None) == digit))
        yield 0.05
    results["help_address"] = help_screen.address_text
    tap(help_screen.ids.send)
    yield from wait_until(lambda: bool(help_screen.request_no), timeout=30)
    yield 0.2
    results["help_request_no"] = help_screen.request_no
    results["help_request_no_shown"] = help_screen.ids.request_no.text
    results["help_done_on_top"] = help_screen.ids.done_panel.height > help_screen.height * 0.9
    outbox = app.services.outbox
    yield from wait_until(lambda: outbox.status()["done"] >= 1, timeout=30)
    results["help_outbox"] = outbox.status()
    tap(help_screen.ids.done_home)
    yield from wait_until(lambda: app.manager.current == "home")
    yield 0.2
    tap(app.footer.ids.home_button)
    yield from wait_until(lambda: bool(app.shell.dialogs))
    yield 0.2
    tap(app.shell.dialogs[-1].ids.end_button)
    yield 0.3
    results["alert_after_end"] = app.card_alert is not None
    results["alert_title"] = app.card_alert.ids.title.text if app.card_alert else None
    results["spoken"] = list(app.voice.spoken)
    results["identity_after_end"] = app.identity_name
    results["session_after_end"] = app.keeper.current is not None
    sim.remove()
    yield from wait_until(lambda: app.card_alert is None)
    results["alert_after_removal"] = app.card_alert is not None
    # a task that needs identity asks for the card; an expired card is refused plainly
    tap(app.screens["attract"])
    yield 0.2
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "submit"))
    yield 0.3
    results["screen_for_task"] = app.manager.current
    sim.present("resident_expired")
    yield from wait_until(lambda: app.screens["identify"].state == "expired")
    results["expired_message"] = app.screens["identify"].message
    results["identity_when_expired"] = app.keeper.current.identity
    sim.remove()
    yield from wait_until(lambda: not app.card_on_reader)
    sim.present("resident")
    yield from wait_until(lambda: app.manager.current == "submit")
    results["task_after_identify"] = [app.manager.current, app.screens["submit"].step]
    sim.remove()
    yield from wait_until(lambda: not app.card_on_reader)
    yield from wait_until(lambda: bool(app.shell.dialogs))  # the card taken: is the visit over?
    yield 0.2
    results["asked_when_taken"] = type(app.shell.dialogs[-1]).__name__
    tap(app.shell.dialogs[-1].ids.end_button)
    yield 0.3
    results["alert_when_card_taken"] = app.card_alert is not None
    results["wipes"] = [r["had_identity"] for r in app.keeper.wipe_records]
    # the devices outlive the visits (a regression: ending a visit once dropped them)
    results["devices_after_end"] = [x is not None for x in (app.devices.reader, app.devices.scanner, app.devices.printer, app.devices.docprinter)]


def scenario_qr(app, clock, results):
    from kiosk.qr_content import receipt_qr_text

    yield from wait_until(lambda: app.catalogue_index is not None)
    yield from wait_until(lambda: app.devices.scanner is not None and app.devices.scanner.status().state.value == "ready")
    assert app.devices.scanner.simulator.scan(receipt_qr_text("ZW20200101-999999", app.services.base_url), wait=True)
    progress = app.screens["progress"]
    yield from wait_until(lambda: app.manager.current == "progress" and not progress.busy and progress.message)
    results["session"] = app.keeper.current is not None
    results["receipt_message"] = progress.message
    for text in ("https://evil.example.com/progress/ZW20261123-000042", "rm -rf /", "ZW2026;DROP TABLE"):
        assert app.devices.scanner.simulator.scan(text, wait=True)
        yield from wait_until(lambda: bool(app.shell.dialogs))
        results.setdefault("other", []).append(app.shell.dialogs[0].title)
        app.shell.dialogs[0].dismiss(animation=False)
        yield 0.3


def scenario_rating(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok)
    outbox = app.services.outbox
    # online: the rating is stored, thanked for, and delivered
    tap(app.screens["attract"])
    yield 0.3
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "rating"))
    yield 0.3
    rating = app.screens["rating"]
    results["screen"] = app.manager.current
    results["submit_disabled_before"] = rating.ids.submit_button.disabled
    tap(find(rating.ids.scores, lambda w: getattr(w, "score", None) == 2))
    yield 0.2
    tap(find(rating.ids.reasons, lambda w: getattr(w, "text", "") == "等待时间长"))
    yield 0.2
    results["chosen"] = [rating.score, list(rating.reasons)]
    tap(rating.ids.submit_button)
    yield from wait_until(lambda: bool(app.shell.dialogs))
    results["online_message"] = app.shell.dialogs[-1].body
    yield from wait_until(lambda: outbox.status()["pending"] + outbox.status()["inflight"] == 0, timeout=30)
    results["online_status"] = outbox.status()
    app.shell.dialogs[-1].dismiss(animation=False)
    # offline: the platform goes away; the rating is kept and the citizen is told so plainly
    app.services.demo.stop()
    app.status.probe_network()
    yield from wait_until(lambda: not app.network_ok)
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "rating"))
    yield 0.3
    tap(find(rating.ids.scores, lambda w: getattr(w, "score", None) == 5))
    yield 0.2
    tap(rating.ids.submit_button)
    yield from wait_until(lambda: bool(app.shell.dialogs))
    results["offline_message"] = app.shell.dialogs[-1].body
    results["offline_status"] = outbox.status()
    results["header_offline"] = app.status_line
    # the network returns: the kiosk notices and sends at once
    app.services.demo.start()
    app.services.demo.wait_ready()
    app.status.probe_network()
    yield from wait_until(lambda: outbox.status()["pending"] + outbox.status()["inflight"] == 0, timeout=60)
    results["final_status"] = outbox.status()
    yield from wait_until(lambda: app.network_ok and app.pending_uploads == 0)
    results["header_final"] = app.status_line


def scenario_submit(app, clock, results):
    import requests

    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    app.devices.reader.simulator.present("resident")
    yield from wait_until(lambda: bool(app.identity_name))
    yield 0.3
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "submit"))
    yield 0.4
    submit = app.screens["submit"]
    results["first_step"] = submit.step
    submittable = [i for i in app.catalogue.items.values() if i.kiosk_submittable]
    # a three-material application, as the issue asks: the first item with at least three documents
    item = next(i for i in sorted(submittable, key=lambda i: i.id) if len(i.materials) >= 3)
    results["item"] = item.id
    choice = find(submit.ids.choices, lambda w: getattr(w, "item_id", None) == item.id)
    submit.ids.choices_scroll.scroll_to(choice)
    yield 0.3
    tap(choice)
    yield 0.4
    results["materials_step"] = submit.step
    results["next_disabled"] = submit.ids.materials_next.disabled
    capture = app.screens["capture"]
    wanted = [i for i, m in enumerate(item.materials) if m.required]
    wanted += [i for i, m in enumerate(item.materials) if not m.required][:max(0, 3 - len(wanted))]
    results["captured_materials"] = len(wanted)
    for index in wanted:
        line = find(submit.ids.materials, lambda w: type(w).__name__ == "MaterialLine" and w.index == index)
        submit.ids.materials.parent.scroll_to(line)
        yield 0.3
        button = find(line, lambda w: type(w).__name__ == "BigButton")
        if os.environ.get("UI_DEBUG_PNG"):
            from kiosk.app import save_window_png
            save_window_png(os.environ["UI_DEBUG_PNG"])
            results["button_pos"] = [button.to_window(*button.center), button.size, line.size, line.pos]
        tap(button)
        yield from wait_until(lambda: app.manager.current == "capture")
        yield from wait_until(lambda: capture.pages >= 1, timeout=40)   # auto-capture when the page is still
        if index == wanted[0]:  # retake once: delete the page, then take it with the big button
            yield 0.3
            tap(capture.ids.retake)
            yield from wait_until(lambda: capture.pages == 0)
            results["after_delete"] = [capture.pages, app.flows["submit"].draft().count(index),
                                       len(capture.ids.thumbs.children)]
            tap(capture.ids.shoot)
            yield from wait_until(lambda: capture.pages >= 1, timeout=40)
        results.setdefault("preview_seen", []).append(capture.preview_texture is not None)
        tap(capture.ids.capture_done)
        yield from wait_until(lambda: app.manager.current == "submit")
        yield 0.3
    results["next_disabled_after"] = submit.ids.materials_next.disabled
    tap(submit.ids.materials_next)
    yield 0.3
    results["contact_step"] = submit.step
    for digit in "13800138000":
        tap(find(submit, lambda w: type(w).__name__ == "PadKey" and w.text == digit and not w.disabled))
        yield 0.05
    results["phone"] = submit.phone
    tap(submit.ids.post)
    yield 0.2
    tap(submit.ids.contact_next)
    yield 0.3
    results["review_step"] = submit.step
    results["review_text"] = submit.review_text
    # offline first: the platform is gone when the citizen confirms
    app.services.demo.stop()
    app.status.probe_network()
    yield from wait_until(lambda: not app.network_ok)
    tap(submit.ids.confirm)
    yield from wait_until(lambda: submit.step == "done", timeout=30)
    results["receipt_no"] = submit.receipt_no
    results["done_message"] = submit.done_message
    results["qr"] = submit.qr_texture is not None
    offline = app.services.outbox.status()  # queued, not delivered: waiting, or leased by a sender trying the dead link
    results["pending_offline"] = offline["pending"] + offline["inflight"]
    yield from wait_until(lambda: app.devices.printer.simulator.jobs_printed >= 1, timeout=20)
    results["printed"] = app.devices.printer.simulator.jobs_printed
    # then online: the outbox delivers it, once
    app.services.demo.start()
    app.services.demo.wait_ready()
    app.status.probe_network()
    outbox = app.services.outbox
    yield from wait_until(lambda: outbox.status()["pending"] + outbox.status()["inflight"] == 0, timeout=60)
    results["outbox_final"] = outbox.status()
    headers = {"Authorization": "Bearer demo-token", "X-Kiosk-Id": app.cfg.kiosk.id}
    answer = requests.get(f"{app.services.base_url}/api/v1/applications/{submit.receipt_no}", headers=headers, timeout=10)
    results["lookup_status"] = answer.status_code
    results["lookup"] = answer.json()
    mine = requests.get(f"{app.services.base_url}/api/v1/applications", params={"id_number": "450329198802140427"},
                        headers=dict(headers, **{"X-Subject-Id-Number": "450329198802140427"}), timeout=10).json()
    apps = mine.get("items", []) if isinstance(mine, dict) else mine
    results["same_receipt_count"] = sum(1 for a in apps if a.get("receipt_no") == submit.receipt_no)
    # the citizen comes back and scans the receipt's QR code: progress lookup opens on it
    from kiosk.qr_content import receipt_qr_text

    assert app.devices.scanner.simulator.scan(receipt_qr_text(submit.receipt_no, app.services.base_url), wait=True)
    progress = app.screens["progress"]
    yield from wait_until(lambda: app.manager.current == "progress" and not progress.busy
                          and (progress.results or progress.message), timeout=30)
    results["scanned_lookup"] = [a.get("receipt_no") for a in progress.results]
    # and typing the kiosk-made number (8 digits after the dash) on the keypad finds it too
    progress.reset()
    yield 0.3
    for digit in submit.receipt_no.replace("ZW", "").replace("-", ""):
        tap(find(progress.ids.pad, lambda w: getattr(w, "text", None) == digit))
        yield 0.05
    results["typed_receipt"] = progress.receipt_text
    tap(progress.ids.search_button)
    yield from wait_until(lambda: not progress.busy and (progress.results or progress.message), timeout=30)
    results["typed_lookup"] = [a.get("receipt_no") for a in progress.results]
    app.devices.reader.simulator.remove()
    yield from wait_until(lambda: not app.card_on_reader)


def scenario_certificates(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    app.devices.reader.simulator.present("resident")
    yield from wait_until(lambda: bool(app.identity_name))
    yield 0.3
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "certificates"))
    screen = app.screens["certificates"]
    yield from wait_until(lambda: app.manager.current == "certificates" and not screen.busy)
    yield 0.4
    rows = [w for w in screen.ids.rows.children if not w.expired]
    results["titles"] = [w.title for w in screen.ids.rows.children]
    yield 0.3
    tap(rows[-1])
    yield from wait_until(lambda: screen.step == "preview" and not screen.busy, timeout=40)
    results["preview"] = screen.preview_texture is not None and screen.preview_texture.size[0] > 100
    if os.environ.get("UI_DEBUG_PNG"):
        yield 0.5
        from kiosk.app import save_window_png
        save_window_png(os.environ["UI_DEBUG_PNG"])
    slips_before = app.devices.printer.simulator.jobs_printed
    yield 0.4  # let the preview step lay out before touching its button
    tap(screen.ids.print_button)
    yield from wait_until(lambda: bool(app.shell.dialogs), timeout=60)
    results["dialog"] = [app.shell.dialogs[-1].title, app.shell.dialogs[-1].body]
    results["a4_printed"] = len(app.devices.docprinter.simulator.printed)
    yield from wait_until(lambda: app.devices.printer.simulator.jobs_printed > slips_before, timeout=20)
    results["slips"] = app.devices.printer.simulator.jobs_printed - slips_before
    report = app.devices.ledger.verify()
    results["ledger_ok"] = bool(getattr(report, "ok", report))
    app.devices.reader.simulator.remove()
    yield from wait_until(lambda: not app.card_on_reader)


def scenario_progress(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    tap(app.screens["attract"])
    yield 0.3
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "progress"))
    yield 0.3
    progress = app.screens["progress"]
    tap(progress.ids.by_card)
    yield 0.3
    results["asked_for_card"] = app.manager.current
    app.devices.reader.simulator.present("resident")
    yield from wait_until(lambda: app.manager.current == "progress" and not progress.busy and progress.results, timeout=30)
    results["by_card"] = [(a["receipt_no"], a["status"]) for a in progress.results]
    cards = [w for w in progress.ids.results.children if type(w).__name__ == "ApplicationCard"]
    results["card_text"] = [c.status_line + "\n" + c.history_text for c in cards]
    receipt = progress.results[0]["receipt_no"]
    # the same application by its number on the keypad
    progress.reset()
    digits = receipt.replace("ZW", "").replace("-", "")
    for digit in digits:
        tap(find(progress.ids.pad, lambda w: getattr(w, "text", None) == digit))
        yield 0.05
    results["typed"] = progress.receipt_text
    tap(progress.ids.search_button)
    yield from wait_until(lambda: not progress.busy and (progress.results or progress.message), timeout=30)
    results["by_number"] = [a["receipt_no"] for a in progress.results]
    app.devices.reader.simulator.remove()
    yield from wait_until(lambda: not app.card_on_reader)


def scenario_card_taken(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    sim = app.devices.reader.simulator
    sim.present("resident")
    yield from wait_until(lambda: bool(app.identity_name))
    yield 0.3
    end_button = app.footer.ids.end_visit_button
    visible = {}
    for action in ("guide", "progress", "certificates", "submit", "rating", "help"):
        tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == action))
        yield 0.4
        visible[app.manager.current] = [end_button.opacity == 1 and not end_button.disabled,
                                        end_button.text, end_button.height]
        app.show_screen("home")
        yield 0.2
    results["end_button"] = visible
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "certificates"))
    screen = app.screens["certificates"]
    yield from wait_until(lambda: app.manager.current == "certificates" and not screen.busy)
    yield 0.4
    rows = [w for w in screen.ids.rows.children if not w.expired]
    tap(rows[-1])
    yield from wait_until(lambda: screen.step == "preview" and not screen.busy, timeout=40)
    results["preview_before"] = screen.preview_texture is not None
    sim.remove()
    yield from wait_until(lambda: not app.card_on_reader)
    yield 0.3
    results["screen_after_removal"] = app.manager.current
    results["preview_after"] = screen.preview_texture is not None
    results["rows_after"] = len(screen.ids.rows.children)
    results["dialog"] = [type(d).__name__ for d in app.shell.dialogs]
    results["dialog_title"] = app.shell.dialogs[-1].title if app.shell.dialogs else ""
    results["session_kept"] = app.keeper.current is not None
    tap(app.shell.dialogs[-1].ids.end_button)
    yield 0.4
    results["after_end"] = [app.manager.current, app.keeper.current is None, app.card_alert is None,
                            [r["reason"] for r in app.keeper.wipe_records]]


def scenario_help_phones(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None)
    tap(app.screens["attract"])
    yield 0.3
    results["footer_hotline"] = [app.footer.ids.footer_hotline.text, app.footer.ids.footer_hotline.font_size]
    app.open_task("no-such-task", "某事项")          # not available here: an offer of help
    yield from wait_until(lambda: bool(app.shell.dialogs))
    yield 0.3
    dialog = app.shell.dialogs[-1]
    phones = dialog.ids.phones
    results["error_phones"] = [phones.text, phones.font_size, phones.height, dialog.ids.ok_button.font_size]
    dialog.dismiss(animation=False)
    yield 0.2
    app.shell.message("已打印", "请取走", offer_help=False)
    yield 0.3
    results["success_phones"] = [app.shell.dialogs[-1].ids.phones.text, app.shell.dialogs[-1].ids.phones.height]


def scenario_reading_idle(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None)
    tap(app.screens["attract"])
    yield 0.2
    tap(app.footer.ids.elderly_button)                 # elderly mode: the countdown is spoken
    yield 0.2
    menu_quiet = app.keeper.timeout - app.keeper.warning
    item = next(iter(app.catalogue.items.values()))
    app.flows["guide"].open_item(item.id)
    yield 0.3
    results["screen"] = app.manager.current
    clock.now += menu_quiet + 1                         # a menu would ask now; a reading screen does not
    yield 0.6
    results["dialog_at_menu_time"] = app.idle_dialog is not None
    reading_quiet = app.keeper.timeout - app.keeper.warning
    results["quiet"] = [menu_quiet, reading_quiet]
    tap(app.root.children[-1])                          # touching anything (the header) restarts the wait
    yield 0.3
    clock.now += reading_quiet - 2
    yield 0.6
    results["dialog_before_reading_time"] = app.idle_dialog is not None
    clock.now += 3
    yield 0.6
    results["dialog_at_reading_time"] = app.idle_dialog is not None
    results["spoken"] = list(app.voice.spoken)
    tap(app.root.children[-1])
    yield 0.6
    results["dialog_after_touch"] = app.idle_dialog is not None


def scenario_elderly_offer(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    button = app.screens["attract"].ids.elderly_start
    results["attract_button"] = [button.height, app.screens["attract"].ids.elderly_label.font_size]
    tap(button)
    yield 0.3
    results["after_attract_button"] = [app.manager.current, app.elderly]
    toggle = app.screens["home"].ids.elderly_toggle
    results["home_toggle"] = [toggle.height, toggle.font_size, toggle.text]
    tap(toggle)
    yield 0.2
    results["after_home_toggle"] = app.elderly
    tap(toggle)
    yield 0.2
    sim = app.devices.reader.simulator
    sim.present("resident")
    yield from wait_until(lambda: bool(app.identity_name))
    yield 0.3
    tap(app.footer.ids.end_visit_button)
    yield from wait_until(lambda: bool(app.shell.dialogs))
    yield 0.2
    tap(app.shell.dialogs[-1].ids.end_button)
    yield 0.3
    results["ended_with_card_on_reader"] = [app.keeper.current is None, app.elderly, app.card_alert is not None]
    sim.remove()
    yield from wait_until(lambda: not app.card_on_reader)
    yield 0.2
    results["after_card_taken"] = app.elderly


def scenario_elderly_rows(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    app.devices.reader.simulator.present("resident")
    yield from wait_until(lambda: bool(app.identity_name))
    yield 0.3
    tap(app.footer.ids.elderly_button)
    yield 0.2
    results["elderly"] = app.elderly
    results["colours"] = {"bg": list(app.c_bg), "card": list(app.c_card), "line": list(app.c_line),
                          "disabled_bg": list(app.c_disabled_bg), "disabled_text": list(app.c_disabled_text)}
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "certificates"))
    screen = app.screens["certificates"]
    yield from wait_until(lambda: app.manager.current == "certificates" and not screen.busy)
    yield 0.5
    rows = list(screen.ids.rows.children)
    row = rows[0]
    row.detail = "出具单位：县人力资源和社会保障局城乡居民社会保险服务站代办  出具日期：2026-12-01  有效期至：长期有效"
    yield 0.3
    label = row.ids.detail
    results["detail"] = [label.shorten, label.texture_size[1], label.font_size, label.text_size[0], row.height]
    app.show_screen("rating")
    yield 0.3
    button = app.screens["rating"].ids.submit_button
    results["rating_submit"] = [button.disabled, button.text, list(button.disabled_color)]
    app.devices.reader.simulator.remove()
    yield from wait_until(lambda: not app.card_on_reader)


def window_rect(widget):
    x, y = widget.to_window(widget.x, widget.y)
    return [x, y, widget.width, widget.height]


def scenario_attract_clock(app, clock, results):
    """The attract screen's clock and date, in standard and elderly mode: their words and their slots."""
    yield from wait_until(lambda: bool(app.clock_text))
    for mode in ("standard", "elderly"):
        if mode == "elderly":
            app.elderly = True
        yield 0.4
        attract = app.screens["attract"]
        results[mode] = {name: window_rect(attract.ids[name]) + list(attract.ids[name].texture_size)
                         for name in ("clock", "date")}


def scenario_landscape_forms(app, clock, results):
    from kiosk.app import save_window_png

    yield from wait_until(lambda: app.catalogue_index is not None)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    app.devices.reader.simulator.present("resident")
    yield from wait_until(lambda: bool(app.identity_name))
    yield 0.3
    tap(app.footer.ids.elderly_button)
    yield 0.3
    results["window"] = list(window().size)
    results["footer_top"] = app.footer.top
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "rating"))
    yield 0.4
    rating = app.screens["rating"]
    tap(find(rating.ids.scores, lambda w: getattr(w, "score", None) == 2))
    yield 0.4
    results["scores"] = [window_rect(w) + [w.texture_size[0], w.texture_size[1]] for w in rating.ids.scores.children]
    results["rating_submit"] = window_rect(rating.ids.submit_button)
    if os.environ.get("UI_SHOTS"):
        save_window_png(os.path.join(os.environ["UI_SHOTS"], "rating.png"))
    app.show_screen("home")
    yield 0.2
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "help"))
    yield 0.4
    help_screen = app.screens["help"]
    tap(help_screen.ids.proxy)
    yield 0.1
    keys = [w for w in help_screen.ids.pad.children]
    results["pad"] = [window_rect(w) for w in keys]
    for digit in "13912345678":
        tap(find(help_screen.ids.pad, lambda w: getattr(w, "text", None) == digit))
        yield 0.05
    yield 0.2
    results["phone"] = help_screen.phone
    results["send"] = window_rect(help_screen.ids.send)
    if os.environ.get("UI_SHOTS"):
        save_window_png(os.path.join(os.environ["UI_SHOTS"], "help.png"))
    tap(help_screen.ids.send)
    yield from wait_until(lambda: bool(help_screen.request_no), timeout=30)
    results["sent"] = help_screen.request_no
    # a submission's contact step: the phone's keypad and how the result comes back
    submit = app.screens["submit"]
    app.show_screen("submit")
    submit.show_contact("困难残疾人生活补贴申请", "", "pickup")
    yield 0.4
    results["contact_pad"] = [window_rect(w) for w in submit.ids.contact_pad.children]
    results["delivery"] = [window_rect(submit.ids[name]) + list(submit.ids[name].texture_size)
                           for name in ("pickup", "post", "courier")]
    results["contact_next"] = window_rect(submit.ids.contact_next)
    if os.environ.get("UI_SHOTS"):
        save_window_png(os.path.join(os.environ["UI_SHOTS"], "contact.png"))
    # the progress keypad: beside the results in landscape, under them in portrait
    app.show_screen("home")
    yield 0.2
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "progress"))
    yield 0.4
    progress = app.screens["progress"]
    results["progress_field"] = window_rect(progress.ids.receipt.parent)
    results["progress_pad"] = [window_rect(w) for w in progress.ids.pad.children]
    by_card = [b for b in (progress.ids.by_card, progress.ids.by_card_side) if b.opacity and not b.disabled]
    results["progress_by_card"] = [window_rect(b) for b in by_card]
    if os.environ.get("UI_SHOTS"):
        save_window_png(os.path.join(os.environ["UI_SHOTS"], "progress.png"))
    app.devices.reader.simulator.remove()
    yield from wait_until(lambda: not app.card_on_reader)


def scenario_payment(app, clock, results):
    """自助缴费 against the demo platform: the phone is played by posting to the demo pay page the QR opens."""
    import requests

    def phone(event):
        answer = requests.post(screen.qr_text, data={"event": event}, timeout=10)
        assert answer.status_code == 200, answer.text

    def order_no():
        return screen.order_line.split()[1]

    def status(number):
        headers = {"Authorization": "Bearer demo-token", "X-Kiosk-Id": app.cfg.kiosk.id}
        return requests.get(f"{app.services.base_url}/api/v1/payments/{number}", headers=headers, timeout=10).json()

    def new_order(item_id):
        app.open_task("pay_offer", item_id=item_id, receipt_no="")     # as the end of a submission does
        yield from wait_until(lambda: bool(app.shell.dialogs), timeout=30)
        yield 0.3
        tap(app.shell.dialogs[-1].ids.pay_now_button)
        yield from wait_until(lambda: screen.step == "order" and bool(screen.qr_text), timeout=30)
        yield 0.3

    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    printer = app.devices.printer.simulator
    screen = app.screens["payment"]
    tap(app.screens["attract"])
    yield 0.3
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "pay"))
    yield 0.3
    results["asked_for_card"] = app.manager.current
    app.devices.reader.simulator.present("resident")
    yield from wait_until(lambda: app.manager.current == "payment" and not screen.busy and screen.step == "list"
                          and bool(screen.ids.rows.children), timeout=30)
    yield 0.3
    rows = [w for w in screen.ids.rows.children if type(w).__name__ == "DueRow"]
    results["rows"] = [(w.title, w.amount) for w in rows]
    taps_after_card = 0
    tap(rows[0])
    taps_after_card += 1
    yield from wait_until(lambda: screen.step == "order" and bool(screen.qr_text), timeout=30)
    yield 0.3
    results["order"] = [screen.item, screen.amount, screen.qr_text.startswith(app.services.base_url + "/demo-pay/RP")]
    results["big"] = [screen.ids.amount.font_size, list(screen.ids.qr.size), list(window().size)]
    slips = printer.jobs_printed
    phone("pay")
    yield from wait_until(lambda: screen.step == "outcome", timeout=30)
    yield from wait_until(lambda: printer.jobs_printed > slips, timeout=20)
    results["paid"] = [screen.outcome, screen.outcome_title, screen.outcome_body]
    results["taps_after_card"] = taps_after_card
    paid_no = order_no() if screen.order_line else ""
    results["paid_status"] = status(paid_no) if paid_no else None
    yield 0.5
    results["slips_for_pay"] = printer.jobs_printed - slips
    tap(screen.ids.back_button)         # the outcome has had its time to lay out
    yield from wait_until(lambda: screen.step == "list" and not screen.busy, timeout=30)
    results["after_paid_list"] = screen.message
    # failed, then a new order that expires, then 重新支付 again
    yield from new_order("HJ-001")
    failed_no = order_no()
    phone("fail")
    yield from wait_until(lambda: screen.step == "outcome", timeout=30)
    results["failed"] = [screen.outcome, screen.outcome_title, screen.outcome_body, screen.phones, screen.retry]
    yield 0.3      # let the outcome lay out before touching its button
    tap(screen.ids.retry_button)
    yield from wait_until(lambda: screen.step == "order" and bool(screen.qr_text), timeout=30)
    yield 0.2
    results["retry_new_order"] = order_no() != failed_no
    phone("expire")
    yield from wait_until(lambda: screen.step == "outcome", timeout=30)
    results["expired"] = [screen.outcome, screen.outcome_title, screen.outcome_body, screen.retry]
    # paying twice: charged once, shown paid once, one slip
    yield 0.3
    tap(screen.ids.retry_button)
    yield from wait_until(lambda: screen.step == "order" and bool(screen.qr_text), timeout=30)
    yield 0.2
    twice_no, slips = order_no(), printer.jobs_printed
    outcomes, shown = [], screen.show_outcome
    screen.show_outcome = lambda outcome: (outcomes.append(outcome.kind), shown(outcome))   # what the flow shows
    phone("pay")
    phone("pay_again")
    yield from wait_until(lambda: screen.step == "outcome", timeout=30)
    yield 3.0                                     # time for another poll, were the kiosk still asking
    results["twice"] = [outcomes, printer.jobs_printed - slips, status(twice_no)]
    # leaving before the payment arrives: the visit ends; the platform reconciles the payment
    yield from new_order("HJ-003")
    left_no, slips = order_no(), printer.jobs_printed
    tap(app.footer.ids.end_visit_button)
    yield from wait_until(lambda: bool(app.shell.dialogs))
    yield 0.2
    tap(app.shell.dialogs[-1].ids.end_button)
    yield 0.5
    results["after_leaving"] = [app.manager.current, app.keeper.current is None, screen.qr_text, screen.item]
    answer = requests.post(f"{app.services.base_url}/api/v1/test/payments/{left_no}/events",
                           json={"event": "pay"}, headers={"Authorization": "Bearer demo-token"}, timeout=10)
    results["late_pay"] = answer.json()["outcome"]
    yield 3.0
    results["left_status"] = status(left_no)["status"]
    results["slips_after_leaving"] = printer.jobs_printed - slips
    app.devices.reader.simulator.remove()
    yield from wait_until(lambda: not app.card_on_reader)


def scenario_payment_offline(app, clock, results):
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    app.services.demo.stop()
    app.status.probe_network()
    yield from wait_until(lambda: not app.network_ok)
    screen = app.screens["payment"]
    tap(app.screens["attract"])
    yield 0.3
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "pay"))
    yield 0.3
    app.devices.reader.simulator.present("resident")
    yield from wait_until(lambda: app.manager.current == "payment" and screen.step == "message", timeout=60)
    yield 0.3
    results["message"] = [screen.outcome_body, screen.phones]
    results["outbox"] = app.services.outbox.status()
    app.devices.reader.simulator.remove()
    yield from wait_until(lambda: not app.card_on_reader)


SCENARIOS = {"payment": scenario_payment, "payment_offline": scenario_payment_offline, "attract_clock": scenario_attract_clock, "landscape_forms": scenario_landscape_forms, "elderly_rows": scenario_elderly_rows, "elderly_offer": scenario_elderly_offer, "reading_idle": scenario_reading_idle, "help_phones": scenario_help_phones, "card_taken": scenario_card_taken, "progress": scenario_progress, "certificates": scenario_certificates, "submit": scenario_submit, "rating": scenario_rating, "qr": scenario_qr, "identity": scenario_identity, "browse": scenario_browse, "idle": scenario_idle, "tiles": scenario_tiles}


def drive(app, steps, outcome: dict) -> None:
    """The app's scripted-steps driver (imported once Kivy is set up)."""
    from kiosk.app import drive as play_steps

    play_steps(app, steps, outcome)


def play(cfg, scenario, folder: Path) -> int:
    """Start the app on ``cfg`` in this process (``UI_SIZE=1920x1080`` for landscape) and play
    ``scenario(app, clock, results)`` on its clock; print the results as JSON (the test reads the
    last line). The exit code: 0 when the scenario ended, 1 when it failed."""
    from kiosk import ui_env

    width, height = cfg.screen.width, cfg.screen.height
    if os.environ.get("UI_SIZE"):      # e.g. 1920x1080: the same scenario in landscape
        width, height = (int(v) for v in os.environ["UI_SIZE"].split("x"))
    ui_env.prepare(width, height, kivy_home=folder / "kivy")

    from kiosk.app import KioskApp
    from kiosk.logging_setup import install

    install(cfg.paths.log_dir)
    clock = FakeClock()
    results: dict = {}
    outcome = {"ok": False}
    KioskApp(cfg, on_started=lambda app: drive(app, scenario(app, clock, results), outcome), monotonic=clock).run()
    if not outcome["ok"]:
        print(outcome.get("error", "scenario did not finish"), json.dumps(results, ensure_ascii=False, default=str),
              file=sys.stderr)
        return 1
    print(json.dumps(results, ensure_ascii=False, default=str))
    return 0


def main() -> int:
    name, data_dir = sys.argv[1], Path(sys.argv[2])
    from dataclasses import replace

    from kiosk.config import PathsSection, load_config

    cfg = load_config(None)
    cfg = replace(cfg, paths=PathsSection(data_dir=data_dir / "data", log_dir=data_dir / "log",
                                          key_file=data_dir / "keys" / "outbox.key"))
    return play(cfg, SCENARIOS[name], data_dir)


if __name__ == "__main__":
    sys.exit(main())
