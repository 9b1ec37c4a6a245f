"""A receiving platform that fails on purpose, for the outbox's crash tests and benchmark.

Run as a process: ``python tests/test_outbox_faultserver.py --record FILE [--faults 500=0.1,...]``.
It prints ``PORT <n>`` once listening on 127.0.0.1, then answers every write:

- ``500``, ``429`` (with ``Retry-After`` as seconds or as an HTTP date, or ``--retry-after N`` seconds
  only): refused before processing;
- ``drop_before``: the connection is cut before the request is read;
- ``drop_after``: the request is processed (recorded), then the connection is cut, no answer;
- ``slow``: processed, then answered after ``--slow-s`` seconds (longer than the sender waits);
- otherwise 201, processed. A repeated ``Idempotency-Key`` gets the first answer again (with
  ``Idempotent-Replay: true``), as the reference platform answers.

Every first arrival of a key is appended to ``--record`` as one JSON line: key, method, path,
content type, the parsed JSON payload, for each file part its name, size and SHA-256, and ``t``,
the wall-clock time it was processed, so a test can check that what was acknowledged arrived once,
whole, under one key, and a benchmark can time first deliveries. The tests at the
bottom check the server itself.
"""
from __future__ import annotations

import argparse
import email.utils
import hashlib
import io
import json
import random
import socket
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FAULTS = ("500", "429", "drop_before", "drop_after", "slow")


def parse_faults(text: str) -> dict[str, float]:
    faults = {}
    for part in filter(None, text.split(",")):
        name, _, rate = part.partition("=")
        if name not in FAULTS:
            raise SystemExit(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        faults[name] = float(rate)
    return faults


class Platform:
    """What the server remembers: first answers by key, and the record file."""

    def __init__(self, record: Path, faults: dict[str, float], seed: int, slow_s: float, token: str | None,
                 retry_after: int | None = None):
        self.faults, self.slow_s, self.token, self.retry_after = faults, slow_s, token, retry_after
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.record = open(record, "a", encoding="utf-8")

    def pick_fault(self) -> str | None:
        with self.lock:
            roll = self.rng.random()
        for name, rate in self.faults.items():
            if roll < rate:
                return name
            roll -= rate
        return None

    def process(self, key: str, entry: dict) -> tuple[int, bytes, bool]:
        """Store the first arrival of a key; answer a repeat with the first answer."""
        with self.lock:
            if key in self.answers:
                status, body = self.answers[key]
                return status, body, False
            body = json.dumps({"received": key}).encode()
            self.answers[key] = (201, body)
            entry["t"] = time.time()
            self.record.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.record.flush()
            return 201, body, True


class FaultyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in separate writes; don't wait on delayed ACKs
    platform: Platform  # set on the subclass made in serve()

    def log_message(self, format, *args):  # noqa: A002 - http.server API
        pass

    def do_GET(self):
        self._answer(200, b'{"ok":true}')

    def do_POST(self):
        fault = self.platform.pick_fault()
        if fault == "drop_before":
            return self._drop()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.platform.token and self.headers.get("Authorization") != f"Bearer {self.platform.token}":
            return self._answer(401, b'{"error":"bad token"}')
        key = self.headers.get("Idempotency-Key")
        if not key:
            return self._answer(400, b'{"error":"Idempotency-Key required"}')
        if fault == "500":
            return self._answer(500, b'{"error":"injected"}')
        if fault == "429":
            if self.platform.retry_after is not None:
                when = str(self.platform.retry_after)
            else:
                when = (str(1) if self.platform.rng.random() < 0.5
                        else email.utils.formatdate(time.time() + 1, usegmt=True))
            return self._answer(429, b'{"error":"slow down"}', {"Retry-After": when})
        try:
            entry = describe(self.command, self.path, self.headers, body, key)
        except ValueError as exc:
            return self._answer(400, json.dumps({"error": str(exc)}).encode())
        status, answer, first = self.platform.process(key, entry)
        if fault == "drop_after":
            return self._drop()
        if fault == "slow":
            time.sleep(self.platform.slow_s)
        self._answer(status, answer, None if first else {"Idempotent-Replay": "true"})

    do_PUT = do_PATCH = do_DELETE = do_POST

    def _answer(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _drop(self) -> None:
        """Cut the connection with a reset, as a dying link or a crashing proxy would."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


def describe(method: str, path: str, headers, body: bytes, key: str) -> dict:
    """What arrived, in a form a test can compare: JSON payload and file digests."""
    content_type = headers.get("Content-Type", "")
    entry = {"key": key, "method": method, "path": path, "content_type": content_type.split(";")[0],
             "payload": None, "files": []}
    if content_type.startswith("application/json"):
        entry["payload"] = json.loads(body.decode("utf-8"))
    elif content_type.startswith("multipart/form-data"):
        entry["payload"], entry["files"] = parse_multipart(content_type, body)
    elif body:
        raise ValueError(f"unexpected content type {content_type!r}")
    return entry


def parse_multipart(content_type: str, body: bytes) -> tuple[object, list[dict]]:
    from python_multipart import parse_form

    fields, files = [], []
    parse_form({"Content-Type": content_type.encode(), "Content-Length": str(len(body)).encode()},
               io.BytesIO(body), fields.append, files.append)
    payloads = [f for f in fields if f.field_name == b"payload"]
    if len(payloads) != 1:
        raise ValueError("multipart body needs exactly one 'payload' part")
    described = []
    for f in files:
        if f.field_name != b"files":
            raise ValueError(f"unexpected file part {f.field_name!r}")
        f.file_object.seek(0)
        data = f.file_object.read()
        described.append({"name": f.file_name.decode("utf-8"), "size": len(data),
                          "sha256": hashlib.sha256(data).hexdigest(), "content_type": f.content_type})
    return json.loads(payloads[0].value.decode("utf-8")), described


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that gave up on a slow answer, or connections we cut on purpose


def serve(record: Path, faults: dict[str, float], seed: int, slow_s: float, token: str | None,
          retry_after: int | None = None) -> None:
    platform = Platform(record, faults, seed, slow_s, token, retry_after)
    handler = type("Handler", (FaultyHandler,), {"platform": platform})
    server = QuietServer(("127.0.0.1", 0), handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


class FaultServerProcess:
    """Start the server in a child process; ``.url``; ``.records()``; ``.stop()``."""

    def __init__(self, record: Path, faults: str = "", seed: int = 1, slow_s: float = 1.5, token: str | None = None,
                 retry_after: int | None = None):
        self.record = Path(record)
        cmd = [sys.executable, __file__, "--record", str(record), "--faults", faults, "--seed", str(seed),
               "--slow-s", str(slow_s)] + (["--token", token] if token else [])
        if retry_after is not None:
            cmd += ["--retry-after", str(retry_after)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            raise RuntimeError(f"fault server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def records(self) -> list[dict]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text(encoding="utf-8").splitlines() if line]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", type=Path, required=True)
    ap.add_argument("--faults", default="")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--slow-s", type=float, default=1.5)
    ap.add_argument("--token", default=None)
    ap.add_argument("--retry-after", type=int, default=None, help="429s say Retry-After: N (default: mixed forms)")
    args = ap.parse_args()
    serve(args.record, parse_faults(args.faults), args.seed, args.slow_s, args.token, args.retry_after)


# ----------------------------------------------------------------------------- the server's own tests

def test_server_records_first_arrival_and_answers_repeats(tmp_path):
    import requests

    with FaultServerProcess(tmp_path / "rec.jsonl") as server:
        files = [("payload", (None, b'{"a":1}', "application/json")),
                 ("files", ("扫描件.jpg", b"\x00\xffdata", "image/jpeg"))]
        first = requests.post(server.url + "/x", files=files, headers={"Idempotency-Key": "k1"}, timeout=5)
        again = requests.post(server.url + "/x", files=files, headers={"Idempotency-Key": "k1"}, timeout=5)
        plain = requests.post(server.url + "/y", json={"b": 2}, headers={"Idempotency-Key": "k2"}, timeout=5)
        nokey = requests.post(server.url + "/y", json={"b": 2}, timeout=5)
        records = server.records()
    assert first.status_code == again.status_code == plain.status_code == 201
    assert again.headers.get("Idempotent-Replay") == "true" and "Idempotent-Replay" not in first.headers
    assert again.content == first.content
    assert nokey.status_code == 400
    assert [r["key"] for r in records] == ["k1", "k2"]
    assert records[0]["payload"] == {"a": 1}
    assert records[0]["files"] == [{"name": "扫描件.jpg", "size": 6, "content_type": "image/jpeg",
                                    "sha256": hashlib.sha256(b"\x00\xffdata").hexdigest()}]
    assert records[1]["content_type"] == "application/json"
    assert all(time.time() - 60 < r["t"] <= time.time() for r in records)


def test_server_injects_every_fault(tmp_path):
    import requests

    outcomes = set()
    for fault in FAULTS:
        with FaultServerProcess(tmp_path / f"{fault}.jsonl", faults=f"{fault}=1", slow_s=1.0) as server:
            try:
                r = requests.post(server.url + "/z", json={}, headers={"Idempotency-Key": fault}, timeout=(2, 0.5))
                outcomes.add((fault, r.status_code, "Retry-After" in r.headers))
            except requests.ConnectionError:
                outcomes.add((fault, "dropped", bool(server.records())))
            except requests.Timeout:
                outcomes.add((fault, "timeout", bool(server.records())))
    assert outcomes == {("500", 500, False), ("429", 429, True), ("drop_before", "dropped", False),
                        ("drop_after", "dropped", True), ("slow", "timeout", True)}


if __name__ == "__main__":
    main()
