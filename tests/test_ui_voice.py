"""A voice for every screen, in the real app under Xvfb (like tests/test_ui.py): every screen has an
intro; in elderly mode each main screen says its intro when it comes up; 读给我听 reads it in
standard mode; a button held says its label and is not pressed, a quick tap still presses; a
printed slip's facts are read aloud; the card holder's name and ID number are never spoken. A
fake espeak-ng on PATH records what the app asked the real subprocess path to say.
Run as ``python tests/test_ui_voice.py SCENARIO DIR`` by the tests below."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.ui

FAKE_ESPEAK = """#!{python}
import json, os, sys
if sys.argv[1:] == ["--voices=cmn"]:
    print("Pty Language       Age/Gender VoiceName          File                 Other Languages")
    print(" 5  cmn             --/M      Chinese_(Mandarin)   sit/cmn              (zh 5)")
    print(" 5  cmn-latn-pinyin --/M      Chinese_(Pinyin)     sit/cmn-Latn-pinyin  (zh 5)")
    sys.exit(0)
with open(os.environ["FAKE_ESPEAK_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[1:], ensure_ascii=False) + "\\n")
"""


def install_fake_espeak(folder: Path) -> Path:
    """A program called espeak-ng that writes its arguments, one JSON line per call, to the log."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    program = bin_dir / "espeak-ng"
    program.write_text(FAKE_ESPEAK.format(python=sys.executable), encoding="utf-8")
    program.chmod(0o755)
    return bin_dir


# ---- in the app's process -------------------------------------------------------------------------
def hold(app, widget):
    """Touch ``widget`` and keep the finger there until the kiosk has said something (the Kivy
    clock runs meanwhile), then lift it."""
    from kivy.tests.common import UnitTestTouch
    from ui_harness import wait_until

    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    before = len(app.voice.spoken)
    touch.touch_down()
    yield 0.7
    yield from wait_until(lambda: len(app.voice.spoken) > before, timeout=10)
    touch.touch_up()
    yield 0.3


def reached_espeak(app, text: str):
    """Wait until the fake espeak-ng was run with ``text`` (the voice thread is asynchronous)."""
    from ui_harness import wait_until

    log = Path(os.environ["FAKE_ESPEAK_LOG"])
    yield from wait_until(lambda: log.exists() and any(json.loads(line)[-1] == text
                                                       for line in log.read_text(encoding="utf-8").splitlines()))


def scenario_screens(app, clock, results):
    from kiosk.i18n import STRINGS
    from ui_harness import find, tap, wait_until

    guide = app.voice_guide
    results["intros"] = {name: guide.intro_key(screen) for name, screen in app.screens.items()}
    results["intro_texts"] = {name: [key in STRINGS, app.tr("zh", key), app.tr("en", key)]
                              for name, key in results["intros"].items() if key}
    yield from wait_until(lambda: app.catalogue_index is not None and app.network_known and app.network_ok)
    yield from wait_until(lambda: app.devices.reader.status().state.value == "ready")
    sim = app.devices.reader.simulator
    tap(app.screens["attract"].ids.elderly_start)       # the visit starts in elderly mode
    yield 0.3
    results["home_said"] = list(app.voice.spoken)
    sim.present("resident")
    yield from wait_until(lambda: bool(app.identity_name))
    yield 0.3
    holder = app.keeper.current.identity
    results["secrets"] = [holder.name, holder.id_number]
    said = {}
    for action in ("guide", "progress", "certificates", "submit", "rating", "help"):
        before = len(app.voice.spoken)
        tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == action))
        yield 0.5
        said[app.manager.current] = app.voice.spoken[before:]
        app.show_screen("home")
        yield 0.2
    results["said"] = said
    # a printed slip is read aloud: the one-time notice of the first item
    item = next(iter(app.catalogue.items.values()))
    app.flows["guide"].open_item(item.id)
    yield 0.4
    before = len(app.voice.spoken)
    tap(app.screens["guide-detail"].ids.notice_button)
    yield from wait_until(lambda: any("已打印" in s for s in app.voice.spoken[before:]), timeout=30)
    yield 0.3
    results["slip_said"] = app.voice.spoken[before:]
    app.shell.close_dialogs()
    # personal data fed in is refused, never spoken
    results["refused"] = [app.voice.say(f"您好，{holder.name}"), app.voice.say(f"号码 {holder.id_number}"),
                          app.voice.say("请联系 139 1234 5678"), app.voice.say("您好，张某")]
    sim.remove()
    yield from wait_until(lambda: not app.card_on_reader)
    yield 0.3
    yield from reached_espeak(app, app.voice.spoken[-1])
    results["all_spoken"] = list(app.voice.spoken)


def scenario_request_and_hold(app, clock, results):
    from ui_harness import find, tap, wait_until

    yield from wait_until(lambda: app.catalogue_index is not None)
    tap(app.screens["attract"])                          # standard mode
    yield 0.3
    results["elderly"] = app.elderly
    results["quiet_on_entry"] = list(app.voice.spoken)
    read_aloud = app.header.ids.read_aloud
    results["button"] = [read_aloud.text, read_aloud.height, read_aloud.font_size]
    tap(read_aloud)
    yield 0.3
    results["read_home"] = list(app.voice.spoken)
    # hold a tile: it says its name and does not open its task
    tile = find(app.screens["home"], lambda w: getattr(w, "action", None) == "rating")
    before = len(app.voice.spoken)
    yield from hold(app, tile)
    results["tile_held"] = [app.voice.spoken[before:], app.manager.current, tile.state]
    # a quick tap on the same tile still opens it, at once
    tap(tile)
    yield 0.3
    results["tile_tapped"] = app.manager.current
    tap(read_aloud)
    yield 0.3
    results["read_rating"] = app.voice.spoken[-1]
    # a greyed-out button says what it is and why it is grey
    submit = app.screens["rating"].ids.submit_button
    before = len(app.voice.spoken)
    yield from hold(app, submit)
    results["disabled_held"] = [submit.disabled, app.voice.spoken[before:], submit.text]
    # the progress screen's number pad: a held key says its digit and types nothing; taps type
    app.show_screen("home")
    yield 0.2
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "progress"))
    yield 0.4
    progress = app.screens["progress"]
    key = find(progress.ids.pad, lambda w: getattr(w, "text", None) == "7")
    before = len(app.voice.spoken)
    yield from hold(app, key)
    results["key_held"] = [app.voice.spoken[before:], progress.receipt_text, app.manager.current]
    for digit in "139":
        tap(find(progress.ids.pad, lambda w: getattr(w, "text", None) == digit))
        yield 0.05
    yield 0.1
    results["typed"] = progress.receipt_text
    # a row in a scrolling list (the guide's items): held, it says its name and does not open
    app.show_screen("home")
    yield 0.2
    tap(find(app.screens["home"], lambda w: getattr(w, "action", None) == "guide"))
    yield 0.5
    rows = []
    find(app.screens["guide"].ids.list, lambda w: type(w).__name__ == "GuideRow" and w.item_id and rows.append(w))
    row = max(rows, key=lambda w: w.to_window(*w.center)[1])         # the top row, clear of the keyboard
    before = len(app.voice.spoken)
    yield from hold(app, row)
    results["row_held"] = [app.voice.spoken[before:], row.name, app.manager.current]
    tap(row)
    yield 0.4
    results["row_tapped"] = app.manager.current
    # the footer's buttons speak when held too, and are not pressed
    before = len(app.voice.spoken)
    yield from hold(app, app.footer.ids.elderly_button)
    results["footer_held"] = [app.voice.spoken[before:], app.elderly]
    # with a dialog open, the dialog takes the touch: 读给我听 under it is not pressed
    app.shell.message("已打印", "请取走", offer_help=False)
    yield 0.3
    before = len(app.voice.spoken)
    tap(read_aloud)
    yield 0.3
    results["under_dialog"] = [app.voice.spoken[before:], len(app.shell.dialogs)]
    app.shell.close_dialogs()
    yield 0.2
    # 读给我听 works on the attract screen as well (it does not start a visit)
    app.end_session("test")
    yield 0.3
    before = len(app.voice.spoken)
    tap(read_aloud)
    yield 0.3
    results["attract_read"] = [app.voice.spoken[before:], app.manager.current]
    yield from reached_espeak(app, app.voice.spoken[-1])
    results["all_spoken"] = list(app.voice.spoken)


SCENARIOS = {"screens": scenario_screens, "request_and_hold": scenario_request_and_hold}


def main() -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    name, folder = sys.argv[1], Path(sys.argv[2])
    from dataclasses import replace

    from kiosk.config import PathsSection, load_config

    cfg = load_config(None)
    cfg = replace(cfg, paths=PathsSection(data_dir=folder / "data", log_dir=folder / "log",
                                          key_file=folder / "keys" / "outbox.key"))
    from ui_harness import play

    return play(cfg, SCENARIOS[name], folder)


# ---- the tests ---------------------------------------------------------------------------------------
def run(name: str, tmp_path: Path, display: str, size: str = "") -> tuple[dict, list[list[str]]]:
    log = tmp_path / "espeak.jsonl"
    bin_dir = install_fake_espeak(tmp_path)
    environ = dict(os.environ, DISPLAY=display, XDG_DATA_HOME=str(tmp_path / "xdg"), FAKE_ESPEAK_LOG=str(log),
                   PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    if size:
        environ["UI_SIZE"] = size
    proc = subprocess.run([sys.executable, __file__, name, str(tmp_path)], capture_output=True, text=True,
                          timeout=240, env=environ, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    return json.loads(proc.stdout.strip().splitlines()[-1]), calls


def kiosk_files(tmp_path: Path):
    demo = tmp_path / "data" / "demo"
    return [p for p in tmp_path.rglob("*") if p.is_file() and demo not in p.parents]


def test_every_screen_speaks_its_intro_in_elderly_mode_and_never_the_holder(tmp_path, display):
    r, calls = run("screens", tmp_path, display)
    assert r["intros"] and all(r["intros"].values()), r["intros"]          # every screen declares one
    for name, (known, zh, en) in r["intro_texts"].items():
        assert known and zh.strip() and en.strip() and zh != en, name
    intro = {name: r["intro_texts"][name][1] for name in r["intros"]}
    assert r["home_said"][-1] == intro["home"]
    for name in ("guide", "progress", "certificates", "submit", "rating", "help"):
        assert intro[name] in r["said"][name], (name, r["said"][name])
    slip = " ".join(r["slip_said"])
    assert "一次性告知单已打印" in slip and "办理事项" in slip
    assert r["refused"] == [False, False, False, True]
    name, number = r["secrets"]
    for said in r["all_spoken"]:
        assert name not in said and number not in said and name[1:] not in said
    # the real subprocess path ran espeak-ng with the Mandarin (cmn) voice, text after "--"
    assert calls, "espeak-ng was never called"
    assert all(c[0] == "-v" and c[1].startswith("cmn") and c[2] == "-s" and c[-2] == "--" for c in calls)
    assert {c[-1] for c in calls} <= set(r["all_spoken"]) and calls[-1][-1] == r["all_spoken"][-1]
    for call in calls:
        assert name not in call[-1] and number not in call[-1]
    for path in kiosk_files(tmp_path):   # neither the logs nor anything else keeps the name or the number
        data = path.read_bytes()
        assert number.encode() not in data and name.encode("utf-8") not in data, path


@pytest.mark.parametrize("size", ["", "1920x1080"])
def test_read_aloud_on_request_hold_speaks_without_pressing_and_taps_still_press(tmp_path, display, size):
    r, calls = run("request_and_hold", tmp_path, display, size)
    assert r["elderly"] is False and r["quiet_on_entry"] == []              # standard mode: silent on entry
    text, height, font_size = r["button"]
    assert text == "读给我听" and height >= 100 and font_size >= 34
    assert len(r["read_home"]) == 1 and r["read_home"][0].startswith("这是首页")
    said, screen, state = r["tile_held"]
    assert said == ["好差评，评价服务，提出建议"] and screen == "home" and state == "normal"
    assert r["tile_tapped"] == "rating" and r["read_rating"].startswith("这是好差评")
    disabled, said, text = r["disabled_held"]
    assert disabled and said == [" ".join(text.split())] and "请先点上面的评价" in said[0]
    assert r["key_held"] == [["7"], "ZW", "progress"] and r["typed"] == "ZW139"
    assert r["footer_held"] == [["长辈模式"], False]
    said, name, screen = r["row_held"]
    assert said and said[0].startswith(name) and screen == "guide" and r["row_tapped"] == "guide-detail"
    assert r["under_dialog"] == [[], 1]
    said, screen = r["attract_read"]
    assert screen == "attract" and said and said[0].startswith("这里是二十四小时自助服务区")
    assert calls and all(c[1].startswith("cmn") and c[-1] in r["all_spoken"] for c in calls)
    assert calls[-1][-1] == said[0]                                        # the last prompt reached espeak-ng


if __name__ == "__main__":
    sys.exit(main())
