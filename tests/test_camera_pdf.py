"""A material's pages into one PDF: the JPEG bytes go in untouched, the file is well-formed, and a
failure leaves no partial file."""
from __future__ import annotations

import re
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from devices.camera.pdf import NotAJpeg, jpeg_info, write_pdf


def jpeg(w, h, gray=False, progressive=False):
    img = np.random.default_rng(w).integers(0, 255, (h, w) if gray else (h, w, 3), dtype=np.uint8)
    params = [cv2.IMWRITE_JPEG_QUALITY, 80] + ([cv2.IMWRITE_JPEG_PROGRESSIVE, 1] if progressive else [])
    return cv2.imencode(".jpg", img, params)[1].tobytes()


def test_jpeg_info_reads_the_frame_header():
    assert jpeg_info(jpeg(120, 80)) == (120, 80, 3)
    assert jpeg_info(jpeg(33, 17, gray=True)) == (33, 17, 1)
    assert jpeg_info(jpeg(64, 48, progressive=True)) == (64, 48, 3)
    for bad in (b"", b"GIF89a", b"\xff\xd8\xff\xe0\x00\x10JFIF"):
        with pytest.raises(NotAJpeg):
            jpeg_info(bad)


def test_pages_are_embedded_byte_for_byte_with_a_correct_xref(tmp_path):
    pages = [jpeg(200, 280), jpeg(150, 100, gray=True), jpeg(90, 60, progressive=True)]
    path = tmp_path / "m.pdf"
    assert write_pdf(pages, path, dpi=100) == 3
    data = path.read_bytes()
    for p in pages:
        assert p in data
    # every xref entry points at the object it names
    xref_at = int(re.search(rb"startxref\n(\d+)", data).group(1))
    assert data[xref_at:].startswith(b"xref")
    entries = re.findall(rb"(\d{10}) 00000 n ", data[xref_at:])
    for number, offset in enumerate(entries, start=1):
        assert data[int(offset):].startswith(f"{number} 0 obj".encode())
    assert b"/Count 3" in data and b"/MediaBox [0 0 144.00 201.60]" in data  # 200x280 px at 100 dpi
    gs = shutil.which("gs")
    if gs:
        out = subprocess.run([gs, "-q", "-dNODISPLAY", "-dNOSAFER", "-c",
                              f"({path}) (r) file runpdfbegin pdfpagecount = quit"],
                             capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "3", out.stderr


def test_a_bad_page_leaves_no_file(tmp_path):
    path = tmp_path / "m.pdf"
    with pytest.raises(NotAJpeg):
        write_pdf([jpeg(10, 10), b"not a jpeg"], path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        write_pdf([], path)
