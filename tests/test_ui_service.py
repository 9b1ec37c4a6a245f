"""Service mode in the real app under Xvfb, driven by simulated touches like tests/test_ui.py: five
taps on the header, the PIN pad (wrong, right, lockout), every device's live test against the
simulators and one device that is down, the bundle grepped for the citizen data fed in before, and
the idle exit. Run as ``python tests/test_ui_service.py SCENARIO DIR`` by the tests below."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO_PIN = "135792"   # the demo profile's technician (README)
SECRETS = ("韦岚", "450329198802140427", "示例路1号")

pytestmark = pytest.mark.ui


# ---- in the app's process -------------------------------------------------------------------------
def _pad(app, screen, digits):
    from ui_harness import find, tap

    for digit in digits:
        tap(find(screen.ids.pad, lambda w: getattr(w, "text", None) == digit))
        yield 0.03


def _panel(app, device):
    return {p.device: p for p in app.flows["service"]._panels.values()}[device]


def _tap_test(app, device):
    from ui_harness import find, tap

    box = find(app.screens["service"].ids.panels, lambda w: getattr(getattr(w, "panel", None), "device", None) == device)
    app.screens["service"].ids.scroll.scroll_to(box, animate=False)
    yield 0.3
    tap(box.ids.test_button)
    yield 0.1


def _enter_pad(app):
    from ui_harness import tap, wait_until

    for _ in range(5):
        tap(app.header.children[-1])    # the centre's name (读给我听 in the middle is a button of its own)
        yield 0.05
    yield from wait_until(lambda: app.manager.current == "service-pin")


def scenario_entry(app, clock, results):
    from ui_harness import tap, wait_until

    yield from wait_until(lambda: app.devices.reader is not None and app.devices.reader.status().state.value == "ready")
    reader, scanner = app.devices.reader.simulator, app.devices.scanner.simulator
    reader.present("resident")                       # a citizen's visit with their card
    yield from wait_until(lambda: bool(app.identity_name))
    results["visit_before"] = app.keeper.current is not None
    reader.remove()
    yield from wait_until(lambda: not app.card_on_reader)
    yield from _enter_pad(app)
    results["pad_screen"] = app.manager.current
    pin = app.screens["service-pin"]
    yield from _pad(app, pin, "000000")
    results["dots"] = pin.dots
    tap(pin.ids.enter_button)
    yield from wait_until(lambda: "密码错误" in pin.message)
    results["wrong"] = [pin.message, app.manager.current]
    yield from _pad(app, pin, DEMO_PIN)
    tap(pin.ids.enter_button)
    yield from wait_until(lambda: app.manager.current == "service")
    results["visit_after"] = app.keeper.current is not None
    results["wipes"] = [r["reason"] for r in app.keeper.wipe_records]
    service = app.flows["service"]
    yield from wait_until(lambda: all(p.status != "wait" for p in service._panels.values()), timeout=40)
    results["panels"] = {p.device: [p.status, p.url, p.error] for p in service._panels.values()}
    screen = app.screens["service"]
    yield from wait_until(lambda: len(screen.ids.rows_system.children) >= 4 and screen.ids.logs.children)
    results["system_rows"] = [w.row.title for w in reversed(screen.ids.rows_system.children)]
    # live tests: the card and the code are fed to the simulators after the buttons are pressed
    yield from _tap_test(app, "idcard")
    yield 0.5
    reader.present("resident")
    yield from wait_until(lambda: _panel(app, "idcard").result_status in ("ok", "fail"), timeout=30)
    results["idcard"] = [_panel(app, "idcard").result_status, _panel(app, "idcard").result]
    results["visit_from_card"] = app.keeper.current is not None
    reader.remove()
    yield from _tap_test(app, "qr")
    yield 0.5
    assert scanner.scan("SERVICE-TEST-77", wait=True)
    yield from wait_until(lambda: _panel(app, "qr").result_status in ("ok", "fail"), timeout=30)
    results["qr"] = [_panel(app, "qr").result_status, _panel(app, "qr").result, app.manager.current]
    printed = app.devices.printer.simulator.jobs_printed
    yield from _tap_test(app, "receipt_printer")
    yield from wait_until(lambda: _panel(app, "receipt_printer").result_status in ("ok", "fail"), timeout=30)
    results["receipt"] = [_panel(app, "receipt_printer").result_status, app.devices.printer.simulator.jobs_printed - printed]
    pages = len(app.devices.docprinter.simulator.printed)
    yield from _tap_test(app, "document_printer")
    yield from wait_until(lambda: _panel(app, "document_printer").result_status in ("ok", "fail"), timeout=60)
    results["a4"] = [_panel(app, "document_printer").result_status, len(app.devices.docprinter.simulator.printed) - pages]
    yield from _tap_test(app, "camera")
    yield from wait_until(lambda: _panel(app, "camera").result_status in ("ok", "fail") and screen.camera_texture is not None,
                          timeout=30)
    results["camera"] = [_panel(app, "camera").result_status, _panel(app, "camera").result,
                         list(screen.camera_texture.size)]
    yield from _tap_test(app, "camera")  # closes the live view
    results["camera_closed"] = screen.camera_texture is None
    tap(screen.ids.export_button)
    yield from wait_until(lambda: "诊断包已保存到U盘" in screen.notice, timeout=60)
    results["export"] = screen.notice
    tap(screen.ids.leave_button)
    yield from wait_until(lambda: app.manager.current == "attract" and not service.active)
    # three wrong PINs: the pad waits, and the right PIN is not even taken
    yield from _enter_pad(app)
    for wrong in ("111111", "222222", "333333"):
        yield from _pad(app, pin, wrong)
        tap(pin.ids.enter_button)
        yield from wait_until(lambda: not pin.busy and "正在核对" not in pin.message)
    results["locked"] = [pin.locked, pin.message, pin.ids.enter_button.disabled]
    yield from _pad(app, pin, DEMO_PIN)
    results["dots_when_locked"] = pin.dots
    tap(pin.ids.cancel_button)
    yield 0.3
    results["after_cancel"] = app.manager.current


def scenario_down_and_idle(app, clock, results):
    from ui_harness import tap, wait_until

    yield from wait_until(lambda: app.devices.scanner is not None)
    yield from _enter_pad(app)
    pin = app.screens["service-pin"]
    yield from _pad(app, pin, DEMO_PIN)
    tap(pin.ids.enter_button)
    yield from wait_until(lambda: app.manager.current == "service")
    service = app.flows["service"]
    yield from wait_until(lambda: _panel(app, "idcard").status != "wait", timeout=40)
    panel = _panel(app, "idcard")
    results["panel"] = [panel.status, panel.url, panel.error]
    yield from _tap_test(app, "idcard")
    yield from wait_until(lambda: _panel(app, "idcard").result_status in ("ok", "fail"), timeout=30)
    results["test"] = [_panel(app, "idcard").result_status, _panel(app, "idcard").result]
    clock.now += app.cfg.service.idle_exit_s - 10
    yield 0.6
    results["idle_text"] = app.screens["service"].idle_text
    clock.now += 11
    yield from wait_until(lambda: app.manager.current == "attract" and not service.active)
    results["after_idle"] = app.manager.current


SCENARIOS = {"entry": scenario_entry, "down_and_idle": scenario_down_and_idle}


def main() -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    name, folder = sys.argv[1], Path(sys.argv[2])
    from dataclasses import replace

    from kiosk.config import PathsSection, load_config

    cfg = load_config(None)  # the demo profile, with its demo technician
    cfg = replace(cfg, paths=PathsSection(data_dir=folder / "data", log_dir=folder / "log",
                                          key_file=folder / "keys" / "outbox.key"),
                  service=replace(cfg.service, max_tries=3, lockout_s=60, idle_exit_s=60))
    if name == "down_and_idle":
        cfg = replace(cfg, devices=replace(cfg.devices, idcard=os.environ["DEAD_URL"]))
    stick = folder / "stick"
    stick.mkdir(exist_ok=True)
    import kiosk.operate.bundle

    kiosk.operate.bundle.usb_mounts = lambda: [stick]   # a USB stick is mounted
    from ui_harness import play

    return play(cfg, SCENARIOS[name], folder)


# ---- the tests ---------------------------------------------------------------------------------------
def run(name: str, tmp_path: Path, display: str, **env: str) -> dict:
    environ = dict(os.environ, DISPLAY=display, XDG_DATA_HOME=str(tmp_path / "xdg"), **env)
    proc = subprocess.run([sys.executable, __file__, name, str(tmp_path)], capture_output=True, text=True,
                          timeout=240, env=environ, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def kiosk_files(tmp_path: Path):
    """What the kiosk wrote (the demo platform's own database, data/demo/, is the platform's side)."""
    demo = tmp_path / "data" / "demo"
    return [p for p in tmp_path.rglob("*") if p.is_file() and demo not in p.parents]


def test_pin_pad_devices_bundle_and_lockout(tmp_path, display):
    r = run("entry", tmp_path, display)
    assert r["visit_before"] is True and r["pad_screen"] == "service-pin" and r["dots"] == "●" * 6
    assert r["wrong"] == ["密码错误，还可尝试 2 次", "service-pin"]
    assert r["visit_after"] is False and r["wipes"][-1] == "service mode"  # the visit was wiped first
    assert {d: s for d, (s, _, _) in r["panels"].items()} == {d: "ok" for d in r["panels"]}, r["panels"]
    assert len(r["panels"]) == 5 and all(url for _, url, _ in r["panels"].values())
    assert {"磁盘", "版本", "运行时间", "打印台账"} <= set(r["system_rows"])
    status, text = r["idcard"]
    assert status == "ok" and "韦*" in text and "450329********0427" in text and "用时" in text
    assert r["visit_from_card"] is False  # a card read in service mode starts no citizen visit
    assert r["qr"][0] == "ok" and "SERVICE-TEST-77" in r["qr"][1] and r["qr"][2] == "service"
    assert r["receipt"] == ["ok", 1] and r["a4"] == ["ok", 1]
    assert r["camera"][0] == "ok" and "清晰度" in r["camera"][1] and "亮度" in r["camera"][1]
    assert r["camera"][2][0] > 100 and r["camera_closed"] is True
    assert "诊断包已保存到U盘" in r["export"]
    locked, message, enter_disabled = r["locked"]
    assert locked is True and "秒后再试" in message and enter_disabled is True
    assert r["dots_when_locked"] == "" and r["after_cancel"] == "attract"
    [bundle] = (tmp_path / "stick").glob("*.zip")
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        text = b"\n".join(z.read(n) for n in names)
    assert any("log" in n for n in names)
    for path in [bundle, *kiosk_files(tmp_path)]:
        data = path.read_bytes() if path != bundle else text
        for secret in SECRETS:
            assert secret.encode() not in data, (secret, path)


def test_a_dead_reader_and_the_idle_exit(tmp_path, display):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"socket://127.0.0.1:{s.getsockname()[1]}"
    r = run("down_and_idle", tmp_path, display, DEAD_URL=dead)
    status, url, error = r["panel"]
    assert status == "fail" and url == dead and error
    assert r["test"][0] == "fail" and r["test"][1].startswith("失败：")
    assert r["idle_text"] == "无操作 10 秒后自动退出"
    assert r["after_idle"] == "attract"
    from kiosk.operate.access import AuditLog

    entries = AuditLog(tmp_path / "data").entries()
    assert (entries[-1]["action"], entries[-1]["detail"].get("reason")) == ("exit", "idle")
    assert [e["action"] for e in entries if e["action"] == "enter"] == ["enter"]


if __name__ == "__main__":
    sys.exit(main())
