"""``kiosk device camera …`` run as a technician would: a subprocess, exit codes, one-line errors."""
from __future__ import annotations

import json
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from conftest import run_kiosk
from devices.camera.pdf import jpeg_info
from devices.camera.quality import jaccard_smartdoc
from devices.camera.synth import make_scene


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """A folder as a camera would leave it: pages of each kind, one empty pad, and a stray text file."""
    folder = tmp_path_factory.mktemp("shots")
    truth = {}
    for i, (kind, ground) in enumerate([("a4", "wood"), ("id_card", "dark_pad"), ("booklet", "light_grey"),
                                        ("certificate", "patterned"), ("none", "dark_pad")]):
        scene = make_scene(900 + i, (1024, 768), kind=kind, background=ground)
        path = folder / f"{i:02d}_{kind}.jpg"
        cv2.imwrite(str(path), scene.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        truth[str(path)] = scene
    (folder / "notes.txt").write_text("not an image")
    return folder, truth


def test_scan_a_folder_as_json(shots, tmp_path):
    folder, truth = shots
    out = tmp_path / "pages"
    proc = run_kiosk("device", "camera", "scan", "--url", f"file://{folder}/", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["source"] for r in lines] == sorted(truth)
    for record in lines:
        assert set(record) == {"source", "corners", "out", "width", "height", "ms"}
        scene = truth[record["source"]]
        page = cv2.imread(record["out"], cv2.IMREAD_UNCHANGED)
        assert page.shape[:2] == (record["height"], record["width"])
        assert record["ms"] > 0
        if scene.corners is None:
            assert record["corners"] is None and (record["width"], record["height"]) == (1024, 768)
        else:
            assert len(record["corners"]) == 4 and all(len(p) == 2 for p in record["corners"])
            assert jaccard_smartdoc(scene.corners, np.array(record["corners"]), scene.doc_size) > 0.95
    assert sorted(p.name for p in out.iterdir()) == ["00_a4.jpg", "01_id_card.jpg", "02_booklet.jpg",
                                                     "03_certificate.jpg", "04_none.jpg"]


def test_scan_in_bw_into_one_pdf(shots, tmp_path):
    folder, truth = shots
    pdf = tmp_path / "material.pdf"
    proc = run_kiosk("device", "camera", "scan", "--url", f"file://{folder}/", "--out", str(pdf), "--mode", "bw")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == len(truth)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    assert data.count(b"/Type /Page ") == len(truth) and b"/DeviceGray" in data
    gs = shutil.which("gs")
    if gs:
        count = subprocess.run([gs, "-q", "-dNODISPLAY", "-dNOSAFER", "-c",
                                f"({pdf}) (r) file runpdfbegin pdfpagecount = quit"],
                               capture_output=True, text=True, timeout=60)
        assert count.stdout.strip() == str(len(truth)), count.stderr


def test_scan_one_image_with_nothing_on_the_pad_exits_3_but_writes_the_frame(shots, tmp_path):
    folder, truth = shots
    empty = next(p for p, s in truth.items() if s.corners is None)
    out = tmp_path / "frame.jpg"
    proc = run_kiosk("device", "camera", "scan", "--url", f"file://{empty}", "--out", str(out), "--json")
    assert proc.returncode == 3
    assert proc.stderr.strip() == "kiosk: no document found; the full frame was used"
    assert json.loads(proc.stdout)["corners"] is None
    assert jpeg_info(out.read_bytes())[:2] == (1024, 768)


def test_a_broken_image_is_bad_input_and_leaves_nothing_behind(shots, tmp_path):
    folder, _ = shots
    broken = tmp_path / "in"
    shutil.copytree(folder, broken)
    (broken / "99_broken.jpg").write_bytes(b"\xff\xd8 this is not really a jpeg")
    out = tmp_path / "pages"
    proc = run_kiosk("device", "camera", "scan", "--url", f"file://{broken}/", "--out", str(out))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "99_broken.jpg" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    proc = run_kiosk("device", "camera", "scan", "--url", f"file://{broken}/", "--out", str(existing))
    assert proc.returncode == 2 and list(existing.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (["--url", "http://x", "--out", "o"], "unknown camera URL scheme"),
    (["--url", "file:///nonexistent/folder/", "--out", "o"], "does not exist"),
    (["--url", "file:///tmp/", "--out", "o.jpg", "--quality", "5"], "--quality"),
])
def test_bad_usage_is_one_line_and_exit_2(args, message, tmp_path):
    proc = run_kiosk("device", "camera", "scan", *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.count("\n") == 1


def test_many_images_into_one_jpeg_is_refused(shots, tmp_path):
    folder, _ = shots
    proc = run_kiosk("device", "camera", "scan", "--url", f"file://{folder}/", "--out", str(tmp_path / "x.jpg"))
    assert proc.returncode == 2 and "one JPEG" in proc.stderr


def test_status_of_the_simulator_and_of_a_missing_camera():
    proc = run_kiosk("device", "camera", "status", "--url", "sim://?width=320&height=240", "--json")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["state"] == "ready" and record["properties"]["width"] == 320
    proc = run_kiosk("device", "camera", "status", "--url", "v4l2:///dev/video-not-here", "--timeout", "3")
    assert proc.returncode == 4
    assert "offline" in proc.stdout and "/dev/video-not-here" in proc.stderr


def test_capture_from_the_simulator_waits_for_a_still_page(tmp_path):
    out = tmp_path / "page.jpg"
    proc = run_kiosk("device", "camera", "capture", "--url", "sim://?seed=3&width=640&height=480&fps=15",
                     "--out", str(out), "--wait-still", "8", "--json")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["corners"] is not None and out.exists()
    w, h, comps = jpeg_info(out.read_bytes())
    assert (w, h) == (record["width"], record["height"]) and comps == 3


def test_self_test_of_the_simulator():
    proc = run_kiosk("device", "camera", "self-test", "--url", "sim://?width=320&height=240")
    assert proc.returncode == 0, proc.stderr
    assert "ok   connection" in proc.stdout and "ok   picture" in proc.stdout
