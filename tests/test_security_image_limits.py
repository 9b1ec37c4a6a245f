"""Image files are input from strangers: their size is checked from the header before decoding,
the bytes read are capped, and only regular files are opened. One loader serves ``kiosk device qr
decode``, ``kiosk device camera scan`` and the file:// scanner and camera drivers.

Memory is measured, not guessed: the command runs under a wrapper process that reports the peak
resident size of its one child (``getrusage(RUSAGE_CHILDREN)``), with an address-space limit so
that a regression fails the test instead of the machine.
"""
from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import time
import zlib

import pytest
from conftest import ROOT

from devices.base import DeviceState
from devices.images import MAX_FILE_BYTES, ImageError, header_size, load, read_file

ADDRESS_SPACE = 1536 * 1024 * 1024  # the CLI needs about 600 MB of address space to decode a small image
PEAK_LIMIT = 300 * 1024 * 1024  # it needs about 60 MB resident; a 30000x30000 decode needs 900 MB

MEASURE = textwrap.dedent("""
    import json, resource, subprocess, sys
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))
    try:
        proc = subprocess.run(sys.argv[2:], capture_output=True, text=True, timeout=60, preexec_fn=cap)
        result = {"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}
    except subprocess.TimeoutExpired:
        result = {"code": None, "stdout": "", "stderr": "timed out"}
    result["peak"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps(result))
""")


def kiosk_measured(*args: str) -> dict:
    """Run ``kiosk ARGS``: its exit code, output and peak resident bytes."""
    done = subprocess.run([sys.executable, "-c", MEASURE, str(ADDRESS_SPACE), sys.executable, "-m", "kiosk.cli",
                           *args], capture_output=True, text=True, timeout=90, cwd=ROOT)
    return json.loads(done.stdout)


def refused(result: dict, words: str) -> None:
    """Exit 2, one line on stderr, no traceback, and the reason in what was printed."""
    assert result["code"] == 2, result
    lines = result["stderr"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kiosk: ") and "Traceback" not in result["stderr"], result
    assert words in result["stdout"] + result["stderr"], result


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """A real, complete 30000x30000 PNG of zeros: about 875 KB on disk, 900 MB decoded."""
    side = 30000
    packer = zlib.compressobj(9)
    block = b"\0" * ((side + 1) * 100)  # 100 rows, each a filter byte and a row of zeros
    idat = b"".join([packer.compress(block) for _ in range(side // 100)] + [packer.flush()])
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    path.write_bytes(png(side, side, idat))
    assert path.stat().st_size < 1_000_000
    return path


@pytest.fixture(scope="module")
def huge_headers(tmp_path_factory):
    """Small files whose headers claim 40000x40000 (PNG) and 65535x65535 (GIF)."""
    folder = tmp_path_factory.mktemp("huge")
    (folder / "big40k.png").write_bytes(png(40000, 40000, zlib.compress(b"\0" * 40001 * 4)))
    gif = (b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
           + b"," + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0)
           + bytes([8, 2, 0x00, 0x01, 0]) + b";")
    (folder / "big65k.gif").write_bytes(gif)
    sneaky = (b"GIF89a" + struct.pack("<HHBBB", 10, 10, 0, 0, 0)  # a small screen, a huge frame in it
              + b"," + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + bytes([8, 2, 0x00, 0x01, 0]) + b";")
    (folder / "sneaky.gif").write_bytes(sneaky)
    return folder


def test_a_png_bomb_is_refused_from_its_header_with_little_memory(bomb):
    result = kiosk_measured("device", "qr", "decode", str(bomb))
    refused(result, "too large (30000x30000")
    assert result["peak"] < PEAK_LIMIT, f"peak {result['peak'] / 2**20:.0f} MiB"


def test_the_camera_refuses_the_same_bomb(bomb, tmp_path):
    result = kiosk_measured("device", "camera", "scan", "--url", f"file://{bomb}", "--out", str(tmp_path / "p.jpg"))
    refused(result, "too large (30000x30000")
    assert result["peak"] < PEAK_LIMIT, f"peak {result['peak'] / 2**20:.0f} MiB"
    assert not (tmp_path / "p.jpg").exists()


@pytest.mark.parametrize("name, size", [("big40k.png", "40000x40000"), ("big65k.gif", "65535x65535")])
def test_huge_headers_are_one_line_refusals_not_opencv_errors(huge_headers, name, size, tmp_path):
    refused(kiosk_measured("device", "qr", "decode", str(huge_headers / name)), f"too large ({size}")
    refused(kiosk_measured("device", "camera", "scan", "--url", f"file://{huge_headers / name}",
                           "--out", str(tmp_path / "p.jpg")), f"too large ({size}")


def test_a_frame_larger_than_its_gif_is_refused_in_one_line(huge_headers):
    refused(kiosk_measured("device", "qr", "decode", str(huge_headers / "sneaky.gif")), "not an image")


def test_dev_zero_is_not_read():
    result = kiosk_measured("device", "qr", "decode", "/dev/zero")
    refused(result, "not a regular file")
    assert result["peak"] < PEAK_LIMIT
    refused(kiosk_measured("device", "camera", "scan", "--url", "file:///dev/zero", "--out", "/tmp/never.jpg"),
            "not a regular file")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    result = kiosk_measured("device", "qr", "decode", str(fifo))
    refused(result, "not a regular file")


def test_bytes_read_are_capped(tmp_path):
    path = tmp_path / "long.png"
    path.write_bytes(b"\0" * 5000)
    with pytest.raises(ImageError, match="larger than"):
        read_file(path, limit=4096)
    assert len(read_file(path, limit=5000)) == 5000
    assert MAX_FILE_BYTES <= 64 * 1024 * 1024


def test_header_sizes_without_decoding(huge_headers):
    from PIL import Image

    assert header_size((huge_headers / "big40k.png").read_bytes())[1:] == (40000, 40000)
    assert header_size((huge_headers / "big65k.gif").read_bytes())[1:] == (65535, 65535)
    jpeg = io.BytesIO()
    Image.new("RGB", (321, 123), "white").save(jpeg, "JPEG")
    assert header_size(jpeg.getvalue()) == ("JPEG", 321, 123)
    with pytest.raises(ImageError, match="not an image"):
        header_size(b"\x89PNG\r\n\x1a\n garbage")


def test_a_normal_image_still_loads(tmp_path):
    from PIL import Image

    Image.new("RGB", (64, 48), (10, 200, 30)).save(tmp_path / "ok.png")
    Image.new("L", (64, 48), 77).save(tmp_path / "ok.gif")
    colour = load(tmp_path / "ok.png")
    assert colour.shape == (48, 64, 3) and tuple(colour[0, 0]) == (30, 200, 10)  # BGR
    assert load(tmp_path / "ok.gif", gray=True).shape == (48, 64)


def test_drivers_refuse_them_as_device_states_not_crashes(huge_headers):
    from devices.camera.driver import DocumentCamera
    from devices.qr.scanner import QrScanner

    camera = DocumentCamera(f"file://{huge_headers / 'big40k.png'}")
    try:
        status = camera.start().wait_settled(10)
        assert status.state is DeviceState.OFFLINE and "too large (40000x40000" in status.detail_en
    finally:
        camera.stop()
    scanner = QrScanner(f"file://{huge_headers / 'big40k.png'}?fps=50")
    try:
        scanner.start()
        deadline = time.monotonic() + 10
        while scanner.status().counters.get("bad_frames", 0) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        status = scanner.status()
        assert status.state is DeviceState.DEGRADED and "too large (40000x40000" in status.detail_en, status
    finally:
        scanner.stop()
