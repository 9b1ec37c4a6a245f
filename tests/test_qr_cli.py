"""``kiosk device qr ...`` and ``kiosk sim qr`` as a technician runs them: output and exit codes
(0 read, 2 bad usage, 3 nothing found, 4 device failure), one line on stderr, no traceback."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys

import pytest
from conftest import ROOT, run_kiosk

from devices.qr.synthetic import noisy_frame_720, qr_image

CHINESE = "办件进度 ZW20250123-000042"


def _one_line_error(proc, code):
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiosk: ") and "Traceback" not in proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    import cv2

    folder = tmp_path_factory.mktemp("qr-images")
    cv2.imwrite(str(folder / "receipt.png"), qr_image(CHINESE))
    cv2.imwrite(str(folder / "camera.jpg"), noisy_frame_720("第二个码"))
    cv2.imwrite(str(folder / "blank.png"), qr_image("x")[:10, :10] * 0 + 255)
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    return folder


def test_decode_json_one_line_per_image_with_errors_as_fields(images):
    files = [images / "receipt.png", images / "camera.jpg", images / "broken.png", images / "missing.png"]
    proc = run_kiosk("device", "qr", "decode", "--json", *map(str, files))
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["file"] for r in records] == list(map(str, files))
    assert records[0]["codes"][0]["text"] == CHINESE and records[0]["codes"][0]["format"] == "QRCode"
    assert len(records[0]["codes"][0]["position"]) == 4 and records[0]["ms"] >= 0
    assert records[1]["codes"][0]["text"] == "第二个码"
    assert records[2]["error"] == "not an image that can be read" and records[2]["codes"] == []
    assert records[3]["error"] == "no such file"


def test_decode_with_zbar_and_plain_output(images):
    proc = run_kiosk("device", "qr", "decode", "--engine", "zbar", str(images / "receipt.png"))
    assert proc.returncode == 0, proc.stderr
    assert f"QRCode: {CHINESE}" in proc.stdout


def test_decode_exit_codes(images):
    assert "no code found" in _one_line_error(run_kiosk("device", "qr", "decode", str(images / "blank.png")), 3)
    assert "no readable image" in _one_line_error(run_kiosk("device", "qr", "decode", str(images / "broken.png")), 2)
    _one_line_error(run_kiosk("device", "qr", "decode", "--engine", "tesseract", str(images / "receipt.png")), 2)
    _one_line_error(run_kiosk("device", "qr", "decode", "--formats", "Nope", str(images / "receipt.png")), 2)
    _one_line_error(run_kiosk("device", "qr", "decode"), 2)


def test_decoded_text_cannot_drive_the_terminal(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "evil.png"), qr_image("A\x1b]0;pwned\x07B"))
    proc = run_kiosk("device", "qr", "decode", str(tmp_path / "evil.png"))
    assert proc.returncode == 0 and "\x1b" not in proc.stdout and "\\u001b" in proc.stdout


def test_read_from_the_in_process_simulator():
    proc = run_kiosk("device", "qr", "read", "--url", f"sim://?code={CHINESE}&encoding=gb18030&terminator=crlf",
                     "--json", "--timeout", "10")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["text"] == CHINESE and record["meaning"]["kind"] == "unrecognised"


def test_read_exit_codes():
    assert "no code scanned within 0.5 s" in _one_line_error(
        run_kiosk("device", "qr", "read", "--url", "sim://", "--timeout", "0.5"), 3)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert "refused" in _one_line_error(
        run_kiosk("device", "qr", "read", "--url", f"socket://127.0.0.1:{port}", "--timeout", "5"), 4).lower()
    assert "unknown scanner URL scheme" in _one_line_error(
        run_kiosk("device", "qr", "read", "--url", "ftp://x", "--timeout", "1"), 2)
    _one_line_error(run_kiosk("device", "qr", "read", "--url", "sim://", "--timeout", "-1"), 2)
    _one_line_error(run_kiosk("device", "qr", "read", "--url", "camera://", "--timeout", "1"), 2)


def _start_sim(*args):
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "sim", "qr", *args], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ))
    banner = proc.stdout.readline()
    match = re.search(r"on (\S+) \(", banner)
    assert match, (banner, proc.stderr.read() if proc.poll() is not None else "")
    return proc, match.group(1)


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_sim_on_a_socket_with_codes_from_stdin_then_read_and_status():
    sim, url = _start_sim("--listen", "127.0.0.1:0", "--terminator", "crlf", "--mode", "chunked,noisy")
    try:
        assert url.startswith("socket://127.0.0.1:")
        sim.stdin.write(f"{CHINESE}\nsecond code\n")  # scans wait for a host, like a batch-mode scanner
        sim.stdin.flush()
        proc = run_kiosk("device", "qr", "read", "--url", url, "--count", "2", "--timeout", "10")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == [f"unknown: {CHINESE}", "unknown: second code"]
        status = run_kiosk("device", "qr", "status", "--url", url, "--json")
        assert status.returncode == 0 and json.loads(status.stdout)["state"] == "ready"
    finally:
        _stop(sim)
    assert sim.returncode == 0


def test_sim_on_a_pty_read_through_a_serial_url():
    # A pty has no "host connected" signal and opening a port flushes its input, so the simulator
    # rescans, as a kiosk demo scanner would; the reader takes the first code after it opened.
    sim, path = _start_sim("--pty", "--encoding", "gb18030", "--aim", "--code", CHINESE, "--every", "0.3")
    try:
        assert path.startswith("/dev/pts/")
        proc = run_kiosk("device", "qr", "read", "--url", f"serial://{path}?baud=115200&aim=1", "--timeout", "10")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == [f"QRCode: {CHINESE}"]
    finally:
        _stop(sim)


def test_sim_usage_errors():
    _one_line_error(run_kiosk("sim", "qr", "--listen", "nonsense"), 2)
    _one_line_error(run_kiosk("sim", "qr", "--mode", "haunted"), 2)
    _one_line_error(run_kiosk("sim", "qr", "--terminator", "tab"), 2)


def test_self_test_and_status_exit_codes(images, tmp_path):
    proc = run_kiosk("device", "qr", "self-test", "--url", f"file://{images}/", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] and {c["name"] for c in report["checks"]} == {"connection", "decoder", "frames"}
    assert "no images" in _one_line_error(run_kiosk("device", "qr", "self-test", "--url", f"file://{tmp_path}/"), 4)
    assert "No such file" in _one_line_error(run_kiosk("device", "qr", "status", "--url", "/dev/ttyNOSUCH"), 4)
