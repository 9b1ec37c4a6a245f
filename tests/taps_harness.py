"""Count what each citizen's task costs in the real app: taps, typed characters, pages captured and
seconds on the Kivy clock. Run as a subprocess by tests/test_taps.py:

    python tests/taps_harness.py DATA_DIR [elderly]      (UI_SIZE=1920x1080 for landscape)

Every task starts a fresh visit. Taps are simulated touches on the widgets a citizen would press
(a swipe to bring a row into view counts as one tap); the harness waits 0.3 s after each touch, as a
quick citizen would, and as long as the app needs for its answers. ``seconds`` is Kivy-clock time from
the task's first touch (or card) to its end. Prints one JSON line: {task: {taps, typed, captures,
seconds}}.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ui_harness import FakeClock, drive, find, tap, wait_until  # noqa: E402

PAUSE = 0.3     # after each touch: the time a quick citizen takes to see the answer and move a finger
PHONE = "13800138000"


class Meter:
    """Taps, typed characters and captured pages of the task under way, and its Kivy-clock time."""

    def __init__(self, app, name: str, results: dict):
        from kivy.clock import Clock

        self.app, self.name, self.results, self.clock = app, name, results, Clock
        self.taps = self.typed = self.captures = 0
        self.started = Clock.get_time()

    def tap(self, widget) -> float:
        """A touch on ``widget``; yields the pause after it."""
        assert widget is not None, f"{self.name}: nothing to tap (screen {self.app.manager.current})"
        self.taps += 1
        tap(widget)
        return PAUSE

    def key(self, widget) -> float:
        """A key of a number pad or keyboard: typing, counted apart from the taps."""
        assert widget is not None, f"{self.name}: no such key (screen {self.app.manager.current})"
        self.typed += 1
        tap(widget)
        return 0.05

    def scroll_to(self, scroll, widget) -> float:
        """A swipe, when the row is not in view."""
        if not _in_view(scroll, widget):
            self.taps += 1
            scroll.scroll_to(widget, animate=False)
        return PAUSE

    def done(self) -> None:
        self.results[self.name] = {"taps": self.taps, "typed": self.typed, "captures": self.captures,
                                   "seconds": round(self.clock.get_time() - self.started, 1)}


def _in_view(scroll, widget) -> bool:
    x, y = widget.to_window(*widget.center)
    sx, sy = scroll.to_window(scroll.x, scroll.y)
    return sx <= x <= sx + scroll.width and sy <= y <= sy + scroll.height


def tile(app, action):
    return find(app.screens["home"], lambda w: getattr(w, "action", None) == action)


def top_row(guide):
    """The first item row of the guide's list, as the citizen sees it."""
    rows: list = []
    find(guide.ids.list, lambda w: type(w).__name__ == "GuideRow" and w.item_id and rows.append(w) and False)
    return max(rows, key=lambda w: w.to_window(*w.center)[1]) if rows else None


def pad_key(root, text):
    return find(root, lambda w: getattr(w, "text", None) == text and hasattr(w, "on_release") and not w.disabled)


def new_visit(app, elderly: bool, card: bool):
    """Back to the attract screen with no card, then a visit: the card placed, or a touch."""
    if app.keeper.current is not None:
        app.end_session("next task", card_alert=False)
    if app.card_on_reader:
        app.devices.reader.simulator.remove()
        yield from wait_until(lambda: not app.card_on_reader)
    yield 0.3
    if card:
        app.devices.reader.simulator.present("resident")
        yield from wait_until(lambda: bool(app.identity_name) and app.manager.current == "home")
    else:
        tap(app.screens["attract"])
        yield from wait_until(lambda: app.manager.current == "home")
    if elderly and not app.elderly:
        app.toggle_elderly()
    yield 0.5


def scenario_tasks(app, clock, results, elderly: bool):
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok, timeout=60)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    measured: dict = {}

    # 办事指南: from home, a category chip, then the item
    yield from new_visit(app, elderly, card=False)
    m = Meter(app, "guide", measured)
    yield m.tap(tile(app, "guide"))
    guide = app.screens["guide"]
    yield from wait_until(lambda: app.manager.current == "guide" and guide.categories)
    chips = list(reversed(guide.ids.category_chips.children))
    yield m.tap(chips[1])                                          # the first category (chips[0] is 全部)
    yield from wait_until(lambda: top_row(guide) is not None)
    yield 0.3
    yield m.tap(top_row(guide))
    yield from wait_until(lambda: app.manager.current == "guide-detail")
    m.done()

    # 材料提交 with three materials, after the card
    yield from new_visit(app, elderly, card=True)
    m = Meter(app, "submission", measured)
    yield m.tap(tile(app, "submit"))
    submit = app.screens["submit"]
    yield from wait_until(lambda: app.manager.current == "submit" and submit.step == "choose")
    submittable = sorted((i for i in app.catalogue.items.values() if i.kiosk_submittable), key=lambda i: i.id)
    item = next(i for i in submittable if len(i.materials) >= 3)
    choice = find(submit.ids.choices, lambda w: getattr(w, "item_id", None) == item.id)
    yield m.scroll_to(submit.ids.choices_scroll, choice)
    yield m.tap(choice)
    yield from wait_until(lambda: submit.step == "materials")
    capture_flow, capture = app.flows["submit"].capture, app.screens["capture"]
    wanted = [i for i, mat in enumerate(item.materials) if mat.required]
    wanted += [i for i, mat in enumerate(item.materials) if not mat.required][:max(0, 3 - len(wanted))]
    line = find(submit.ids.materials, lambda w: type(w).__name__ == "MaterialLine" and w.index == wanted[0])
    yield m.scroll_to(submit.ids.materials.parent, line)
    yield m.tap(find(line, lambda w: type(w).__name__ == "BigButton"))
    draft = app.flows["submit"].draft()
    state = app.keeper.current.flow_state(_submission_state())
    for number, index in enumerate(wanted):
        yield from wait_until(lambda: app.manager.current == "capture" and state.capturing == index)
        while capture_flow._sides_left(index) > 0:      # automatic capture; the big button if it waits
            before = draft.count(index)
            deadline = time.monotonic() + 1.5
            while draft.count(index) == before and time.monotonic() < deadline:
                yield 0.1
            if draft.count(index) == before:
                tap(capture.ids.shoot)
                yield from wait_until(lambda: draft.count(index) > before, timeout=30)
            m.captures += 1
        yield 0.3
        last = number == len(wanted) - 1
        if capture.next_text and (last or capture.next_text.endswith(item.materials[wanted[number + 1]].name)):
            yield m.tap(capture.ids.next_material)    # 下一份: the next material, or after the last the contact step
        elif number < len(wanted) - 1:
            yield m.tap(capture.ids.capture_done)
            yield from wait_until(lambda: app.manager.current == "submit")
            following = find(submit.ids.materials, lambda w: type(w).__name__ == "MaterialLine" and w.index == wanted[number + 1])
            yield m.scroll_to(submit.ids.materials.parent, following)
            yield m.tap(find(following, lambda w: type(w).__name__ == "BigButton"))
        else:
            yield m.tap(capture.ids.capture_done)
    yield from wait_until(lambda: app.manager.current == "submit")
    if submit.step == "materials":
        yield from wait_until(lambda: not submit.ids.materials_next.disabled)
        yield m.tap(submit.ids.materials_next)
    yield from wait_until(lambda: submit.step == "contact")
    if submit.phone != PHONE:
        for digit in PHONE:
            yield m.key(pad_key(submit, digit))
    yield m.tap(submit.ids.contact_next)
    yield from wait_until(lambda: submit.step == "review")
    yield m.tap(submit.ids.confirm)
    yield from wait_until(lambda: submit.step == "done" and bool(submit.receipt_no), timeout=30)
    m.done()
    receipt_no = submit.receipt_no
    outbox = app.services.outbox
    yield from wait_until(lambda: outbox.status()["pending"] + outbox.status()["inflight"] == 0, timeout=60)

    # 办件查询 by the receipt's number on the keypad, then by its QR code
    yield from new_visit(app, elderly, card=False)
    m = Meter(app, "progress_number", measured)
    yield m.tap(tile(app, "progress"))
    progress = app.screens["progress"]
    yield from wait_until(lambda: app.manager.current == "progress")
    for digit in receipt_no.replace("ZW", "").replace("-", ""):
        yield m.key(pad_key(progress.ids.pad, digit))
    yield m.tap(progress.ids.search_button)
    yield from wait_until(lambda: not progress.busy and progress.results, timeout=30)
    m.done()
    yield from new_visit(app, elderly, card=False)
    from kiosk.qr_content import receipt_qr_text

    m = Meter(app, "progress_qr", measured)
    assert app.devices.scanner.simulator.scan(receipt_qr_text(receipt_no, app.services.base_url), wait=True)
    yield from wait_until(lambda: app.manager.current == "progress" and not progress.busy and progress.results, timeout=30)
    m.done()

    # 证明打印 after the card, then the rating it offers
    yield from new_visit(app, elderly, card=True)
    m = Meter(app, "certificate", measured)
    yield m.tap(tile(app, "certificates"))
    certificates = app.screens["certificates"]
    yield from wait_until(lambda: app.manager.current == "certificates" and not certificates.busy
                          and any(not w.expired for w in certificates.ids.rows.children), timeout=30)
    row = [w for w in certificates.ids.rows.children if not w.expired][-1]
    yield m.tap(row)
    yield from wait_until(lambda: certificates.step == "preview" and not certificates.busy, timeout=40)
    yield 0.3
    yield m.tap(certificates.ids.print_button)
    yield from wait_until(lambda: bool(app.shell.dialogs) and type(app.shell.dialogs[-1]).__name__ == "RatingOffer",
                          timeout=60)
    m.done()
    yield 0.3
    m = Meter(app, "rating_offered", measured)
    yield m.tap(app.shell.dialogs[-1].ids.rate_button)
    yield from rate(app, m)

    # 好差评 from home
    yield from new_visit(app, elderly, card=False)
    m = Meter(app, "rating", measured)
    yield m.tap(tile(app, "rating"))
    yield from rate(app, m)

    # the score buttons stay where they are when 不满意 opens the reasons: a second tap lands on the same choice
    yield from new_visit(app, elderly, card=False)
    app.open_task("rating")
    rating = app.screens["rating"]
    yield from wait_until(lambda: app.manager.current == "rating")
    yield 0.5

    def rects():
        return {w.score: [round(v) for v in (*w.to_window(w.x, w.y), w.width, w.height)] for w in rating.ids.scores.children}
    before = rects()
    unhappy = find(rating.ids.scores, lambda w: getattr(w, "score", None) == 2)
    tap(unhappy)
    yield 0.5
    after = rects()
    tap(unhappy)                                  # the same place again
    yield 0.3
    rating.set_call(True)                         # the call-back phone box too
    rating.editing = ""
    yield 0.5
    panel = [w for w in rating.ids.unhappy_panel.walk() if w is not rating.ids.unhappy_panel and w.height > 0
             and w.opacity > 0 and type(w).__name__ in ("Chip", "Button", "Text")]
    lowest_score = min(r[1] for r in after.values())
    measured["rating_stable"] = {"moved": before != after, "score_after_second_tap": rating.score,
                                 "panel_under_scores": all(w.to_window(w.x, w.top)[1] <= lowest_score + 1 for w in panel)}
    app.shell.close_dialogs()

    # 上门办/帮代办 after the card
    yield from new_visit(app, elderly, card=True)
    m = Meter(app, "home_visit", measured)
    yield m.tap(tile(app, "help"))
    help_screen = app.screens["help"]
    yield from wait_until(lambda: app.manager.current == "help")
    yield m.tap(help_screen.ids.home_visit)
    if help_screen.phone != PHONE:
        for digit in PHONE:
            yield m.key(pad_key(help_screen.ids.pad, digit))
    yield m.tap(help_screen.ids.send)
    yield from wait_until(lambda: bool(help_screen.request_no), timeout=30)
    m.done()

    app.end_session("measured", card_alert=False)
    app.devices.reader.simulator.remove()
    yield from wait_until(lambda: not app.card_on_reader)
    results.update(measured)


def rate(app, m):
    """5 非常满意, then 提交: the rating stored and thanked for."""
    rating = app.screens["rating"]
    yield from wait_until(lambda: app.manager.current == "rating")
    yield 0.2
    yield m.tap(find(rating.ids.scores, lambda w: getattr(w, "score", None) == 5))
    assert rating.score == 5, "the score button did not take the tap"
    yield m.tap(rating.ids.submit_button)
    yield from wait_until(lambda: app.manager.current == "home" and bool(app.shell.dialogs))
    m.done()
    app.shell.close_dialogs()


def _submission_state():
    from kiosk.flows.submission import SubmissionState

    return SubmissionState


def main() -> int:
    data_dir, elderly = Path(sys.argv[1]), "elderly" in sys.argv[2:]
    from dataclasses import replace

    from kiosk import ui_env
    from kiosk.config import PathsSection, load_config

    cfg = load_config(None)
    cfg = replace(cfg, paths=PathsSection(data_dir=data_dir / "data", log_dir=data_dir / "log",
                                          key_file=data_dir / "keys" / "outbox.key"))
    width, height = (int(v) for v in os.environ.get("UI_SIZE", f"{cfg.screen.width}x{cfg.screen.height}").split("x"))
    ui_env.prepare(width, height, kivy_home=data_dir / "kivy")

    from kiosk.app import KioskApp
    from kiosk.logging_setup import install

    install(cfg.paths.log_dir)
    clock = FakeClock()
    results: dict = {}
    outcome = {"ok": False}
    KioskApp(cfg, on_started=lambda app: drive(app, scenario_tasks(app, clock, results, elderly), outcome),
             monotonic=clock).run()
    if not outcome["ok"]:
        print(outcome.get("error", "scenario did not finish"), file=sys.stderr)
        return 1
    print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
