"""Benchmark of the fleet: 1,000 simulated kiosks against the reference platform on PostgreSQL.

    python bench/fleet.py [--kiosks 1000] [--heartbeat-s 10] [--poll-s 60] [--steady-s 30]

What runs for real: PostgreSQL (a throwaway server on loopback), the platform as its own process
(``kiosk backend``, one uvicorn worker, with its rollout controller and presence listener), Mosquitto
on loopback, and per kiosk one MQTT connection (aiomqtt over paho-mqtt) with a retained presence and a
last will. What is simulated: a kiosk is a coroutine, not a machine. It heartbeats with the real
fleet fields, polls, and on a notice or a poll runs the real TUF refresh of ``kiosk.fleet.trust``
(ngclient, signatures and hashes checked, its own metadata folder) in a pool of 4 threads; "apply"
is instantaneous (no UI, no devices, the health gate passes) and is followed by a heartbeat saying
so. The kiosks are spread over ``--workers`` simulator processes (asyncio in each); HTTP goes
through one pooled client per process (20 connections) rather than 1,000 sockets.

Time is compressed: kiosks heartbeat every ``--heartbeat-s`` (30 s: twice the real rate of one a
minute). The signed repository is served by a separate static file server process, as nginx would
serve it in production (``deploy/FLEET.md``); the platform process handles heartbeats, reports,
the controller and presence. The machine's load average is printed with the figures: on a shared
machine the figures say as much about the neighbours as about the platform.

Figures:
- steady state: heartbeat p50/p99 round trip seen by the kiosks, against ``/healthz`` p50/p99 of
  the same platform in the same window (the baseline: what the server answers with no database
  work); platform CPU (% of one core) and resident memory. Goal: heartbeat p99 ≤ 50 ms.
- publish with the broker up: seconds from ``publish`` until 99 % of the kiosks have applied it and
  said so in a heartbeat (read from the platform's database). Goal ≤ 120 s.
- publish with the broker stopped: the same, kiosks polling every ``--poll-s``. Goal ≤ one poll
  interval (plus the time to fetch and report).
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

import aiomqtt  # noqa: E402
import httpx  # noqa: E402
import psutil  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from backend.db import Database  # noqa: E402
from backend.fleet import tables as t  # noqa: E402
from backend.fleet.service import Fleet, Plan  # noqa: E402
from fleet_helpers import Mosquitto, PostgresServer, document, free_port, token_for  # noqa: E402
from kiosk.fleet import trust  # noqa: E402
from kiosk.fleet.protocol import notice_topic, presence_topic  # noqa: E402


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


class SimKiosk:
    def __init__(self, bench: "Bench", index: int) -> None:
        self.bench = bench
        self.id = f"sim-{index:04d}"
        self.token = token_for(self.id)
        self.state_dir = bench.tmp / "kiosks" / self.id
        self.applied: dict[str, int] = {}
        self.revision = 0
        self.refresh_wanted = asyncio.Event()
        self.busy = False

    async def heartbeat(self, record: bool) -> None:
        body = {"software_version": "0.1.0", "config_applied": self.applied, "config_staged": {},
                "devices": {"receipt_printer": "ok", "idcard": "ok"}, "healthy": True,
                "outbox_backlog": 0, "disk_free_mb": 20000, "paper_left_m": 40.0, "uptime_s": 3600,
                "clock_offset_ms": 0}
        started = time.perf_counter()
        try:
            response = await self.bench.http.post(f"/api/v1/kiosks/{self.id}/heartbeat", json=body,
                                                  headers={"Authorization": f"Bearer {self.token}"})
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        if record and ok:
            self.bench.heartbeat_ms.append((time.time(), (time.perf_counter() - started) * 1000))
        if not ok:
            self.bench.errors += 1

    async def refresh(self) -> None:
        if self.busy:
            return
        self.busy = True
        try:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(
                self.bench.pool, trust.fetch, self.state_dir, self.bench.repository_url,
                self.bench.root_path, self.id, ["county", f"kiosk/{self.id}"])
            self.revision = result.revision
            versions = {scope: doc.version for scope, doc in result.documents.items()}
            if versions != self.applied:
                self.applied = versions  # "apply": instantaneous here, the gate passes
                await self.heartbeat(record=False)
        except trust.TrustError:
            self.bench.errors += 1
        finally:
            self.busy = False

    async def run_http(self) -> None:
        await asyncio.sleep(random.uniform(0, self.bench.heartbeat_s))
        next_heartbeat = time.monotonic()
        next_poll = time.monotonic() + random.uniform(0, self.bench.poll_s)
        while not self.bench.stopping:
            now = time.monotonic()
            if now >= next_heartbeat:
                await self.heartbeat(record=True)
                next_heartbeat = now + self.bench.heartbeat_s
            if now >= next_poll or self.refresh_wanted.is_set():
                self.refresh_wanted.clear()
                await self.refresh()
                next_poll = time.monotonic() + self.bench.poll_s
            wait = max(0.01, min(next_heartbeat, next_poll) - time.monotonic())
            try:
                await asyncio.wait_for(self.refresh_wanted.wait(), wait)
            except asyncio.TimeoutError:
                pass

    async def run_mqtt(self) -> None:
        will = aiomqtt.Will(presence_topic(self.id), b"offline", qos=1, retain=True)
        delay = 1.0
        while not self.bench.stopping:
            try:
                async with aiomqtt.Client("127.0.0.1", self.bench.broker_port, identifier=self.id, will=will,
                                          keepalive=60) as client:
                    self.bench.mqtt_connected += 1
                    delay = 1.0
                    try:
                        await client.subscribe([(notice_topic("county"), 1), (notice_topic(f"kiosk/{self.id}"), 1)])
                        await client.publish(presence_topic(self.id), b"online", qos=1, retain=True)
                        async for message in client.messages:
                            try:
                                revision = json.loads(message.payload)["revision"]
                            except (ValueError, KeyError, TypeError):
                                continue
                            if revision > self.revision:
                                self.refresh_wanted.set()
                    finally:
                        self.bench.mqtt_connected -= 1
            except aiomqtt.MqttError:  # back off as the kiosk's paho client does: 1 s doubling to 10 s
                await asyncio.sleep(random.uniform(0.5, 1.0) * delay)
                delay = min(10.0, delay * 2)


class Worker:
    """A slice of the simulated kiosks in one process (so the simulator is not the bottleneck)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(args.tmp)
        self.heartbeat_s = args.heartbeat_s
        self.poll_s = args.poll_s
        self.broker_port = args.broker_port
        self.repository_url = args.repository
        self.root_path = Path(args.root)
        self.heartbeat_ms: list[tuple[float, float]] = []
        self.errors = 0
        self.stopping = False
        self.mqtt_connected = 0
        self.pool = concurrent.futures.ThreadPoolExecutor(4)

    async def main(self) -> None:
        import signal

        limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
        self.http = httpx.AsyncClient(base_url=self.args.url, timeout=60, limits=limits)
        kiosks = [SimKiosk(self, i) for i in range(self.args.first, self.args.first + self.args.count)]
        tasks = [asyncio.create_task(k.run_http()) for k in kiosks]
        tasks += [asyncio.create_task(k.run_mqtt()) for k in kiosks]
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        status = Path(self.args.out + ".connected")
        while not stop.is_set():
            status.write_text(str(self.mqtt_connected))
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
        self.stopping = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        Path(self.args.out).write_text(json.dumps({"heartbeats": self.heartbeat_ms, "errors": self.errors}))


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.heartbeat_s = args.heartbeat_s
        self.poll_s = args.poll_s

    def start_services(self) -> None:
        self.pg = PostgresServer().start(max_connections=100)
        if self.pg.url is None:
            raise SystemExit(f"bench/fleet.py needs PostgreSQL: {self.pg.skip_reason}")
        self.broker = Mosquitto(self.tmp / "broker").start()
        db = Database(self.pg.url)
        db.initialise()
        ids = [f"sim-{i:04d}" for i in range(self.args.kiosks)]
        db.register_kiosks({k: token_for(k) for k in ids}, group="bench")
        self.fleet = Fleet(db)
        self.fleet.init(self.tmp / "fleet", self.tmp / "keys", self.broker.url)
        self.fleet.set_setting("tick_s", "1")
        self.root_path = self.tmp / "fleet" / "root.json"
        port = free_port()
        self.platform = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "backend", "--db", self.pg.url, "--port", str(port)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.platform.stdout.readline()
        match = re.search(r"serving (\S+)", line)
        if not match:
            raise SystemExit(f"the platform did not start: {line}{self.platform.stdout.read()[-2000:]}")
        self.url = match.group(1)
        # The signed repository is static files: as nginx would in production, a separate static
        # server process serves them, so TUF downloads do not queue behind heartbeats in Python.
        static_port = free_port()
        self.static = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(static_port), "--bind", "127.0.0.1",
             "--directory", str(self.tmp / "fleet" / "repository")],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.repository_url = f"http://127.0.0.1:{static_port}"
        self.proc = psutil.Process(self.platform.pid)

    def stop_services(self) -> None:
        self.static.terminate()
        self.platform.terminate()
        try:
            self.platform.wait(20)
        except subprocess.TimeoutExpired:
            self.platform.kill()
        self.broker.stop()
        self.fleet.db.dispose()
        self.pg.stop()

    def applied_count(self, version: int) -> int:
        with self.fleet.db.read() as conn:
            rows = conn.execute(sa.select(t.fleet_kiosk_status.c.config_applied)).scalars().all()
        return sum(1 for r in rows if isinstance(r, dict) and r.get("county") == version)

    async def publish_and_wait(self, version: int, timeout: float) -> float | None:
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        await loop.run_in_executor(None, lambda: self.fleet.publish(
            document("county", version, f'[kiosk]\nhotline = "1234{version}"\n'), f"county-{version}.toml",
            self.tmp / "keys", Plan(percents=[100], soak_s=0, canary_wave=False)))
        need = int(self.args.kiosks * 0.99 + 0.999)
        while time.monotonic() - started < timeout:
            count = await loop.run_in_executor(None, self.applied_count, version)
            if count >= need:
                return time.monotonic() - started
            await asyncio.sleep(0.5)
        return None

    def latency_probe(self, heartbeats: list[float], healthz: list[float], stop) -> None:
        """A light client of its own (a thread here, not a starved simulator): heartbeats of 20 kiosks
        and /healthz in turn, each timed. Its heartbeats leave the kiosks' config fields alone."""
        import requests

        session = requests.Session()
        body = {"software_version": "0.1.0", "devices": {"receipt_printer": "ok"}, "healthy": True,
                "outbox_backlog": 0, "disk_free_mb": 20000, "paper_left_m": 40.0, "uptime_s": 3600,
                "clock_offset_ms": 0}
        n = 0
        while not stop.is_set():
            kiosk_id = f"sim-{n % 20:04d}"
            n += 1
            started = time.perf_counter()
            response = session.post(f"{self.url}/api/v1/kiosks/{kiosk_id}/heartbeat", json=body, timeout=60,
                                    headers={"Authorization": f"Bearer {token_for(kiosk_id)}"})
            if response.status_code == 200:
                heartbeats.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            if session.get(f"{self.url}/healthz", timeout=60).status_code == 200:
                healthz.append((time.perf_counter() - started) * 1000)
            stop.wait(0.1)

    def start_workers(self) -> list[tuple[subprocess.Popen, Path]]:
        workers = []
        per = -(-self.args.kiosks // self.args.workers)
        for w in range(self.args.workers):
            first = w * per
            count = min(per, self.args.kiosks - first)
            if count <= 0:
                break
            out = self.tmp / f"worker-{w}.json"
            cmd = [sys.executable, __file__, "--worker", "--first", str(first), "--count", str(count),
                   "--url", self.url, "--repository", self.repository_url, "--broker-port", str(self.broker.port), "--root", str(self.root_path),
                   "--tmp", str(self.tmp), "--heartbeat-s", str(self.heartbeat_s), "--poll-s", str(self.poll_s),
                   "--out", str(out)]
            workers.append((subprocess.Popen(cmd, cwd=REPO), out))
        return workers

    def connected(self, workers) -> int:
        total = 0
        for _proc, out in workers:
            try:
                total += int(Path(str(out) + ".connected").read_text() or 0)
            except (OSError, ValueError):
                pass
        return total

    async def main(self) -> dict:
        import os

        load_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
        workers = self.start_workers()
        deadline = time.monotonic() + 180
        while self.connected(workers) < self.args.kiosks and time.monotonic() < deadline:
            await asyncio.sleep(1)
        results: dict = {"kiosks": self.args.kiosks, "mqtt_connected": self.connected(workers), "load_start": load_start,
                         "heartbeat_rate_per_s": self.args.kiosks / self.heartbeat_s}
        await asyncio.sleep(self.heartbeat_s)  # every kiosk has heartbeated once

        # Steady state: heartbeats and the /healthz baseline in the same window.
        import threading

        self.proc.cpu_percent(None)
        healthz: list[float] = []
        probe_heartbeats: list[float] = []
        stop = threading.Event()
        probe = threading.Thread(target=self.latency_probe, args=(probe_heartbeats, healthz, stop))
        probe.start()
        steady = (time.time(), time.time() + self.args.steady_s)
        await asyncio.sleep(self.args.steady_s)
        stop.set()
        await asyncio.get_running_loop().run_in_executor(None, probe.join)
        results.update(steady_cpu_percent=self.proc.cpu_percent(None), rss_mb=self.proc.memory_info().rss / 2**20,
                       healthz_p50_ms=pct(healthz, 50), healthz_p99_ms=pct(healthz, 99),
                       probe_p50_ms=pct(probe_heartbeats, 50), probe_p99_ms=pct(probe_heartbeats, 99),
                       probe_heartbeats=len(probe_heartbeats))

        # Publish with the broker up.
        self.proc.cpu_percent(None)
        results["converge_broker_s"] = await self.publish_and_wait(1, 240)
        results["publish_cpu_percent"] = self.proc.cpu_percent(None)
        results["rss_mb_after_publish"] = self.proc.memory_info().rss / 2**20

        # Publish with the broker down: polling only.
        await asyncio.get_running_loop().run_in_executor(None, self.broker.stop)
        await asyncio.sleep(2)
        results["converge_poll_s"] = await self.publish_and_wait(2, self.poll_s * 2 + 60)

        samples, errors = [], 0
        for proc, out in workers:
            proc.terminate()
        for proc, out in workers:
            try:
                proc.wait(60)
                data = json.loads(out.read_text())
            except (subprocess.TimeoutExpired, OSError, ValueError):
                proc.kill()
                continue
            samples += [ms for at, ms in data["heartbeats"] if steady[0] <= at <= steady[1]]
            errors += data["errors"]
        results.update(heartbeat_p50_ms=pct(samples, 50), heartbeat_p99_ms=pct(samples, 99),
                       heartbeats=len(samples), errors=errors)
        return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=1000)
    parser.add_argument("--heartbeat-s", type=float, default=30.0)
    parser.add_argument("--poll-s", type=float, default=60.0)
    parser.add_argument("--steady-s", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2, help="simulator processes")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    for name in ("--first", "--count", "--broker-port"):
        parser.add_argument(name, type=int, default=0, help=argparse.SUPPRESS)
    for name in ("--url", "--repository", "--root", "--tmp", "--out"):
        parser.add_argument(name, default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(Worker(args).main())
        return 0
    with tempfile.TemporaryDirectory(prefix="kiosk-fleet-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        bench.start_services()
        try:
            r = asyncio.run(bench.main())
        finally:
            bench.stop_services()
    fmt = lambda v, unit="": "not reached" if v is None else f"{v:.1f}{unit}"  # noqa: E731

    print(f"fleet bench: {r['kiosks']} simulated kiosks, {r['mqtt_connected']} MQTT connections, "
          f"heartbeats {r['heartbeat_rate_per_s']:.0f}/s (every {args.heartbeat_s:g} s: "
          f"{60 / args.heartbeat_s:.0f}x the real rate), PostgreSQL, one uvicorn worker")
    print(f"  heartbeat p50 {r['probe_p50_ms']:.1f} ms, p99 {r['probe_p99_ms']:.1f} ms over {r['probe_heartbeats']} "
          f"from a light probe client under the fleet's load (baseline /healthz from the same client: "
          f"p50 {r['healthz_p50_ms']:.1f} ms, p99 {r['healthz_p99_ms']:.1f} ms; p99 ratio "
          f"{r['probe_p99_ms'] / r['healthz_p99_ms']:.1f}x)  goal p99 <= 50 ms: {'met' if r['probe_p99_ms'] <= 50 else 'NOT met'}")
    print(f"  as the simulated kiosks saw it (their own event loops busy with TUF checks): p50 "
          f"{r['heartbeat_p50_ms']:.1f} ms, p99 {r['heartbeat_p99_ms']:.1f} ms over {r['heartbeats']}")
    print(f"  platform: {r['steady_cpu_percent']:.0f}% of one core steady, {r['publish_cpu_percent']:.0f}% during the "
          f"publish; RSS {r['rss_mb']:.0f} MB steady, {r['rss_mb_after_publish']:.0f} MB after")
    print(f"  publish -> 99% applied and reported, broker up: {fmt(r['converge_broker_s'], ' s')} "
          f"(goal <= 120 s: {'met' if r['converge_broker_s'] is not None and r['converge_broker_s'] <= 120 else 'NOT met'})")
    poll_goal = args.poll_s + 15
    print(f"  publish -> 99% applied and reported, broker down, polling every {args.poll_s:g} s: "
          f"{fmt(r['converge_poll_s'], ' s')} (goal <= one poll interval + 15 s to fetch and report: "
          f"{'met' if r['converge_poll_s'] is not None and r['converge_poll_s'] <= poll_goal else 'NOT met'})")
    print(f"  errors (failed heartbeats or refreshes): {r['errors']}")
    print(f"  load average at the end: {' '.join(f'{x:.1f}' for x in __import__('os').getloadavg())} "
          f"on {__import__('os').cpu_count()} cores (at the start: {r['load_start']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
