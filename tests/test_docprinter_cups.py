"""The production driver against a real, private cupsd with CUPS-PDF queues (see cups_fixture)."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from cups_fixture import PrivateCups, private_cups, require_cups, sample_pdf  # noqa: F401 - fixture
from devices.base import Backoff, DeviceState
from devices.document_printer.driver import DocumentPrinter

PDF2 = sample_pdf(2, label="residence certificate")


@pytest.fixture(scope="module")
def queues(private_cups):
    return {"a4": private_cups.add_pdf_queue("a4"), "broken": private_cups.add_pdf_queue("broken", broken=True)}


def driver(server: PrivateCups, queue: str) -> DocumentPrinter:
    return DocumentPrinter(server.url(queue, poll=0.05), backoff=Backoff(base=0.05, cap=0.2)).start()


def pdf_pages(path) -> int:
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, timeout=30).stdout
        return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", path.read_bytes()))


def test_job_completes_and_the_pdf_comes_out(private_cups, queues):
    with driver(private_cups, "a4") as p:
        result = p.print_job(PDF2, timeout=60)
        assert result.completed, result
        assert result.sent and result.pages == 2 and result.job_id
        out = [f for f in private_cups.outputs(queues["a4"]) if f.name.endswith(f"job_{result.job_id}.pdf")]
        assert len(out) == 1, private_cups.outputs(queues["a4"])
        data = out[0].read_bytes()
        assert data.startswith(b"%PDF-") and b"%%EOF" in data[-64:]
        assert pdf_pages(out[0]) == 2
        assert p.status().state is DeviceState.READY
        assert p.status().counters["jobs_completed"] == 1


def test_finished_jobs_are_purged_from_cups(private_cups, queues):
    import cups

    with driver(private_cups, "a4") as p:
        result = p.print_job(PDF2, timeout=60)
    assert result.completed
    cups.setServer(private_cups.server)
    try:
        with pytest.raises(cups.IPPError):
            cups.Connection().getJobAttributes(result.job_id)  # neither the document nor its title is kept
    finally:
        cups.setServer("")


def test_stopped_queue_refuses_before_sending(private_cups, queues):
    before = private_cups.outputs(queues["a4"])
    private_cups.disable("a4", "paper tray 2 removed")
    try:
        with driver(private_cups, "a4") as p:
            result = p.print_job(PDF2, timeout=60)
            assert (result.completed, result.sent, result.reason) == (False, False, "paused")
            assert result.reason_zh == "打印队列已暂停" and "paper tray 2 removed" in result.detail
            assert p.status().state is DeviceState.ERROR
            report = p.self_test()
            assert not report.ok and [c.name for c in report.checks if not c.ok] == ["state"]
    finally:
        private_cups.enable("a4")
    assert private_cups.outputs(queues["a4"]) == before


def test_rejecting_queue_refuses(private_cups, queues):
    private_cups.reject("a4")
    try:
        with driver(private_cups, "a4") as p:
            result = p.print_job(PDF2, timeout=60)
            assert (result.completed, result.sent, result.reason) == (False, False, "not-accepting")
    finally:
        private_cups.accept("a4")


def test_failing_printer_is_a_failed_job(private_cups, queues):
    with driver(private_cups, "broken") as p:
        result = p.print_job(PDF2, timeout=60)
        assert not result.completed and result.sent and result.job_id
        assert result.reason in ("canceled", "aborted", "stopped")
        assert result.reason_zh and result.reason_en
    assert private_cups.outputs(queues["broken"]) == []


def test_missing_queue(private_cups, queues):
    with driver(private_cups, "no-such-queue") as p:
        result = p.print_job(PDF2, timeout=60)
        assert (result.completed, result.sent, result.reason) == (False, False, "missing")
        report = p.self_test()
        assert [c.name for c in report.checks if not c.ok] == ["queue"]


def test_server_goes_away_and_comes_back():
    require_cups()
    with PrivateCups() as server:
        out = server.add_pdf_queue("a4")
        with driver(server, "a4") as p:
            assert p.print_job(PDF2, timeout=60).completed
            server.halt()
            result = p.print_job(PDF2, timeout=60)
            assert (result.completed, result.reason) == (False, "unreachable")
            assert p.status().state is DeviceState.OFFLINE
            server.start()
            again = p.print_job(PDF2, timeout=60)
            assert again.completed, again
            assert p.status().counters.get("reconnects", 0) >= 1
        assert len(server.outputs(out)) == 2
