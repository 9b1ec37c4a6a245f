"""The facade the service-mode screens call, driven with the simulators the demo runs: enter with a
PIN, every device panel and live test, outbox, logs, a counter reset, export, leave; all audited.
Also the paper warning the platform gets through the outbox."""
from __future__ import annotations

import json
import zipfile
from datetime import datetime

import pytest

from kiosk.config import load_config
from kiosk.counters import Counters, paper_left_m, warn_platform_if_low
from kiosk.operate import devices as diag
from kiosk.operate.access import AuditLog, hash_pin
from kiosk.operate.service_mode import NotInServiceMode, ServiceMode


@pytest.fixture
def kiosk(tmp_path):
    site = tmp_path / "kiosk.toml"
    site.write_text(f'[paths]\ndata_dir = "{tmp_path}/data"\nlog_dir = "{tmp_path}/log"\n'
                    f'key_file = "{tmp_path}/keys/outbox.key"\n'
                    f'[service]\ntechnicians = ["李工={hash_pin("482915", n=2 ** 10)}"]\nreceipt_roll_m = 10.0\n',
                    encoding="utf-8")
    cfg = load_config(site)
    urls = {"idcard": "sim://?card=resident", "qr": "sim://?code=TEST-CODE&every=2", "camera": "sim://",
            "receipt_printer": f"sim://?out={tmp_path}/prints", "document_printer": f"sim://?out={tmp_path}/prints"}
    (tmp_path / "prints").mkdir()
    drivers = {name: diag.open_device(name, url) for name, url in urls.items()}
    for name in ("qr", "camera"):
        drivers[name].start()
    from offline_queue import Outbox

    box = Outbox(cfg.paths.data_dir / "outbox", key_file=cfg.paths.key_file)
    counters = Counters(cfg.paths.data_dir)
    yield cfg, ServiceMode(cfg, drivers=drivers, outbox=box, counters=counters), tmp_path
    for d in drivers.values():
        d.stop()
    box.close()


def test_a_technician_tests_every_device_and_exports_a_bundle(kiosk):
    cfg, service, tmp_path = kiosk
    with pytest.raises(NotInServiceMode):
        service.panels()
    assert not service.enter("000000").ok
    attempt = service.enter("482915")
    assert attempt.ok and service.technician == "李工"
    panels = {r.name: r for r in service.panels(timeout=10)}
    assert set(panels) == set(diag.DEVICE_NAMES) and all(r.status == "ok" for r in panels.values()), panels
    results = {name: service.live_test(name) for name in diag.DEVICE_NAMES}
    assert all(r["ok"] for r in results.values()), results
    assert results["idcard"]["card"]["name"] == "韦*" and results["qr"]["text"] == "TEST-CODE"
    assert results["camera"]["sharpness"] > 0
    service.counters.add("receipt_printer.paper_mm", 4000)
    assert service.reset_counter("receipt_printer.paper_mm") == 4000
    assert service.outbox_view().status == "ok" and service.retry_dead() == 0
    assert {r.name for r in service.system_view()} >= {"disk", "ledger", "versions", "uptime", "paper"}
    assert service.network()[0].status == "skip"  # demo profile
    stick = tmp_path / "stick"
    stick.mkdir()
    where = service.export_bundle(str(stick))
    assert where["to"] == "usb"
    with zipfile.ZipFile(where["path"]) as z:
        text = "\n".join(z.read(n).decode() for n in z.namelist())
    assert "450329198802140427" not in text and "韦岚" not in text
    service.leave()
    assert not service.active
    actions = [(e["technician"], e["action"]) for e in AuditLog(cfg.paths.data_dir).entries()]
    assert actions[0] == ("?", "wrong_pin") and actions[1] == ("李工", "enter") and actions[-1] == ("李工", "exit")
    assert ("李工", "counter_reset") in actions and ("李工", "export_bundle") in actions
    assert sum(a == ("李工", "live_test") for a in actions) == 5


def test_export_goes_through_the_outbox_without_a_stick(kiosk, monkeypatch):
    cfg, service, _ = kiosk
    monkeypatch.setattr("kiosk.operate.bundle.usb_mounts", lambda: [])
    service.enter("482915")
    where = service.export_bundle()
    assert where["to"] == "platform" and service.outbox.status()["pending"] == 1


def test_paper_warning_reaches_the_outbox_once_a_day(kiosk):
    cfg, service, _ = kiosk
    store, box = service.counters, service.outbox
    assert warn_platform_if_low(cfg, store, box) is None  # nothing used: nothing to say
    store.add("receipt_printer.paper_mm", 9000)  # 9 of 10 m in one day: less than a day left
    item = warn_platform_if_low(cfg, store, box)
    assert item is not None and warn_platform_if_low(cfg, store, box) is None
    [info] = box.list(states=["pending"])
    assert info.path == f"/api/v1/kiosks/{cfg.kiosk.id}/heartbeat"
    request = box.load(box.lease()[0])
    body = json.loads(request.json_text)
    assert body["warnings"] == ["receipt_paper_low"] and body["paper_left_m"] == 1.0
    assert paper_left_m(cfg, store) == 1.0
    assert store.meta("paper_warned.receipt") == datetime.now().date().isoformat()


RESTART = r"""
import signal, sys
from kiosk.config import load_config
from kiosk.operate.access import hash_pin
from kiosk.operate.service_mode import ServiceMode
cfg = load_config(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *_: (print("stopping cleanly", flush=True), sys.exit(0)))
service = ServiceMode(cfg)
assert service.enter("482915").ok
assert service.live_test("camera")["error_zh"] == "设备未连接"  # no driver handed over
service.restart_ui()
signal.pause()
"""


def test_restart_ui_stops_the_app_like_systemd_does_and_is_audited(kiosk):
    import subprocess
    import sys

    from conftest import ROOT

    cfg, _, tmp_path = kiosk
    proc = subprocess.run([sys.executable, "-c", RESTART, cfg.sources[-1]], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 0 and "stopping cleanly" in proc.stdout, proc.stderr
    actions = [(e["action"], e["detail"].get("reason")) for e in AuditLog(cfg.paths.data_dir).entries()]
    assert ("restart_ui", None) in actions and actions[-1] == ("exit", "restart")


def test_a_device_that_misses_one_answer_is_asked_again_and_a_dead_one_still_fails(kiosk, monkeypatch):
    from kiosk.operate import doctor
    from kiosk.operate.checks import FAIL, CheckResult

    cfg, service, _ = kiosk
    real, calls = doctor.probe, {}

    def probe(name, driver, timeout, counters=None):
        calls[name] = calls.get(name, 0) + 1
        if name == "qr" and calls[name] == 1 or name == "receipt_printer":   # busy once; dead
            return CheckResult(name, FAIL, "no answer", "无响应", {"device": name}, group="device")
        return real(name, driver, timeout, counters)

    monkeypatch.setattr(doctor, "probe", probe)
    service.enter("482915")
    panels = {r.name: r for r in service.panels(timeout=10)}
    assert panels["qr"].status == "ok" and calls["qr"] == 2
    assert panels["receipt_printer"].status == "fail" and calls["receipt_printer"] == 2
    assert calls["idcard"] == calls["camera"] == calls["document_printer"] == 1   # asked once: they answered
