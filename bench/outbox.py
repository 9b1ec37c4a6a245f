"""Benchmark of the outbox against baselines measured in the same run, on the same disk.

    python bench/outbox.py [--dir DIR] [--repeats 3] [--part all|store|goodput]

- durable puts per second (small JSON) vs the raw fsync rate of the disk and vs raw SQLite
  inserts (WAL, synchronous=FULL, one transaction each); goal ≥ 40 % of the fsync rate;
- put of a 5 MB scan, p50/p99, vs writing and fsyncing 5 MB to a plain file;
- drain rate to a local HTTP server vs plain ``requests`` posts to the same server;
- start-up time and peak memory of a process opening an outbox with 10,000 pending items, vs an
  empty outbox; goal ≤ 1 s;
- goodput through a lossy link: a 600-item backlog (every tenth with a 200 KB scan) drained by
  ``kiosk queue run --until-empty`` (a real process, default settings) into the fault-injecting
  loopback server of the tests. Goodput is items delivered for the first time per second, from the
  start of that process until 95 % of the backlog has arrived (the server's own arrival times).
  Links: no faults (the baseline of the same run), about 23 % of requests failing (8 % answer
  500, 5 % answer 429 with ``Retry-After: 1``, 8 % drop the connection before or after processing,
  2 % answer after 1.5 s), and the same mix scaled to about 5 %. Goals: ≥ 20 items/s through the
  23 % link, ≥ 80 % of the fault-free rate at 5 %; every run checks that nothing was lost and that
  every item arrived once, under the key it was stored with. A second fault-free run in each repeat
  is a control: its ratio to the first is what the machine's own noise does to one run's ratio.

Every figure is a median over ``--repeats`` runs, baselines interleaved with the measured code so
that a disk shared with other work slows both alike (put rates: short alternating windows, the
ratio taken within each window pair).
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from offline_queue import Outbox, Sender  # noqa: E402

WINDOW_S = 0.15
SMALL_JSON = {"service": "城乡居民基本养老保险参保登记", "score": 5, "comment": "办事很方便" * 10, "kiosk": "demo-kiosk-001"}
SCAN_BYTES = 5 * 1024 * 1024

SERVER = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(201)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""

OPEN_CHILD = r"""
import sys, time

def rss_kib():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))

t0 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from offline_queue import Outbox
t1 = time.perf_counter()
rss_imported = rss_kib()
box = Outbox(sys.argv[2], key_file=sys.argv[3])
status = box.status()
t2 = time.perf_counter()
rss_open = rss_kib()
print(t2 - t1, t1 - t0, rss_open, rss_open - rss_imported, status["pending"])
"""


def rate(step, window_s: float = WINDOW_S) -> float:
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < window_s:
        step()
        n += 1
    return n / elapsed


# ----------------------------------------------------------------------------- measurements

class FsyncLoop:
    """The disk's raw durable-write rate: write 512 bytes and fsync, as fast as it goes; either
    rewriting the same block in place (the cheapest durable write there is) or appending."""

    def __init__(self, folder: Path, append: bool) -> None:
        name, flags = ("append.bin", os.O_APPEND) if append else ("rewrite.bin", 0)
        self.fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | flags, 0o600)
        self.payload = os.urandom(512)
        self.append = append

    def step(self) -> None:
        if self.append:
            os.write(self.fd, self.payload)
        else:
            os.pwrite(self.fd, self.payload, 0)
        os.fsync(self.fd)


class SqliteLoop:
    """Raw SQLite inserts, WAL and synchronous=FULL, one transaction each: the floor under a put."""

    def __init__(self, folder: Path) -> None:
        self.db = sqlite3.connect(folder / "raw.db", isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body BLOB)")
        self.body = os.urandom(400)

    def step(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO t (body) VALUES (?)", (self.body,))
        self.db.execute("COMMIT")


def put_rates(box: Outbox, folder: Path, rounds: int = 5) -> list[list[float]]:
    """Short windows of fsync (in place, appended), SQLite and put, alternated, so that a disk shared
    with other work slows all of them alike; returns the rates per round of each."""
    rewrite, append, raw = FsyncLoop(folder, append=False), FsyncLoop(folder, append=True), SqliteLoop(folder)
    put = lambda: box.put("POST", "/api/v1/ratings", json=SMALL_JSON)  # noqa: E731
    out: list[list[float]] = [[], [], [], []]
    for _ in range(rounds):
        for series, step in zip(out, (rewrite.step, append.step, raw.step, put)):
            series.append(rate(step, WINDOW_S))
    os.close(rewrite.fd)
    os.close(append.fd)
    raw.db.close()
    return out


def scan_puts(box: Outbox, folder: Path, count: int) -> tuple[list[float], list[float]]:
    scan = os.urandom(SCAN_BYTES)
    puts, raw = [], []
    for n in range(count):
        start = time.perf_counter()
        box.put("POST", "/api/v1/submissions", json={"n": n}, files=[("scan.jpg", scan)])
        puts.append(time.perf_counter() - start)
        start = time.perf_counter()
        with open(folder / "raw-scan.bin", "wb") as fh:
            fh.write(scan)
            fh.flush()
            os.fsync(fh.fileno())
        raw.append(time.perf_counter() - start)
        for item in box.lease(limit=10):  # keep the disk from filling: deliver it on the spot
            box.mark_done(item, 201)
    return puts, raw


def drain_rates(box: Outbox, url: str, count: int, chunks: int = 4) -> tuple[float, float]:
    """Drain ``count`` queued items, in chunks alternated with as many plain posts to the same server."""
    import requests

    sender = Sender(box, url, "bench-token", batch=16)
    session = requests.Session()
    body = dict(SMALL_JSON, n=0)
    drain_s = plain_s = 0.0
    for chunk in range(chunks):
        for n in range(count // chunks):
            box.put("POST", "/api/v1/ratings", json=dict(SMALL_JSON, n=n))
        start = time.perf_counter()
        assert sender.run_until_empty(timeout=60), "drain did not finish"
        drain_s += time.perf_counter() - start
        start = time.perf_counter()
        for n in range(count // chunks):
            session.post(url + "/api/v1/ratings", json=body, timeout=10,
                         headers={"Idempotency-Key": f"k{chunk}-{n}", "Authorization": "Bearer bench-token"}).content
        plain_s += time.perf_counter() - start
    sender.stop()
    session.close()
    return count / drain_s, count / plain_s


def fill(folder: Path, key: Path, count: int) -> None:
    """10,000 pending items, made quickly: this setup alone skips fsync (it measures opening, not putting)."""
    with Outbox(folder, key_file=key) as box:
        box._db.execute("PRAGMA synchronous = OFF")
        for n in range(count):
            box.put("POST", "/api/v1/ratings", json=dict(SMALL_JSON, n=n),
                    files=[("photo.jpg", os.urandom(2000))] if n % 10 == 0 else ())


def open_child(folder: Path, key: Path) -> tuple[float, float, float]:
    out = subprocess.run([sys.executable, "-c", OPEN_CHILD, str(REPO), str(folder), str(key)],
                         capture_output=True, text=True, check=True, timeout=60).stdout.split()
    return float(out[0]), float(out[1]), int(out[2]) / 1024, int(out[3]) / 1024  # open s, import s, MiB


# ----------------------------------------------------------------------------- goodput through a lossy link

LOSSY_MIX = {"500": 0.08, "429": 0.05, "drop_before": 0.04, "drop_after": 0.04, "slow": 0.02}
LINKS = [("no faults", 0.0), ("about 5 % fail", 0.05), ("about 23 % fail", 0.23)]
CONTROL = ("no faults, again", 0.0)  # after the links of each repeat: what noise alone does to a ratio
BACKLOG = 600
SHARE_ARRIVED = 0.95
GOODPUT_TOKEN = "bench-token"


def fault_spec(share: float) -> str:
    """The lossy mix scaled so that ``share`` of the requests fail ("" for a clean link)."""
    scale = share / sum(LOSSY_MIX.values())
    return ",".join(f"{name}={rate * scale:.5f}" for name, rate in LOSSY_MIX.items()) if share else ""


def fill_backlog(folder: Path, key: Path, count: int) -> dict[str, str]:
    """``count`` submissions put durably, as a kiosk would; returns marker → item id (its key)."""
    scan = os.urandom(200_000)
    ids = {}
    with Outbox(folder, key_file=key) as box:
        for n in range(count):
            marker = f"m{n}"
            files = [("身份证正面.jpg", scan)] if n % 10 == 0 else []
            ids[marker] = box.put("POST", "/api/v1/submissions", files=files,
                                  json={"marker": marker, "service": "城乡居民基本养老保险参保登记", "n": n})
    return ids


def goodput_run(root: Path, key: Path, name: str, share: float, seed: int) -> dict:
    """Drain one backlog through one link with ``kiosk queue run --until-empty``; check and time it."""
    from test_outbox_faultserver import FaultServerProcess

    folder = root / name
    ids = fill_backlog(folder, key, BACKLOG)
    config = root / "empty.toml"
    config.write_text("", encoding="utf-8")
    with FaultServerProcess(root / f"{name}.jsonl", faults=fault_spec(share), seed=seed, slow_s=1.5,
                            token=GOODPUT_TOKEN, retry_after=1) as server:
        started = time.time()
        run = subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(config), "queue", "run",
                              "--base-url", server.url, "--token", GOODPUT_TOKEN, "--until-empty",
                              "--timeout", "600", "--data-dir", str(folder), "--key-file", str(key)],
                             cwd=REPO, capture_output=True, text=True, timeout=900)
        ended = time.time()
        records = server.records()
    if run.returncode != 0:
        raise SystemExit(f"kiosk queue run failed ({run.returncode}): {run.stderr.strip()}")
    with Outbox(folder, key_file=key) as box:
        status, infos = box.status(), box.list()
    keys_by_marker: dict[str, list[str]] = {}
    for record in records:
        keys_by_marker.setdefault(record["payload"]["marker"], []).append(record["key"])
    lost = sum(1 for marker in ids if marker not in keys_by_marker)
    changed = sum(1 for marker, keys in keys_by_marker.items() if keys != [ids.get(marker)])
    times = sorted(r["t"] for r in records)
    need = math.ceil(SHARE_ARRIVED * BACKLOG)
    reached = times[need - 1] - started if len(times) >= need else float("inf")
    shutil.rmtree(folder)
    return {"goodput": need / reached, "to_95": reached, "drained": ended - started, "lost": lost,
            "changed": changed, "attempts": sum(i.attempts for i in infos) / len(infos),
            "left": status["pending"] + status["inflight"] + status["dead"]}


def goodput_report(root: Path, key: Path, repeats: int) -> bool:
    runs: dict[str, list[dict]] = {name: [] for name, _ in LINKS + [CONTROL]}
    for repeat in range(repeats):  # the links interleaved, each in turn first, so that other load hits all alike
        for n, (name, share) in enumerate(LINKS[repeat % len(LINKS):] + LINKS[:repeat % len(LINKS)] + [CONTROL]):
            runs[name].append(goodput_run(root, key, f"goodput-{repeat}-{n}", share, seed=1000 * repeat + n))
    med = statistics.median
    clean = runs["no faults"]

    def ratios(name: str) -> list[float]:
        """The ratios within each repeat (the links of one repeat ran back to back)."""
        return [r["goodput"] / c["goodput"] for r, c in zip(runs[name], clean)]

    def vs_clean(name: str) -> float:
        return med(ratios(name))

    head = ("link", "goodput", "min–max", "vs no faults", "min–max", "95 % at", "all in", "attempts/item", "lost",
            "keys changed")
    rows = [head]
    for name, share in LINKS + [CONTROL]:
        rs = runs[name]
        rate = med(r["goodput"] for r in rs)
        spread = [r["goodput"] for r in rs]
        rows.append((name, f"{rate:,.1f} items/s", f"{min(spread):,.0f}–{max(spread):,.0f}", f"{vs_clean(name):.2f}",
                     f"{min(ratios(name)):.2f}–{max(ratios(name)):.2f}", f"{med(r['to_95'] for r in rs):.2f} s",
                     f"{med(r['drained'] for r in rs):.2f} s", f"{med(r['attempts'] for r in rs):.2f}",
                     str(sum(r["lost"] for r in rs)), str(sum(r["changed"] for r in rs))))
    print(f"goodput: {BACKLOG}-item backlog, `kiosk queue run --until-empty` with default settings, "
          f"medians of {repeats} runs per link and the lowest and highest run (ratios: within each repeat, "
          f"the links back to back; then a second fault-free run, a control for noise);\n"
          f"fault mixes: 5 % {fault_spec(0.05)}; 23 % {fault_spec(0.23)}")
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for row in rows:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))
    lossy = med(r["goodput"] for r in runs["about 23 % fail"])
    light = vs_clean("about 5 % fail")
    bad = sum(r["lost"] + r["changed"] + r["left"] for rs in runs.values() for r in rs)
    print(f"goals: ≥ 20 items/s through the 23 % link: {'met' if lossy >= 20 else 'NOT met'} ({lossy:.1f}); "
          f"≥ 0.80 of the fault-free rate at 5 %: {'met' if light >= 0.8 else 'NOT met'} ({light:.2f}); "
          f"nothing lost, no key changed, nothing left: {'yes' if bad == 0 else 'NO'}")
    return bad == 0


# ----------------------------------------------------------------------------- report

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=None, help="where to put the test data (default: a temp dir)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--part", choices=("all", "store", "goodput"), default="all",
                    help="store: puts, scans, drain, opening; goodput: draining through lossy links")
    args = ap.parse_args()
    if args.part in ("all", "store"):
        store_report(args)
    if args.part in ("all", "goodput"):
        root = Path(tempfile.mkdtemp(prefix="outbox-goodput-", dir=args.dir))
        try:
            ok = goodput_report(root, root / "keys" / "outbox.key", args.repeats)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        if not ok:
            raise SystemExit("goodput runs lost items, changed keys or left items behind")


def store_report(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="outbox-bench-", dir=args.dir))
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
    began = time.perf_counter()
    try:
        key = root / "keys" / "outbox.key"
        fs, fa, sq, pr, p50s, p99s, raw50s, drains, plains = [], [], [], [], [], [], [], [], []
        for repeat in range(args.repeats):  # each measurement on a fresh outbox
            with Outbox(root / f"put-{repeat}", key_file=key) as box:
                f_rates, a_rates, s_rates, p_rates = put_rates(box, root)
            fs += f_rates
            fa += a_rates
            sq += s_rates
            pr += p_rates
            with Outbox(root / f"scan-{repeat}", key_file=key, quota_bytes=4 << 30) as box:
                puts, raw = scan_puts(box, root, 20)
            p50s.append(statistics.median(puts))
            p99s.append(statistics.quantiles(puts, n=100)[98])
            raw50s.append(statistics.median(raw))
            with Outbox(root / f"drain-{repeat}", key_file=key) as box:
                d, p = drain_rates(box, url, 200)
            drains.append(d)
            plains.append(p)
            for name in ("put", "scan", "drain"):
                shutil.rmtree(root / f"{name}-{repeat}")
        fill(root / "big", key, 10_000)
        empty = root / "empty"
        Outbox(empty, key_file=key).close()
        opens = [(open_child(root / "big", key), open_child(empty, key)) for _ in range(args.repeats)]
    finally:
        server.kill()
        shutil.rmtree(root, ignore_errors=True)

    med = statistics.median
    f, s, p = med(fs), med(sq), med(pr)
    put_vs_fsync = med(b / a for a, b in zip(fs, pr))  # ratio within each round, then the median
    put_vs_append = med(b / a for a, b in zip(fa, pr))
    put_vs_sqlite = med(b / a for a, b in zip(sq, pr))
    big_open, empty_open = med(o[0][0] for o in opens), med(o[1][0] for o in opens)
    big_rss, empty_rss = med(o[0][2] for o in opens), med(o[1][2] for o in opens)
    big_added, empty_added = med(o[0][3] for o in opens), med(o[1][3] for o in opens)
    rows = [
        ("durable put, small JSON", f"{p:,.0f} items/s", f"fsync, in place {f:,.0f} /s", f"{put_vs_fsync:.2f}", "≥ 0.40"),
        ("", "", f"fsync, appending {med(fa):,.0f} /s", f"{put_vs_append:.2f}", ""),
        ("", "", f"raw SQLite insert {s:,.0f} /s", f"{put_vs_sqlite:.2f}", ""),
        ("put 5 MB scan p50", f"{med(p50s) * 1000:,.1f} ms", f"write+fsync 5 MB {med(raw50s) * 1000:,.1f} ms",
         f"{med(p50s) / med(raw50s):.2f}", ""),
        ("put 5 MB scan p99", f"{med(p99s) * 1000:,.1f} ms", "", "", ""),
        ("drain to local server", f"{med(drains):,.0f} items/s", f"requests.post {med(plains):,.0f} /s",
         f"{med(drains) / med(plains):.2f}", ""),
        ("open + status, 10,000 pending", f"{big_open * 1000:,.0f} ms", f"empty outbox {empty_open * 1000:,.0f} ms",
         f"{big_open / empty_open:.1f}", "≤ 1000 ms"),
        ("RSS, 10,000 pending", f"{big_rss:,.1f} MiB", f"empty outbox {empty_rss:,.1f} MiB",
         f"{big_rss / empty_rss:.2f}", ""),
        ("  of which opening adds", f"{big_added:,.1f} MiB", f"empty outbox {empty_added:,.1f} MiB", "", ""),
    ]
    print(f"outbox benchmark: medians of {args.repeats} runs (puts: {len(pr)} alternating windows), {time.perf_counter() - began:.0f} s, "
          f"data in {args.dir or tempfile.gettempdir()}")
    widths = [max(len(r[i]) for r in rows + [("measure", "value", "baseline", "ratio", "goal")]) for i in range(5)]
    for row in [("measure", "value", "baseline", "ratio", "goal")] + rows:
        print("  ".join(cell.ljust(w) if i != 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))
    goal_put = put_vs_fsync >= 0.40
    goal_open = big_open <= 1.0
    print(f"goals: put ≥ 40 % of the in-place fsync rate: {'met' if goal_put else 'NOT met'}; "
          f"open with 10,000 pending ≤ 1 s: {'met' if goal_open else 'NOT met'}")


if __name__ == "__main__":
    main()
