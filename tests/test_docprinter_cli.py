"""``kiosk device docprinter status|print|self-test`` as a technician runs them: sim:// and a real CUPS."""
from __future__ import annotations

import json
import socket

import pytest

from conftest import run_kiosk
from cups_fixture import private_cups, sample_pdf  # noqa: F401 - fixture


@pytest.fixture(scope="module")
def pdf_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("docs") / "certificate.pdf"
    path.write_bytes(sample_pdf(2))
    return path


@pytest.fixture(scope="module")
def a4(private_cups):
    return private_cups.add_pdf_queue("a4")


def one_line(done) -> str:
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def test_sim_status_print_and_self_test(pdf_file):
    done = run_kiosk("device", "docprinter", "status", "--url", "sim://", "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert (status["state"], status["can_print"], status["detail_zh"]) == ("idle", True, "就绪")
    done = run_kiosk("device", "docprinter", "print", str(pdf_file), "--url", "sim://?poll=0.01", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "completed" and json.loads(done.stdout)["pages"] == 2
    done = run_kiosk("device", "docprinter", "self-test", "--url", "sim://")
    assert done.returncode == 0 and done.stdout.count("ok  ") == 4


def test_sim_without_paper_fails_with_the_reason(pdf_file):
    done = run_kiosk("device", "docprinter", "print", str(pdf_file), "--url", "sim://?paper=0")
    assert done.returncode == 4
    assert "not sent: out of paper (打印机缺纸)" in one_line(done)
    done = run_kiosk("device", "docprinter", "self-test", "--url", "sim://?paper=0")
    assert done.returncode == 4 and "self-test failed at state" in one_line(done)


def test_bad_input_exits_2_before_any_printer(tmp_path):
    html = tmp_path / "page.pdf"
    html.write_text("<html>not a pdf</html>")
    for args, words in [
        (("print", str(tmp_path / "missing.pdf"), "--url", "sim://"), "cannot read"),
        (("print", str(html), "--url", "sim://"), "is not a PDF"),
        (("status", "--url", "ipp://printer"), "unsupported"),
        (("status", "--url", "cups://a4?server=nohost"), "HOST:PORT"),
        (("status", "--url", "sim://", "--timeout", "0"), "--timeout"),
    ]:
        done = run_kiosk("device", "docprinter", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert words in one_line(done)


def test_cups_status_print_self_test(private_cups, a4, pdf_file):
    url = private_cups.url("a4", poll=0.05)
    done = run_kiosk("device", "docprinter", "status", "--url", url)
    assert done.returncode == 0 and done.stdout.startswith("idle: ready"), done.stderr
    done = run_kiosk("device", "docprinter", "print", str(pdf_file), "--url", url)
    assert done.returncode == 0, done.stderr
    assert "completed, 2 page(s)" in done.stdout
    assert len(private_cups.outputs(a4)) == 1
    done = run_kiosk("device", "docprinter", "self-test", "--url", url, "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["ok"] is True


def test_cups_server_from_the_environment(private_cups, a4):
    done = run_kiosk("device", "docprinter", "status", "--url", "cups://a4", "--json",
                     env={"CUPS_SERVER": private_cups.server})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "idle"


def test_cups_stopped_queue_and_dead_server(private_cups, a4, pdf_file):
    url = private_cups.url("a4", poll=0.05)
    private_cups.disable("a4")
    try:
        done = run_kiosk("device", "docprinter", "status", "--url", url)
        assert done.returncode == 0 and done.stdout.startswith("stopped: queue paused")
        done = run_kiosk("device", "docprinter", "print", str(pdf_file), "--url", url)
        assert done.returncode == 4 and "not sent: queue paused" in one_line(done)
    finally:
        private_cups.enable("a4")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    done = run_kiosk("device", "docprinter", "status", "--url", f"cups://a4?server=127.0.0.1:{closed}")
    assert done.returncode == 4 and "did not answer" in one_line(done)
    done = run_kiosk("device", "docprinter", "status", "--url", private_cups.url("nope"))
    assert done.returncode == 4 and "no queue 'nope'" in one_line(done)
