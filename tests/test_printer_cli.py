"""``kiosk device printer …`` and ``kiosk sim printer`` as a technician runs them: exit codes, one-line errors."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from conftest import ROOT, run_kiosk
from devices.receipt_printer.simulator import PrinterSimulator, SimulatorServer


@pytest.fixture
def served():
    sim = PrinterSimulator()
    server = SimulatorServer(sim).start()
    yield sim, server
    server.stop()


def one_line_error(proc, code):
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiosk: ") and "Traceback" not in proc.stderr
    return lines[0]


def test_status_json_when_ready(served):
    _, server = served
    proc = run_kiosk("device", "printer", "status", "--url", server.url, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert {"state", "online", "paper", "detail"} <= set(report)
    assert (report["state"], report["online"], report["paper"]) == ("ready", True, "ok")


def test_status_answers_with_a_problem_is_still_exit_0(served):
    sim, server = served
    sim.open_cover()
    proc = run_kiosk("device", "printer", "status", "--url", server.url)
    assert proc.returncode == 0 and proc.stdout.startswith("cover_open:")


def test_status_without_an_answer_is_exit_4(served):
    sim, server = served
    sim.set_silent(True)
    proc = run_kiosk("device", "printer", "status", "--url", server.url, "--json")
    assert "did not answer" in one_line_error(proc, 4)
    assert json.loads(proc.stdout)["state"] == "offline"
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    one_line_error(run_kiosk("device", "printer", "status", "--url", f"tcp://127.0.0.1:{port}"), 4)


def test_status_of_a_write_only_file_is_unknown_and_exit_4(tmp_path):
    proc = run_kiosk("device", "printer", "status", "--url", f"file://{tmp_path}/job.bin", "--json")
    one_line_error(proc, 4)
    assert json.loads(proc.stdout)["state"] == "unknown"


def test_test_page_prints_and_decodes(served):
    sim, server = served
    proc = run_kiosk("device", "printer", "test", "--url", server.url)
    assert proc.returncode == 0, proc.stderr
    assert sim.wait_for_jobs(1)
    job = sim.jobs[0]
    assert "打印测试" in job.text and job.cut
    texts = [r.text for r in zxingcpp.read_barcodes(np.asarray(job.image.convert("L")))]
    assert len(texts) == 1 and texts[0].startswith("KIOSK-TEST ")


def test_test_page_refused_when_the_printer_cannot_print(served):
    sim, server = served
    sim.load_paper(0)
    line = one_line_error(run_kiosk("device", "printer", "test", "--url", server.url), 4)
    assert "paper out" in line
    assert sim.jobs_printed == 0


def test_self_test_exit_codes(served):
    sim, server = served
    ok = run_kiosk("device", "printer", "self-test", "--url", server.url, "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    sim.set_reply(b"\xaa")
    line = one_line_error(run_kiosk("device", "printer", "self-test", "--url", server.url), 4)
    assert "status" in line


@pytest.mark.parametrize("args, message", [
    (["status", "--url", "lpt://1"], "unknown printer URL scheme"),
    (["status", "--url", "tcp://h?encoding=big5"], "encoding"),
    (["test", "--url", "sim://", "--timeout", "-1"], "--timeout"),
])
def test_bad_usage_is_exit_2(args, message):
    assert message in one_line_error(run_kiosk("device", "printer", *args), 2)


def test_configured_printer_and_settings_are_used(tmp_path):
    job = tmp_path / "job.bin"
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\nid = "QS-009"\n[devices]\nreceipt_printer = "file://{job}"\n'
                   'receipt_printer_paper_mm = 58\nreceipt_printer_encoding = "gbk"\n', encoding="utf-8")
    proc = run_kiosk("--config", str(cfg), "device", "printer", "test")
    assert proc.returncode == 0, proc.stderr
    sim = PrinterSimulator(paper_mm=58, encoding="gbk")
    sim.feed(job.read_bytes())
    sim.end_of_stream()  # no cutter on the 58 mm profile: the job ends with the data
    text = sim.jobs[0].text
    assert "QS-009" in text and "384点" in text and "12345678901234567890123456789012" in text


def test_sim_printer_command_serves_renders_and_takes_control(tmp_path):
    out = tmp_path / "jobs"
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "sim", "printer", "--listen", "127.0.0.1:0",
                             "--out", str(out), "--paper", "58", "--control", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        banner = proc.stdout.readline()
        assert "receipt printer simulator on tcp://127.0.0.1:" in banner, proc.stderr.read() if proc.poll() else banner
        url = banner.split(" on ")[1].split()[0]
        control_port = int(banner.rsplit(":", 1)[1].rstrip(")\n"))
        printed = run_kiosk("device", "printer", "test", "--url", url + "?profile=58mm")
        assert printed.returncode == 0, printed.stderr
        deadline = time.monotonic() + 10
        while not list(out.glob("job-*.png")) and time.monotonic() < deadline:
            time.sleep(0.05)
        (png,) = out.glob("job-*.png")
        with Image.open(png) as img:
            assert img.width == 384
            assert [r.text for r in zxingcpp.read_barcodes(np.asarray(img.convert("L")))][0].startswith("KIOSK-TEST")
        with socket.create_connection(("127.0.0.1", control_port), timeout=5) as conn, conn.makefile("rwb") as f:
            f.write(b"cover open\n")
            f.flush()
            assert json.loads(f.readline())["cover_open"] is True
        status = run_kiosk("device", "printer", "status", "--url", url, "--json")
        assert status.returncode == 0 and json.loads(status.stdout)["state"] == "cover_open"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_sim_printer_bad_listen_is_exit_2():
    assert "--listen" in one_line_error(run_kiosk("sim", "printer", "--listen", "nowhere"), 2)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX only")
def test_help_mentions_every_action():
    proc = run_kiosk("device", "printer", "--help")
    assert proc.returncode == 0 and all(a in proc.stdout for a in ("status", "test", "self-test"))
