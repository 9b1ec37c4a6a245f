"""Every body is bounded while it is read, whatever its framing: a chunked upload without a length
is cut off at the limit like a declared one; test-only endpoints exist only in tests."""
from __future__ import annotations

import socket
import sqlite3
import threading
import uuid

import pytest
import requests

from backend.limits import MAX_JSON_BYTES, MAX_MULTIPART_BYTES
from platform_process import PlatformProcess, strong_token, tokens_file
from security_platform import DEMO, platform

CHUNK = 256 * 1024


def chunked_post(url: str, path: str, content_type: str, total: int, prefix: bytes = b"") -> tuple[int, bytes]:
    """POST ``total`` bytes with Transfer-Encoding: chunked (no Content-Length) over a raw socket,
    reading the answer while sending; (status, body)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {DEMO['Authorization']}\r\n"
            f"Idempotency-Key: {uuid.uuid4()}\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    sent = {"bytes": 0}

    def send() -> None:
        try:
            sock.sendall(head)
            body = prefix + b"\xff\xd8\xff" + bytes(CHUNK)
            while sent["bytes"] < total:
                piece = body[:min(CHUNK, total - sent["bytes"])]
                body = bytes(CHUNK)
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent["bytes"] += len(piece)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed: what we want

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = b""
    try:
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < 10:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    finally:
        sock.close()
        sender.join(30)
    status = int(answer.split(b" ", 2)[1])
    return status, answer.split(b"\r\n\r\n", 1)[1]


def count(db_path, table):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


@pytest.mark.parametrize("path", ["/api/v1/echo", "/api/v1/submissions"])
def test_a_chunked_upload_is_cut_off_at_the_limit(tmp_path, path):
    db_path = tmp_path / "p.sqlite3"
    with platform(db_path, test_endpoints=True) as server:
        part = (b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.jpg\"\r\n"
                b"Content-Type: image/jpeg\r\n\r\n")
        status, body = chunked_post(server.url, path, "multipart/form-data; boundary=b",
                                    MAX_MULTIPART_BYTES + 4 * CHUNK, prefix=part)
        assert status == 413 and b"too large" in body
    assert count(db_path, "echoes") == 0 and count(db_path, "submission_files") == 0


@pytest.mark.parametrize("path", ["/api/v1/ratings", "/api/v1/service-requests", "/api/v1/kiosks/demo-kiosk-001/heartbeat"])
def test_a_chunked_json_body_is_cut_off_at_the_json_limit(tmp_path, path):
    with platform(tmp_path / "p.sqlite3") as server:
        status, body = chunked_post(server.url, path, "application/json", MAX_JSON_BYTES + 2 * CHUNK,
                                    prefix=b'{"comment": "')
        assert status == 413 and b"too large" in body


def test_a_declared_length_over_the_limit_is_refused_before_reading(tmp_path):
    with platform(tmp_path / "p.sqlite3") as server:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall((f"POST /api/v1/ratings HTTP/1.1\r\nHost: x\r\nAuthorization: {DEMO['Authorization']}\r\n"
                          f"Content-Type: application/json\r\nContent-Length: {10**12}\r\n\r\n").encode())
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 413")


def test_test_endpoints_exist_only_in_tests(tmp_path):
    with platform(tmp_path / "p.sqlite3") as server:  # built as for production: no test endpoints
        assert requests.post(server.url + "/api/v1/echo", json={}, timeout=10,
                             headers={**DEMO, "Idempotency-Key": "k1"}).status_code == 404
        paths = requests.get(server.url + "/api/v1/openapi.json", timeout=10).json()["paths"]
        assert not any("echo" in p for p in paths)
    token = strong_token()
    with PlatformProcess(["--db", f"sqlite:///{tmp_path / 'real.sqlite3'}",
                          "--kiosk-tokens-file", str(tokens_file(tmp_path, [("k1", 1, token)]))]) as real:
        assert requests.post(real.url + "/api/v1/echo", json={}, timeout=10,
                             headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k1"}).status_code == 404
