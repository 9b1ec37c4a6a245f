"""The touch app runs the fleet agent: a document published with the real CLI to the demo platform
is applied between visits (never during one), shows on the attract screen and is reported.

The end-to-end test runs this file as a script under Xvfb (the real app in the demo profile, the
embedded platform, the demo fleet made at start); the unit tests check the wiring's pieces.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTICE = "试运行公告：本机配置由县级平台统一下发"
KIOSK = "demo-kiosk-001"


# -- the wiring's pieces -----------------------------------------------------------------------------

def test_pulse_says_drawing_only_while_the_clock_beats():
    from kiosk.fleet.app_wiring import UiPulse

    now = [100.0]
    pulse = UiPulse(max_age_s=5, clock=lambda: now[0])
    assert not pulse.drawing()  # never beaten: not drawing
    pulse.beat()
    now[0] += 4
    assert pulse.drawing()
    now[0] += 2
    assert not pulse.drawing()  # the UI thread stopped running the clock


def test_device_health_from_driver_states():
    from devices.base import DeviceState
    from kiosk.fleet.app_wiring import device_health

    def driver(state):
        return SimpleNamespace(status=lambda: SimpleNamespace(state=state))

    def broken():
        raise RuntimeError("gone")

    devices = SimpleNamespace(reader=driver(DeviceState.READY), scanner=driver(DeviceState.OFFLINE),
                              printer=driver(DeviceState.DEGRADED), docprinter=SimpleNamespace(status=broken))
    assert device_health(devices) == {"idcard": True, "qr": False, "receipt_printer": True,
                                      "document_printer": False}
    assert device_health(SimpleNamespace(reader=None, scanner=None, printer=None, docprinter=None)) == {
        "idcard": False, "qr": False, "receipt_printer": False, "document_printer": False}


def test_changed_devices_and_live_apply(tmp_path):
    from dataclasses import replace

    from kiosk.config import load_config
    from kiosk.fleet.app_wiring import apply_live, changed_devices

    old = load_config(None)
    new = replace(old, kiosk=replace(old.kiosk, notices=(NOTICE,), hotline="0771-12345"),
                  session=replace(old.session, idle_timeout_s=90),
                  devices=replace(old.devices, qr="sim://?seed=3", receipt_printer_paper_mm=58))
    assert changed_devices(old, old) == []
    assert sorted(changed_devices(old, new)) == ["qr", "receipt_printer"]

    themes = []
    ctx = SimpleNamespace(cfg=old)
    rotated = []
    app = SimpleNamespace(cfg=old, hotline="", notices=[], flows={"a": SimpleNamespace(ctx=ctx),
                                                                  "b": SimpleNamespace(ctx=ctx)},
                          screens={"attract": SimpleNamespace(rotate_notice=lambda: rotated.append(1))})
    app.apply_theme = lambda: themes.append(app.cfg.session.idle_timeout_s)
    apply_live(app, new)
    assert app.cfg is new and ctx.cfg is new
    assert app.notices == [NOTICE] and app.hotline == "0771-12345"
    assert themes == [90] and rotated == [1]


def test_apply_config_keeps_what_a_document_may_not_set_and_waits_for_the_ui():
    from dataclasses import replace

    from kiosk.config import load_config
    from kiosk.fleet.app_wiring import FleetWiring

    old = load_config(None)
    posted = []
    app = SimpleNamespace(cfg=old, hotline="", notices=[], flows={}, screens={}, apply_theme=lambda: None,
                          bridge=SimpleNamespace(post=lambda fn: posted.append(fn) or fn()))
    wiring = FleetWiring(None)
    wiring.app = app
    strange = replace(old, kiosk=replace(old.kiosk, id="someone-else", notices=(NOTICE,)),
                      platform=replace(old.platform, base_url="http://127.0.0.1:1/"))
    wiring.apply_config(strange)
    assert len(posted) == 1
    assert app.cfg.kiosk.id == old.kiosk.id and app.cfg.platform == old.platform
    assert app.notices == [NOTICE]

    # a UI thread that never runs the job: the apply fails (and the agent rolls back)
    app.bridge = SimpleNamespace(post=lambda fn: None)
    wiring._stopping.set()
    with pytest.raises(RuntimeError, match="did not take"):
        wiring.apply_config(strange)


def test_a_changed_device_url_reopens_that_device_only():
    """A document that moves the QR scanner: the old driver is stopped, a new one opened with the new
    URL and put in place on the UI thread; the other devices are untouched."""
    from dataclasses import replace

    from devices.qr.scanner import QrScanner
    from kiosk.config import load_config
    from kiosk.fleet.app_wiring import FleetWiring, device_health
    from kiosk.flows.base import Devices

    old = load_config(None)
    events = []
    devices = Devices(scanner=QrScanner(old.devices.qr).start())
    untouched = devices.scanner
    on_ui = []
    app = SimpleNamespace(cfg=old, hotline="", notices=[], flows={}, screens={}, apply_theme=lambda: None,
                          devices=devices, _scanner_event=events.append,
                          bridge=SimpleNamespace(post=lambda fn, *a: on_ui.append(fn) or fn(*a)))
    wiring = FleetWiring(None)
    wiring.app = app
    try:
        wiring.apply_config(replace(old, kiosk=replace(old.kiosk, hotline="0771-1")))
        assert devices.scanner is untouched  # nothing about devices changed: nothing reopened
        moved = replace(old, devices=replace(old.devices, qr="sim://?seed=7"))
        wiring.apply_config(moved)
        assert devices.scanner is not untouched and devices.scanner.url.endswith("seed=7")
        assert untouched._thread is None or not untouched._thread.is_alive()  # the old one was stopped
        deadline = time.monotonic() + 10
        while not device_health(devices)["qr"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert device_health(devices)["qr"]
    finally:
        for d in (untouched, devices.scanner):
            d.stop()


def test_one_agent_per_kiosk(tmp_path):
    """The touch app's agent and ``kiosk fleet agent`` never run at once on one kiosk's state."""
    from kiosk.fleet.agent import AgentBusy, AgentSettings, FleetAgent

    def agent():
        return FleetAgent(AgentSettings(kiosk_id=KIOSK, data_dir=tmp_path, site_path=None,
                                        repository_url="http://127.0.0.1:9/fleet/repository",
                                        trusted_root=tmp_path / "root.json", poll_interval_s=3600,
                                        heartbeat_s=3600))

    first = agent().start()
    try:
        with pytest.raises(AgentBusy, match="another fleet agent"):
            agent().start()
    finally:
        first.stop()
    second = agent().start()  # the first has gone: the next one runs
    second.stop()


# -- end to end: the real app, the real CLI, the embedded platform -----------------------------------

def kiosk_cli(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


@pytest.mark.ui
def test_demo_kiosk_applies_a_published_notice_between_visits(tmp_path, display):
    site = tmp_path / "kiosk.toml"
    site.write_text(f"""
[paths]
data_dir = "{tmp_path / 'data'}"
log_dir = "{tmp_path / 'log'}"
key_file = "{tmp_path / 'keys' / 'outbox.key'}"

[fleet]
poll_interval_s = 5
health_window_s = 5
""", encoding="utf-8")
    env = dict(os.environ, DISPLAY=display, XDG_DATA_HOME=str(tmp_path / "xdg"))
    proc = subprocess.run([sys.executable, __file__, str(site), str(tmp_path)], capture_output=True,
                          text=True, timeout=240, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["publish_rc"] == 0, r["publish_out"]
    assert r["staged_in_session"] == {f"kiosk/{KIOSK}": 1}
    assert r["active_in_session"] == {} and NOTICE not in r["notices_in_session"]
    assert r["attract_notice_after"] == NOTICE and r["notices_after"] == [NOTICE]
    assert r["last_good"] == {f"kiosk/{KIOSK}": 1}
    assert r["history"][-1]["result"] == "applied"
    assert r["publish2_rc"] == 0
    assert r["rollback"].startswith("rolled back: device not healthy after the change: receipt_printer")
    assert r["refused"] == {f"kiosk/{KIOSK}": [2]}
    assert r["notices_after_rollback"] == [NOTICE] and r["printer_reopened"]

    # what the platform recorded, read by the administrator's own command
    db = f"sqlite:///{tmp_path / 'data' / 'demo' / 'backend.sqlite3'}"
    status = kiosk_cli("--config", str(site), "fleet", "--db", db, "status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    kiosks = {k["id"]: k for k in json.loads(status.stdout)["kiosks"]}
    assert kiosks[KIOSK]["config_applied"] == {f"kiosk/{KIOSK}": 1}
    assert kiosks[KIOSK]["last_report"]["kind"] == "rolled_back"
    assert kiosks[KIOSK]["last_report"]["version"] == 2
    assert "receipt_printer" in kiosks[KIOSK]["last_report"]["reason"]


# -- the script the end-to-end test runs under Xvfb ----------------------------------------------------

def _wait(condition, timeout: float = 60.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        yield step


def _scenario(app, wiring, site: Path, workdir: Path, results: dict):
    from kiosk.fleet.app_wiring import device_health

    yield from _wait(lambda: wiring.agent is not None, 120)
    agent = wiring.agent
    yield from _wait(lambda: agent._clock_offset_ms is not None)  # the platform has its heartbeat
    app.start_session("test")  # a citizen is in session
    doc = workdir / "notice.toml"
    doc.write_text(f'[document]\nscope = "kiosk/{KIOSK}"\nversion = 1\n\n[kiosk]\nnotices = ["{NOTICE}"]\n',
                   encoding="utf-8")
    data = Path(app.cfg.paths.data_dir) / "demo"
    done: dict = {}

    def publish() -> None:
        done["proc"] = kiosk_cli("--config", str(site), "fleet", "--db", f"sqlite:///{data / 'backend.sqlite3'}",
                                 "publish", str(doc), "--keys", str(data / "fleet-keys"), env=dict(os.environ))

    threading.Thread(target=publish, daemon=True).start()
    yield from _wait(lambda: "proc" in done, 120)
    results["publish_rc"] = done["proc"].returncode
    results["publish_out"] = done["proc"].stdout + done["proc"].stderr
    if done["proc"].returncode != 0:
        return
    yield from _wait(lambda: agent.status()["staged"], 60)
    yield 1.5  # the agent looks for a quiet moment every second: it must not find one
    results["staged_in_session"] = agent.status()["staged"]
    results["active_in_session"] = agent.status()["active"]
    results["notices_in_session"] = list(app.notices)
    app.end_session("test")
    yield from _wait(lambda: NOTICE in app.notices, 30)
    results["notices_after"] = list(app.notices)
    results["attract_notice_after"] = app.screens["attract"].notice
    yield from _wait(lambda: agent.status()["last_good"] and not agent.store.load()["pending_reports"], 30)
    results["last_good"] = agent.status()["last_good"]
    results["history"] = agent.status()["history"]

    # version 2 moves the receipt printer to a port where nothing answers: the printer is reopened
    # there, the health gate sees it fail, and the kiosk goes back to version 1 by itself
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    doc.write_text(f'[document]\nscope = "kiosk/{KIOSK}"\nversion = 2\n\n[kiosk]\nnotices = ["{NOTICE}", "v2"]\n'
                   f'\n[devices]\nreceipt_printer = "socket://127.0.0.1:{dead}"\n', encoding="utf-8")
    printer_before = app.devices.printer
    done.clear()
    threading.Thread(target=publish, daemon=True).start()
    yield from _wait(lambda: "proc" in done, 120)
    results["publish2_rc"] = done["proc"].returncode
    yield from _wait(lambda: agent.status()["history"][-1]["after"] == {f"kiosk/{KIOSK}": 2}
                     and not agent.status()["gate_open"], 90)
    yield from _wait(lambda: app.devices.printer is not None and app.devices.printer.url == printer_before.url, 10)
    yield from _wait(lambda: device_health(app.devices)["receipt_printer"], 10)
    yield from _wait(lambda: not agent.store.load()["pending_reports"], 30)
    results["rollback"] = agent.status()["history"][-1]["result"]
    results["refused"] = agent.status()["refused"]
    results["notices_after_rollback"] = list(app.notices)
    results["printer_reopened"] = app.devices.printer is not printer_before


def main(site: Path, workdir: Path) -> int:
    from kiosk import ui_env
    from kiosk.fleet.agent import startup_config
    from kiosk.fleet.app_wiring import FleetWiring

    cfg = startup_config(str(site))
    ui_env.prepare(cfg.screen.width, cfg.screen.height, kivy_home=workdir / "kivy")
    from kiosk.app import KioskApp
    from kiosk.logging_setup import install
    from ui_harness import drive

    install(cfg.paths.log_dir)
    wiring = FleetWiring(str(site), settle_s=0.5)
    results: dict = {}
    outcome: dict = {"ok": False}

    def started(app) -> None:
        drive(app, _scenario(app, wiring, site, workdir, results), outcome)

    KioskApp(cfg, on_started=started, fleet=wiring, monotonic=lambda: 1000.0).run()
    if not outcome["ok"]:
        print(outcome.get("error", "scenario did not finish"), file=sys.stderr)
        return 1
    print(json.dumps(results, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
