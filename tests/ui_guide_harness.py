"""Guide and English-mode scenarios for the real Kivy app, run like tests/ui_harness.py:

    python tests/ui_guide_harness.py SCENARIO DATA_DIR

They use ui_harness's helpers, its app start-up and its scenario stepping; only the scenarios live here.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import ui_harness  # noqa: E402
from ui_harness import button_with_text, find, tap, wait_until, window  # noqa: E402

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
MASKED = re.compile(r"[\u3400-\u9fff]+\*{1,}")


def platform_fragments(app) -> list[str]:
    """Every text the platform sends that may be shown as sent: the catalogue's own words, the demo
    people's applications and certificates (names of items, statuses, departments), longest first."""
    from importlib import resources

    fragments: set[str] = set()
    for item in app.catalogue.items.values():
        fragments.update((item.name, item.department, item.category, item.conditions, item.fees, item.fee_basis,
                          item.legal_basis, *item.steps))
        for m in item.materials:
            fragments.update((m.name, m.note))
    people = json.loads(resources.files("backend.seed").joinpath("demo_people.json").read_text(encoding="utf-8"))

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for v in value.values():
                yield from strings(v)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)
    fragments.update(strings(people))
    return sorted((f for f in fragments if f and CJK.search(f)), key=len, reverse=True)


def marked_platform(widget) -> bool:
    """A widget that shows the platform's content as sent, marked so by its class or an ancestor."""
    w = widget
    while w is not None:
        if type(w).__name__.startswith("Platform") or getattr(w, "platform", False) is True:
            return True
        parent = w.parent
        w = parent if parent is not w else None
    return False


def visible(widget) -> bool:
    w = widget
    while w is not None:
        if getattr(w, "opacity", 1) == 0 or getattr(w, "width", 1) <= 1 or getattr(w, "height", 1) <= 1:
            return False
        w = w.parent if w.parent is not w else None
    return True


def leftovers(app, where: str, fragments: list[str], found: list) -> None:
    """Chinese left in the kiosk's own widgets on the window now (the screen, header, footer, dialogs)."""
    toggle_text = app.tr(app.lang, "language")  # the language toggle names the other language
    roots = [app.root] + [w for w in window().children if w is not app.root]
    for root in roots:
        stack = [root]
        while stack:
            w = stack.pop()
            stack.extend(w.children)
            text = getattr(w, "text", None)
            if not isinstance(text, str) or not CJK.search(text) or text == toggle_text or not visible(w):
                continue
            if not _on_shown_screen(app, w) or marked_platform(w):
                continue
            rest = text
            for fragment in fragments:
                if fragment in rest:
                    rest = rest.replace(fragment, "")
            for name in (app.identity_name or "",):
                if name:
                    rest = rest.replace(name, "")
            rest = MASKED.sub("", rest)  # the citizen's own data, shown masked (an address, a name)
            if CJK.search(rest):
                found.append({"where": where, "widget": type(w).__name__, "text": text[:80]})


def _on_shown_screen(app, widget) -> bool:
    """False for widgets of screens that are not the one shown (the manager keeps them all)."""
    from kivy.uix.screenmanager import Screen

    w = widget
    while w is not None:
        if isinstance(w, Screen):
            return w is app.manager.current_screen
        w = w.parent if w.parent is not w else None
    return True


def close_dialogs(app):
    while app.shell.dialogs:
        app.shell.dialogs[-1].dismiss(animation=False)
        yield 0.2


def scenario_english_walk(app, clock, results):
    """Every screen in English mode; what of the kiosk's own is still Chinese."""
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    fragments = platform_fragments(app)
    found: list = []
    app.lang = "en"
    yield 0.3
    attract = app.screens["attract"]
    for _ in range(len(app.notices) + 1):
        attract.rotate_notice()
        yield 0.05
        leftovers(app, "attract", fragments, found)
    tap(attract)
    yield 0.3
    if app.lang != "en":
        tap(app.footer.ids.language_button)
        yield 0.3
    results["lang"] = app.lang
    leftovers(app, "home", fragments, found)
    # the guide: quick words, chips, a list, an item with English and one without
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "guide"))
    yield 0.4
    guide = app.screens["guide"]
    leftovers(app, "guide", fragments, found)
    tap(button_with_text("Allowance"))
    yield 0.3
    results["quick_word_query"] = [guide.query, guide.ids.query_label.text]
    leftovers(app, "guide quick word", fragments, found)
    guide.open_item("SB-001")
    yield 0.4
    detail = app.screens["guide-detail"]
    results["english_item"] = [detail.title, detail.note]
    leftovers(app, "guide detail (English item)", fragments, found)
    tap(detail.ids.notice_button)
    yield from wait_until(lambda: bool(app.shell.dialogs), timeout=30)
    yield 0.2
    leftovers(app, "notice printed dialog", fragments, found)
    yield from close_dialogs(app)
    job = app.devices.printer.simulator.jobs[-1]
    results["notice_cjk"] = CJK.findall(job.text)
    chinese_only = next(i for i in app.catalogue.items.values() if i.en is None)
    guide.open_item(chinese_only.id)
    yield 0.4
    results["chinese_item"] = [detail.title, detail.note, detail.ids.chinese_only.text]
    leftovers(app, "guide detail (Chinese-only item)", fragments, found)
    # the idle question
    clock.now += app.keeper.timeout - app.keeper.warning + 1
    yield from wait_until(lambda: app.idle_dialog is not None)
    yield 0.2
    leftovers(app, "idle dialog", fragments, found)
    tap(app.idle_dialog.ids.continue_button)
    yield 0.4
    # a task that needs the card asks for it
    app.show_screen("home")
    yield 0.3
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "certificates"))
    yield 0.5
    results["asked_for_card"] = app.manager.current
    leftovers(app, "identify", fragments, found)
    # every task screen, with a card on the reader where the task needs one
    app.devices.reader.simulator.present("resident")
    yield from wait_until(lambda: bool(app.identity_name))
    yield 0.4
    leftovers(app, "home with card", fragments, found)
    actions = [w.action for w in app.screens["home"].ids.tiles.children if getattr(w, "action", "") not in ("", "guide")]
    results["tasks_walked"] = sorted(actions)
    for action in actions:
        app.show_screen("home")
        yield 0.3
        tap(find(app.screens["home"], lambda w, a=action: getattr(w, "action", None) == a))
        yield 1.5
        leftovers(app, action, fragments, found)
        yield from close_dialogs(app)
    # the end of a visit: the question, then the card alert
    app.show_screen("home")
    yield 0.3
    tap(app.footer.ids.home_button)
    yield from wait_until(lambda: bool(app.shell.dialogs))
    yield 0.2
    leftovers(app, "end visit question", fragments, found)
    yield from close_dialogs(app)
    results["leftovers"] = found
    app.devices.reader.simulator.remove()
    yield from wait_until(lambda: not app.card_on_reader)


def scenario_guide_taps(app, clock, results):
    """Taps from the home screen to a guide's detail: a quick word, then the item (UI_ELDERLY: in
    elderly mode, switched on from the attract screen's big button)."""
    import os

    yield from wait_until(lambda: app.catalogue_index is not None)
    if os.environ.get("UI_ELDERLY"):
        tap(app.screens["attract"].ids.elderly_start)
    else:
        tap(app.screens["attract"])
    yield 0.4
    results["elderly"] = app.elderly
    taps = 0
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "guide"))
    taps += 1
    yield 0.4
    tap(button_with_text("低保"))
    taps += 1
    yield 0.4
    guide = app.screens["guide"]
    row = find(guide.ids.list, lambda w: type(w).__name__ == "GuideRow" and w.item_id == "SJ-001")
    results["row_found"] = row is not None
    if row is not None:
        tap(row)
        taps += 1
    yield 0.4
    results["screen"] = app.manager.current
    results["item"] = app.screens["guide-detail"].title
    results["taps"] = taps


def scenario_guide_shots(app, clock, results):
    """Pictures of a guide's detail (top, and its printable form) and of its printed notice, in the
    language and mode of UI_LANG / UI_ELDERLY, into the folder UI_SHOTS."""
    import os

    from kiosk.app import save_window_png

    shots, suffix = os.environ["UI_SHOTS"], os.environ.get("UI_SUFFIX", "")
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok)
    tap(app.screens["attract"])
    yield 0.3
    app.lang = os.environ.get("UI_LANG", "zh")
    if os.environ.get("UI_ELDERLY") and not app.elderly:
        app.toggle_elderly()
    yield 0.3
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "guide"))
    yield 0.4
    app.screens["guide"].open_item(os.environ.get("UI_ITEM", "SB-001"))
    yield 0.6
    save_window_png(os.path.join(shots, f"detail{suffix}.png"))
    detail = app.screens["guide-detail"]
    row = find(detail.ids.body, lambda w: type(w).__name__ == "MaterialRow" and w.form)
    results["form_row"] = row is not None
    if row is not None:
        detail.ids.scroller.scroll_to(row, padding=40, animate=False)
        yield 0.5
        save_window_png(os.path.join(shots, f"form{suffix}.png"))
        results["form_buttons"] = [row.ids.blank_form.text, row.ids.filled_form.text]
    tap(detail.ids.notice_button)
    yield from wait_until(lambda: bool(app.shell.dialogs), timeout=30)
    yield 0.3
    save_window_png(os.path.join(shots, f"notice-dialog{suffix}.png"))
    job = app.devices.printer.simulator.jobs[-1]
    job.image.save(os.path.join(shots, f"notice-paper{suffix}.png"))
    results["qr"] = [r.text for r in __import__("zxingcpp").read_barcodes(job.image.convert("L"))]
    yield from close_dialogs(app)


ui_harness.SCENARIOS.update({"guide_shots": scenario_guide_shots, "english_walk": scenario_english_walk, "guide_taps": scenario_guide_taps})

if __name__ == "__main__":
    sys.exit(ui_harness.main())
