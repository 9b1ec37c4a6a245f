"""Certificate printing and the print ledger, against baselines measured in the same run.

- submit → completed on a private CUPS with a CUPS-PDF queue (the one the tests start): the
  production driver (pycups: Create-Job + Send-Document from memory, then Get-Job-Attributes and
  Get-Printer-Attributes every 50 ms) against ``lp`` + polling ``lpstat -W not-completed`` every
  50 ms until the job leaves the list (which cannot tell completed from aborted);
- ledger append (hash chain, fsync, sealed head) against a plain JSON-lines append with one fsync;
- ledger verify (parse, re-hash, chain, seal) against plain JSON-lines parsing.

Run: ``python bench/docprinter.py`` (about 20 s). Prints medians and ratios.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cups_fixture import CupsUnavailable, PrivateCups, missing_requirement, sample_pdf  # noqa: E402
from devices.document_printer.driver import DocumentPrinter  # noqa: E402
from kiosk.ledger import PrintLedger  # noqa: E402

JOBS = 12
POLL = 0.05
LEDGER_ENTRIES = 300


def lp_and_lpstat(server: str, queue: str, path: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(["lp", "-h", server, "-d", queue, "-t", "kiosk-bench", str(path)],
                          capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}, timeout=30)
    job = done.stdout.split("request id is ", 1)[1].split()[0]  # "a4-12"
    while True:
        listing = subprocess.run(["lpstat", "-h", server, "-W", "not-completed", "-o", queue],
                                 capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}, timeout=30)
        if not any(line.split()[:1] == [job] for line in listing.stdout.splitlines()):
            return time.perf_counter() - start
        time.sleep(POLL)


def bench_cups() -> None:
    reason = missing_requirement()
    if reason:
        print(f"CUPS part skipped: {reason}")
        return
    pdf = sample_pdf(2)
    try:
        server = PrivateCups().start()
    except CupsUnavailable as exc:
        print(f"CUPS part skipped: {exc}")
        return
    try:
        out = server.add_pdf_queue("a4")
        path = server.base / "bench.pdf"
        path.write_bytes(pdf)
        driver_times, baseline_times = [], []
        with DocumentPrinter(server.url("a4", poll=POLL)) as printer:
            printer.print_job(pdf, timeout=60)  # warm-up: connection, filters in the page cache
            lp_and_lpstat(server.server, "a4", path)
            for _ in range(JOBS):  # interleaved, so both see the same machine load
                result = printer.print_job(pdf, timeout=60)
                if not result.completed:
                    raise SystemExit(f"driver job failed: {result}")
                driver_times.append(result.elapsed)
                baseline_times.append(lp_and_lpstat(server.server, "a4", path))
        outputs = len(server.outputs(out))
    finally:
        server.stop()
    d, b = statistics.median(driver_times) * 1000, statistics.median(baseline_times) * 1000
    print(f"submit -> completed, 2-page PDF, private cupsd + CUPS-PDF, {JOBS} jobs each, poll {POLL * 1000:.0f} ms "
          f"({outputs} PDFs came out):")
    print(f"  driver (pycups, job-state)         median {d:7.1f} ms  (min {min(driver_times) * 1000:.1f}, "
          f"max {max(driver_times) * 1000:.1f})")
    print(f"  baseline lp + lpstat polling       median {b:7.1f} ms  (min {min(baseline_times) * 1000:.1f}, "
          f"max {max(baseline_times) * 1000:.1f})")
    print(f"  driver / baseline                  {d / b:7.2f}x")


def bench_ledger() -> None:
    with tempfile.TemporaryDirectory(prefix="kiosk-ledger-bench-") as tmp:
        tmp = Path(tmp)
        ledger = PrintLedger(tmp / "data", tmp / "keys" / "ledger.key", kiosk_id="bench-001")
        document = sample_pdf(1)
        ledger.subject_of("11010519491231002X")  # create the key outside the timing
        append_times = []
        for i in range(LEDGER_ENTRIES):
            start = time.perf_counter()
            ledger.append(certificate_id=f"CERT-{i:06d}", document=document, pages=1, printer="cups://a4",
                          result="completed", id_number="11010519491231002X")
            append_times.append(time.perf_counter() - start)
        plain = tmp / "plain.jsonl"
        plain_times = []
        fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for i in range(LEDGER_ENTRIES):
                start = time.perf_counter()
                record = {"seq": i + 1, "certificate_id": f"CERT-{i:06d}", "pages": 1, "result": "completed"}
                os.write(fd, json.dumps(record).encode() + b"\n")
                os.fsync(fd)
                plain_times.append(time.perf_counter() - start)
        finally:
            os.close(fd)
        a, p = statistics.median(append_times) * 1000, statistics.median(plain_times) * 1000
        print(f"ledger append, {LEDGER_ENTRIES} entries, each fsynced:")
        print(f"  PrintLedger.append (chain + seal)  median {a:7.3f} ms  ({1000 / a:7.0f}/s)")
        print(f"  baseline JSON line + fsync         median {p:7.3f} ms  ({1000 / p:7.0f}/s)")
        print(f"  ledger / baseline                  {a / p:7.2f}x")

        verify_runs, parse_runs = [], []
        for _ in range(7):
            start = time.perf_counter()
            report = ledger.verify()
            verify_runs.append(time.perf_counter() - start)
            assert report.ok and report.entries == LEDGER_ENTRIES
            start = time.perf_counter()
            with open(ledger.path, "rb") as fh:
                parsed = [json.loads(line) for line in fh]
            parse_runs.append(time.perf_counter() - start)
            assert len(parsed) == LEDGER_ENTRIES
        v, q = statistics.median(verify_runs), statistics.median(parse_runs)
        print(f"ledger verify, {LEDGER_ENTRIES} entries:")
        print(f"  PrintLedger.verify                 median {v * 1000:7.2f} ms  ({LEDGER_ENTRIES / v:9.0f} entries/s)")
        print(f"  baseline json.loads of each line   median {q * 1000:7.2f} ms  ({LEDGER_ENTRIES / q:9.0f} entries/s)")
        print(f"  verify / baseline                  {v / q:7.2f}x")


if __name__ == "__main__":
    started = time.perf_counter()
    bench_cups()
    bench_ledger()
    print(f"(took {time.perf_counter() - started:.1f} s)")
