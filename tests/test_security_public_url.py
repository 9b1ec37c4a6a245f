"""The verification URL printed in a certificate comes from the platform's configuration only, never
from a request's ``Host`` header."""
from __future__ import annotations

import io
import socket

import pypdf
import requests
import zxingcpp

from conftest import run_kiosk
from platform_process import PlatformProcess
from security_platform import DEMO, platform

WEI = "450329198802140427"
SUBJECT = {**DEMO, "X-Subject-Id-Number": WEI}


def raw_get(url: str, path: str, headers: dict[str, str]) -> bytes:
    """GET with exactly the Host header we choose (as an attacker or a confused proxy would send)."""
    host, port = url.removeprefix("http://").split(":")
    lines = [f"GET {path} HTTP/1.1", "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return body


def qr_texts(pdf: bytes) -> list[str]:
    images = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images
    return [result.text for image in images for result in zxingcpp.read_barcodes(image.image)]


def document_with_host(url: str, host: str) -> bytes:
    listed = requests.get(url + "/api/v1/certificates", params={"id_number": WEI}, headers=SUBJECT, timeout=10)
    path = listed.json()["items"][0]["document"]
    return raw_get(url, path, {"Host": host, **SUBJECT})


def test_the_configured_public_url_is_printed_whatever_the_host_header(tmp_path):
    with platform(tmp_path / "p.sqlite3", public_url="https://zwfw.example.gov.cn/kiosk") as server:
        pdf = document_with_host(server.url, "evil.example.com")
    assert b"evil.example.com" not in pdf
    (text,) = qr_texts(pdf)
    assert text.startswith("https://zwfw.example.gov.cn/kiosk/verify/")


def test_without_a_public_url_the_served_address_is_printed_not_the_host_header(tmp_path):
    with PlatformProcess(["--db", f"sqlite:///{tmp_path / 'p.sqlite3'}", "--demo"],
                         env={"KIOSK_BACKEND_PUBLIC_URL": ""}) as real:
        pdf = document_with_host(real.url, "evil.example.com")
        (text,) = qr_texts(pdf)
        assert text.startswith(real.url + "/verify/")
    assert b"evil.example.com" not in pdf
    with PlatformProcess(["--db", f"sqlite:///{tmp_path / 'q.sqlite3'}", "--demo",
                          "--public-url", "https://zwfw.example.gov.cn"]) as configured:
        (text,) = qr_texts(document_with_host(configured.url, "evil.example.com"))
        assert text.startswith("https://zwfw.example.gov.cn/verify/")


def test_listening_on_every_address_needs_a_public_url(tmp_path):
    proc = run_kiosk("backend", "--port", "0", "--host", "0.0.0.0", "--db", f"sqlite:///{tmp_path / 'p.sqlite3'}",
                     env={"KIOSK_BACKEND_PUBLIC_URL": ""}, timeout=60)
    assert proc.returncode == 2 and "--public-url" in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "p.sqlite3").exists()


def test_a_bad_public_url_is_refused_in_one_line(tmp_path):
    for bad in ("javascript:alert(1)", "https://x.example/?a=b"):
        proc = run_kiosk("backend", "--port", "0", "--demo", "--db", f"sqlite:///{tmp_path / 'p.sqlite3'}",
                         "--public-url", bad, timeout=60)
        assert proc.returncode == 2 and "public URL" in proc.stderr and proc.stderr.count("\n") == 1
        assert not (tmp_path / "p.sqlite3").exists()
