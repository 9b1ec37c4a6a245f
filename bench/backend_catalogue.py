"""Reference backend: catalogue and idempotent-write latency against a trivial request, same run.

Run: ``python bench/backend_catalogue.py``. Starts the backend on loopback with a fresh SQLite
database, then times (medians over N keep-alive requests):

* ``GET /healthz`` — the baseline: HTTP + framework, no database;
* ``GET /api/v1/catalogue`` — full answer (auth, all rows, hash, JSON, gzip);
* the same with ``If-None-Match`` — the 304 a kiosk gets on its daily refresh;
* ``POST /api/v1/echo`` with a new key, and a replay of an old key.

It also prints the bytes on the wire for the full catalogue (gzip) and for a 304.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.server import BackendThread  # noqa: E402

N = 150
AUTH = {"Authorization": "Bearer demo-token"}


def median_ms(fn, n: int = N) -> float:
    fn()  # warm up
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            BackendThread(db_url=f"sqlite:///{Path(tmp) / 'bench.sqlite3'}") as server, \
            requests.Session() as http:
        base = server.url

        def healthz():
            assert http.get(base + "/healthz", timeout=10).status_code == 200

        full = http.get(base + "/api/v1/catalogue", headers=AUTH, timeout=10, stream=True)
        wire_full = len(full.raw.read())
        etag = full.headers["ETag"]
        plain = len(http.get(base + "/api/v1/catalogue", headers={**AUTH, "Accept-Encoding": "identity"},
                             timeout=10).content)
        items = len(http.get(base + "/api/v1/catalogue", headers=AUTH, timeout=10).json()["items"])

        def catalogue():
            assert http.get(base + "/api/v1/catalogue", headers=AUTH, timeout=10).status_code == 200

        def not_modified():
            r = http.get(base + "/api/v1/catalogue", headers={**AUTH, "If-None-Match": etag}, timeout=10)
            assert r.status_code == 304

        def new_write():
            r = http.post(base + "/api/v1/echo", json={"rating": 5, "comment": "bench"}, timeout=10,
                          headers={**AUTH, "Idempotency-Key": str(uuid.uuid4())})
            assert r.status_code == 201

        replay_key = str(uuid.uuid4())
        http.post(base + "/api/v1/echo", json={"rating": 5}, headers={**AUTH, "Idempotency-Key": replay_key},
                  timeout=10)

        def replay():
            r = http.post(base + "/api/v1/echo", json={"rating": 5}, timeout=10,
                          headers={**AUTH, "Idempotency-Key": replay_key})
            assert r.headers["Idempotent-Replay"] == "true"

        baseline = median_ms(healthz)
        rows = [
            ("GET /healthz (baseline)", baseline),
            (f"GET /api/v1/catalogue ({items} items, 200)", median_ms(catalogue)),
            ("GET /api/v1/catalogue If-None-Match (304)", median_ms(not_modified)),
            ("POST /api/v1/echo new key (fsync'd commit)", median_ms(new_write)),
            ("POST /api/v1/echo replayed key", median_ms(replay)),
        ]
        print(f"backend on {base}, {N} requests each, medians")
        for name, ms in rows:
            print(f"  {name:48s} {ms:8.2f} ms  {ms / baseline:6.1f}x baseline")
        print(f"  catalogue on the wire: {wire_full} bytes gzip, {plain} bytes plain "
              f"({plain / wire_full:.1f}x smaller); a 304 carries no body")


if __name__ == "__main__":
    main()
