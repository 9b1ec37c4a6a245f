"""How long ``kiosk doctor`` makes a technician wait, with every device healthy and with every device silent.

    python bench/doctor.py [--repeats 3]

Both are timed as whole ``kiosk doctor`` processes, interleaved with a baseline measured in the
same run: ``kiosk config check`` (the same interpreter start, imports and configuration load, with
no checks). Goals: healthy ≤ 3 s, every device silent ≤ 10 s. "Silent" devices are real
connections that never answer: a TCP listener that accepts and stays quiet (ID-card reader,
receipt printer, CUPS server), a QR scanner on a closed port and a camera that does not exist.
Medians over ``--repeats`` runs.
"""
from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEVICES = ("idcard", "qr", "camera", "receipt_printer", "document_printer")


def silent_listener() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(sock.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return sock, sock.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(folder: Path, name: str, devices: dict[str, str]) -> Path:
    path = folder / f"{name}.toml"
    lines = ["[paths]", f'data_dir = "{folder}/data"', f'log_dir = "{folder}/log"', f'key_file = "{folder}/keys/k"',
             "[devices]", *(f'{k} = "{v}"' for k, v in devices.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def timed(args: list[str], expect: int) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True, cwd=REPO)
    elapsed = time.perf_counter() - started
    if proc.returncode != expect:
        raise SystemExit(f"{' '.join(args)}: exit {proc.returncode}, expected {expect}: {proc.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    listener, port = silent_listener()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        healthy = config(folder, "healthy", {name: "sim://" for name in DEVICES})
        silent = config(folder, "silent", {
            "idcard": f"socket://127.0.0.1:{port}", "qr": f"socket://127.0.0.1:{closed_port()}",
            "camera": f"v4l2://{folder}/no-such-video", "receipt_printer": f"socket://127.0.0.1:{port}",
            "document_printer": f"cups://A4?server=127.0.0.1:{port}"})
        runs: dict[str, list[float]] = {"baseline": [], "healthy": [], "silent": []}
        for _ in range(args.repeats):
            runs["baseline"].append(timed(["--config", str(healthy), "config", "check"], 0))
            runs["healthy"].append(timed(["--config", str(healthy), "doctor"], 0))
            runs["silent"].append(timed(["--config", str(silent), "doctor"], 4))
    listener.close()
    base = statistics.median(runs["baseline"])
    print(f"baseline  kiosk config check      {base:6.2f} s (median of {args.repeats})")
    ok = True
    for name, goal in (("healthy", 3.0), ("silent", 10.0)):
        med = statistics.median(runs[name])
        verdict = "meets" if med <= goal else "MISSES"
        ok &= med <= goal
        print(f"{name:<8}  kiosk doctor            {med:6.2f} s = baseline + {med - base:5.2f} s "
              f"({med / base:4.1f}x baseline); goal ≤ {goal:g} s: {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
