"""Crash tests: producers and senders killed with SIGKILL at random moments, against a platform that fails.

Real processes share one data folder: producers put items (some with files, all with personal
data) and print ``ACK marker id`` only after ``put`` returns; senders drain to the fault server
(500s, 429s, connections cut before and after processing, answers slower than the sender waits).
The test kills and restarts them at random for a bounded time (on a busy machine it then lets the
producers put enough items, without kills), then drains what is left and
checks: every acknowledged item arrived; no item arrived under two keys; files arrived
byte-identical under their original names; nothing is stuck; nothing personal is on disk.

Run a role by hand: ``python tests/test_outbox_crash.py producer|sender ...`` (see ``main``).
"""
from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NAME = "张三丰"
ID_NUMBER = "11010519491231002X"
CHAOS_S = 8.0
CALM_S = 30.0  # on a busy machine, then let the producers run (no kills) until enough items were put
MAX_KILLS = 24


def file_content(marker: str, index: int) -> bytes:
    """Deterministic content for a producer's file, so the test can check what arrived."""
    seed = hashlib.sha256(f"{marker}/{index}".encode()).digest()
    size = 1000 + int.from_bytes(seed[:4], "big") % 150_000
    rng = random.Random(seed)
    return f"{NAME} {ID_NUMBER}\n".encode() + rng.randbytes(size)


def file_names(marker: str) -> list[str]:
    count = int(hashlib.sha256(marker.encode()).hexdigest(), 16) % 5  # 0–2 files, mostly none
    return [f"{NAME}-材料{i}.bin" for i in range(max(0, count - 2))]


# ----------------------------------------------------------------------------- roles (child processes)

def produce(data_dir: str, key_file: str, producer: str, seed: int) -> None:
    from offline_queue import Outbox

    rng = random.Random(seed)
    box = Outbox(data_dir, key_file=key_file)
    for n in range(10_000):
        marker = f"{producer}-{n}"
        files = [(name, file_content(marker, i)) for i, name in enumerate(file_names(marker))]
        item_id = box.put("POST", "/api/v1/submissions",
                          json={"marker": marker, "name": NAME, "id_number": ID_NUMBER}, files=files)
        os.write(1, f"ACK {marker} {item_id}\n".encode())
        time.sleep(rng.uniform(0.02, 0.1))


def send(data_dir: str, key_file: str, url: str) -> None:
    from offline_queue import Backoff, Outbox, Sender

    box = Outbox(data_dir, key_file=key_file)
    Sender(box, url, "demo-token", backoff=Backoff(base_s=0.05, cap_s=0.5), connect_timeout_s=1,
           read_timeout_s=1, lease_s=3, batch=4, idle_poll_s=0.1, probe_interval_s=0.1).run_forever()


def main() -> None:
    sys.path.insert(0, str(REPO))
    role, *args = sys.argv[1:]
    if role == "producer":
        produce(args[0], args[1], args[2], int(args[3]))
    elif role == "sender":
        send(*args)
    else:
        raise SystemExit(f"unknown role {role}")


# ----------------------------------------------------------------------------- the test

def acked_so_far(logs: Path) -> int:
    return sum(log.read_bytes().count(b"\nACK ") + log.read_bytes().startswith(b"ACK ") for log in logs.glob("p*.log"))


def test_kill_9_producers_and_senders_against_a_failing_platform(tmp_path):
    from offline_queue import Backoff, Outbox, Sender
    from test_outbox_faultserver import FaultServerProcess
    from test_outbox_store import grep_folder, personal_needles

    seed = int(os.environ.get("OUTBOX_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    data, key, logs = tmp_path / "outbox", tmp_path / "keys" / "outbox.key", tmp_path / "logs"
    logs.mkdir()
    faults = "500=0.08,429=0.06,drop_before=0.06,drop_after=0.06,slow=0.03"
    server = FaultServerProcess(tmp_path / "arrived.jsonl", faults=faults, seed=seed, slow_s=1.3, token="demo-token")
    procs: dict[str, subprocess.Popen] = {}
    started = {"producer": 0, "sender": 0}
    kills = 0

    def spawn(role: str) -> None:
        started[role] += 1
        name = f"{role[0]}{started[role]}"
        args = ([str(data), str(key), name, str(rng.randrange(1 << 30))] if role == "producer"
                else [str(data), str(key), server.url])
        out = open(logs / f"{name}.log", "wb")
        procs[name] = subprocess.Popen([sys.executable, __file__, role, *args], stdout=out,
                                       stderr=subprocess.STDOUT, cwd=REPO)

    try:
        for role in ("producer", "producer", "sender", "sender"):
            spawn(role)
        deadline = time.monotonic() + CHAOS_S
        while time.monotonic() < deadline and kills < MAX_KILLS:
            time.sleep(rng.uniform(0.2, 1.0))
            victim = rng.choice(sorted(procs))
            procs.pop(victim).send_signal(signal.SIGKILL)
            kills += 1
            spawn("producer" if victim.startswith("p") else "sender")
        calm_until = time.monotonic() + CALM_S
        while acked_so_far(logs) <= 25 and time.monotonic() < calm_until:
            time.sleep(0.2)
        for proc in procs.values():
            proc.send_signal(signal.SIGKILL)
        for proc in procs.values():
            proc.wait()

        acked = {}
        for log in logs.glob("p*.log"):
            for line in log.read_bytes().decode("utf-8", "replace").splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[0] == "ACK":
                    acked[parts[1]] = parts[2]
        crashes = [log.name for log in logs.glob("*.log") if b"Traceback" in log.read_bytes()]
        assert crashes == [], f"seed {seed}: a child failed: {crashes}"

        with Outbox(data, key_file=key) as box:  # what is left is drained by a fresh sender
            sender = Sender(box, server.url, "demo-token", backoff=Backoff(base_s=0.05, cap_s=0.5),
                            connect_timeout_s=1, read_timeout_s=1, lease_s=3)
            drain_started = time.monotonic()
            emptied = sender.run_until_empty(timeout=40)
            drain_s = time.monotonic() - drain_started
            sender.stop()
            final = box.status()
            infos = box.list()
        arrived = server.records()
    finally:
        for proc in procs.values():
            proc.kill()
        server.stop()

    print(f"seed {seed}: {len(acked)} acknowledged, {len(arrived)} arrived, {kills} kills, "
          f"{sum(i.attempts for i in infos)} attempts, {sum(1 for r in arrived if r['files'])} with files, "
          f"final drain {drain_s:.1f} s")
    assert emptied, f"seed {seed}: outbox not drained: {final}"
    assert final["pending"] == final["inflight"] == final["dead"] == 0, f"seed {seed}: {final}"
    assert len(acked) > 20 and kills >= 5, f"seed {seed}: too little happened ({len(acked)} items, {kills} kills)"

    keys_by_marker: dict[str, set] = {}
    for record in arrived:
        keys_by_marker.setdefault(record["payload"]["marker"], set()).add(record["key"])
        marker = record["payload"]["marker"]
        assert record["payload"] == {"marker": marker, "name": NAME, "id_number": ID_NUMBER}
        expected = [(name, hashlib.sha256(file_content(marker, i)).hexdigest())
                    for i, name in enumerate(file_names(marker))]
        assert [(f["name"], f["sha256"]) for f in record["files"]] == expected, f"seed {seed}: {marker} files differ"
    missing = sorted(set(acked) - set(keys_by_marker))
    assert missing == [], f"seed {seed}: acknowledged but never arrived: {missing[:10]}"
    twice = {m: k for m, k in keys_by_marker.items() if len(k) > 1}
    assert twice == {}, f"seed {seed}: arrived under several keys: {twice}"
    assert len(arrived) == len(keys_by_marker)
    # Items stored but killed before their ACK line may arrive too; never more than one per producer kill.
    assert len(set(keys_by_marker) - set(acked)) <= kills
    assert any(i.attempts > 1 for i in infos), f"seed {seed}: the faults never made anyone retry"
    assert sum(1 for r in arrived if r["files"]) > 5
    assert grep_folder(data, personal_needles()) == []
    assert os.listdir(data / "files") == []  # delivered files deleted, crash leftovers swept


if __name__ == "__main__":
    main()
