"""Persistent counters (kill -9), the paper forecast's arithmetic, paper length of a real receipt,
and the technician's counter commands (reset audited)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime

import pytest

from conftest import ROOT, run_kiosk
from kiosk.counters import Counters, UnknownCounter, forecast, paper_forecasts, receipt_paper_mm
from kiosk.operate.access import AuditLog

DAY = 86400.0
T0 = datetime(2026, 3, 2, 9, 0).timestamp()


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


WRITER = r"""
import sys
from kiosk.counters import Counters
c = Counters(sys.argv[1])
while True:
    v = c.add("receipt_printer.receipts")
    c.add("receipt_printer.paper_mm", 187)
    print(v, flush=True)
"""


def test_counts_survive_kill_9_exactly_as_acknowledged(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT)
    acknowledged = 0
    for line in proc.stdout:
        acknowledged = int(line)
        if acknowledged >= 40:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    c = Counters(tmp_path)
    receipts = c.get("receipt_printer.receipts")
    # every add that returned is on disk; at most the one in flight when the kill came is extra
    assert acknowledged <= receipts <= acknowledged + 1
    assert c.get("receipt_printer.paper_mm") in (187 * receipts, 187 * (receipts - 1))
    assert c.daily("receipt_printer.receipts", 1) == {datetime.now().date().isoformat(): receipts}
    assert c.all()["kiosk.sessions"] == 0


def test_names_and_amounts_are_checked(tmp_path):
    c = Counters(tmp_path)
    with pytest.raises(UnknownCounter):
        c.add("receipt_printer.reciepts")
    for bad in (-1, float("nan"), float("inf"), True):
        with pytest.raises(ValueError):
            c.add("kiosk.sessions", bad)
    assert c.add("kiosk.sessions", 2.4) == 2


def test_forecast_arithmetic():
    # 50 m roll, 12 m used, 3 days of 1000/2000/3000 mm: 2000 mm/day, 38000 mm left: 19 days
    f = forecast("receipt", 50000, 12000, {"2026-03-01": 1000, "2026-03-02": 2000, "2026-03-03": 3000}, 3.0)
    assert (f.remaining, f.per_day, f.days_left, f.warn) == (38000, 2000, 19, False)
    # under the warning threshold
    f = forecast("receipt", 50000, 46000, {"2026-03-01": 1000, "2026-03-02": 2000, "2026-03-03": 3000}, 3.0)
    assert f.days_left == 2 and f.warn
    # used up: no paper left is a warning even without a rate
    f = forecast("a4", 250, 260, {"2026-03-01": 0}, 3.0)
    assert f.remaining == 0 and f.days_left is None and f.warn
    # nothing used yet: no forecast, no warning
    f = forecast("a4", 250, 0, {"2026-03-01": 0, "2026-03-02": 0}, 3.0)
    assert f.days_left is None and not f.warn
    # a roll put in on the last day is averaged over that day only
    f = forecast("receipt", 50000, 500, {"2026-03-01": 9000, "2026-03-02": 500}, 3.0, since_day="2026-03-02")
    assert f.per_day == 500 and f.days_left == 99


def test_forecast_from_counted_days_and_an_audited_roll_change(tmp_path):
    clock = Clock()
    c = Counters(tmp_path, clock=clock)
    audit = AuditLog(tmp_path, clock=clock)
    for day in range(4):  # 4 days of 2.5 m of receipts and 10 A4 pages a day
        clock.now = T0 + day * DAY
        c.add("receipt_printer.paper_mm", 2500)
        c.add("document_printer.pages", 10)
    receipt, a4 = paper_forecasts(c, 50000, 250, 3.0)
    assert receipt.used == 10000 and receipt.per_day == 2500 and receipt.days_left == 16
    assert a4.remaining == 210 and a4.days_left == 21 and not a4.warn
    clock.now = T0 + 4 * DAY
    old = c.reset("receipt_printer.paper_mm", "李工", audit=audit)
    assert old == 10000 and c.get("receipt_printer.paper_mm") == 0
    c.add("receipt_printer.paper_mm", 1000)
    receipt, _ = paper_forecasts(c, 50000, 250, 3.0)
    assert receipt.used == 1000 and receipt.per_day == 1000 and receipt.days_left == 49
    [entry] = audit.entries()
    assert entry["technician"] == "李工" and entry["action"] == "counter_reset"
    assert entry["detail"] == {"counter": "receipt_printer.paper_mm", "old_value": 10000}
    assert c.resets()[0]["technician"] == "李工"
    with pytest.raises(ValueError):
        c.reset("receipt_printer.paper_mm", " ")


def test_receipt_paper_length_from_the_printed_job():
    from devices.receipt_printer.profiles import get_profile
    from kiosk.receipts import TestPage, build

    profile = get_profile("80mm")
    page = build(TestPage(kiosk_id="gx-pingan-001", printed_at="2026-03-02 09:00"), profile)
    mm = receipt_paper_mm(page, profile)
    assert 40 < mm < 600, mm  # a test page is a hand's length of paper, not a metre
    fed = receipt_paper_mm(page.replace(b"\x1dV", b"\x1bd\x50\x1dV", 1), profile)  # ESC d 80: 80 more lines
    assert fed > mm + 80 * 24 * 25.4 / profile.dpi * 0.9


def test_cli_counters_and_an_audited_reset(tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path}/data"\nlog_dir = "{tmp_path}/log"\n'
                      f'key_file = "{tmp_path}/keys/outbox.key"\n[service]\nreceipt_roll_m = 30.0\n', encoding="utf-8")
    empty = run_kiosk("--config", str(config), "service", "counters", "--json")
    assert empty.returncode == 0 and json.loads(empty.stdout)["counters"]["kiosk.sessions"] == 0
    assert not (tmp_path / "data").exists(), "reading counters must not create files"
    c = Counters(tmp_path / "data")
    c.add("receipt_printer.paper_mm", 3000)
    c.close()
    out = json.loads(run_kiosk("--config", str(config), "service", "counters", "--json").stdout)
    assert out["counters"]["receipt_printer.paper_mm"] == 3000
    assert out["forecasts"][0]["capacity"] == 30000 and out["forecasts"][0]["remaining"] == 27000
    bad = run_kiosk("--config", str(config), "service", "reset-counter", "paper", "--technician", "李工")
    assert bad.returncode == 2 and "unknown counter" in bad.stderr
    ok = run_kiosk("--config", str(config), "service", "reset-counter", "receipt_printer.paper_mm",
                   "--technician", "李工")
    assert ok.returncode == 0 and "was 3000" in ok.stdout
    audit = run_kiosk("--config", str(config), "service", "audit", "--json")
    assert json.loads(audit.stdout)[-1]["action"] == "counter_reset"


def test_add_soon_and_count_receipt_write_in_the_background(tmp_path):
    import kiosk.counters as counters
    from devices.receipt_printer.profiles import get_profile
    from kiosk.receipts import TestPage, build

    counters.add_soon("kiosk.sessions")  # no store configured yet: quietly nothing
    store = counters.configure(tmp_path)
    try:
        counters.add_soon("kiosk.sessions")
        counters.add_soon("kiosk.wipes", 2)
        profile = get_profile("58mm")
        counters.count_receipt(build(TestPage(kiosk_id="k", printed_at="2026-03-02 09:00"), profile), profile)
        with pytest.raises(UnknownCounter):
            counters.add_soon("kiosk.session")
        assert counters.flush(30)
        assert store.get("kiosk.sessions") == 1 and store.get("kiosk.wipes") == 2
        assert store.get("receipt_printer.receipts") == 1 and store.get("receipt_printer.paper_mm") > 40
    finally:
        counters._store = None
        store.close()
