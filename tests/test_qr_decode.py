"""Decoding real QR images made by the qrcode package: Chinese UTF-8, camera-like frames, the hard
set, the cheap common case, format restriction, and the zbar engine's repair of ZBar's encoding guess.

(How raw pyzbar garbles UTF-8 Chinese is shown by bench/qr.py, not asserted here: that is ZBar's
behaviour, not ours.)"""
from __future__ import annotations

import numpy as np
import pytest

from devices.qr.engines import FrameDecoder, ImageError, load_image, repair_zbar_text
from devices.qr.synthetic import (HARD_KINDS, clean_frame_1080, hard_set, noisy_frame_720, qr_image,
                                  scene)

TEXTS = [
    "办件进度查询 ZW20250123-000042",
    "黑龙江省哈尔滨市道里区 居住证明",
    "https://zwfw.example.gov.cn/progress/ZW20250123-000042",
    "Ünïcödé café ✓ 𠀀",  # a character outside the BMP, too
    "ZW20250123-000042",
]


@pytest.mark.parametrize("engine", ["zxing", "zbar"])
@pytest.mark.parametrize("text", TEXTS)
def test_generated_codes_decode_to_the_exact_text(engine, text):
    image = qr_image(text, module_px=6)
    codes = FrameDecoder(engine).decode(image)
    assert [c.text for c in codes] == [text]
    assert codes[0].format == "QRCode"
    xs = [x for x, _ in codes[0].position]
    assert min(xs) >= 0 and max(xs) <= image.shape[1]


def test_positions_map_back_to_the_original_frame():
    frame = scene("位置 position", 1920, 1080, 300, noise=3.0, centre=(0.25, 0.7))
    (code,) = FrameDecoder().decode(frame)
    assert code.attempt == "fast"  # found on the downscaled copy...
    cx = sum(x for x, _ in code.position) / 4
    cy = sum(y for _, y in code.position) / 4
    assert abs(cx - 480) < 20 and abs(cy - 756) < 20  # ...and reported in full-frame pixels


@pytest.mark.parametrize("make", [clean_frame_1080, noisy_frame_720])
def test_camera_frames_decode_in_the_cheap_pass(make):
    text = "办件进度查询 ZW20250123-000042"
    codes = FrameDecoder().decode(make(text))
    assert [c.text for c in codes] == [text]
    assert codes[0].attempt in ("fast", "full")


def test_colour_and_pil_inputs():
    from PIL import Image

    gray = qr_image("颜色", module_px=5)
    bgr = np.dstack([gray, gray, gray])
    bgra = np.dstack([gray, gray, gray, np.full_like(gray, 255)])
    decoder = FrameDecoder()
    for image in (bgr, bgra, Image.fromarray(gray)):
        assert [c.text for c in decoder.decode(image)] == ["颜色"]
    with pytest.raises(ValueError):
        decoder.decode(gray.astype(np.float32))


def test_frame_without_a_code_does_not_pay_for_recovery(monkeypatch):
    decoder = FrameDecoder()
    attempts = []
    real = decoder._zxing
    monkeypatch.setattr(decoder, "_zxing", lambda view, attempt, **kw: attempts.append(attempt) or real(view, attempt, **kw))
    rng = np.random.default_rng(3)
    empty = (140 + rng.normal(0, 20, (720, 1280))).clip(0, 255).astype(np.uint8)  # sensor noise, no code
    assert decoder.decode(empty) == []
    assert attempts == ["fast", "full"]
    attempts.clear()
    assert decoder.decode(empty, thorough=True) == []
    assert attempts[:2] == ["fast", "full"] and "upscaled" in attempts


def test_hard_set_is_recovered_by_the_ladder():
    """Every kind of degradation, Chinese content throughout; the single plain pass misses some."""
    import zxingcpp

    decoder = FrameDecoder()
    read = plain = 0
    recovered_by = set()
    cases = list(hard_set(per_kind=3, seed=11))
    for kind, text, frame in cases:
        codes = decoder.decode(frame, thorough=True)
        if [c.text for c in codes] == [text]:
            read += 1
            recovered_by.add(codes[0].attempt)
        plain += text in [r.text for r in zxingcpp.read_barcodes(frame, formats=[zxingcpp.BarcodeFormat.QRCode])]
    assert len(cases) == 3 * len(HARD_KINDS)
    assert read >= len(cases) - 1
    assert read > plain  # the ladder earns its keep
    assert recovered_by - {"fast", "full"}  # and some reads needed a recovery attempt


def test_formats_are_restricted_to_what_the_kiosk_expects():
    import zxingcpp

    barcode = np.asarray(zxingcpp.write_barcode_to_image(
        zxingcpp.create_barcode("ZW20250123-000042", zxingcpp.BarcodeFormat.Code128), scale=3))
    barcode = np.pad(barcode, 40, constant_values=255)
    assert FrameDecoder().decode(barcode, thorough=True) == []
    codes = FrameDecoder(formats=("QRCode", "Code128")).decode(barcode)
    assert [(c.text, c.format) for c in codes] == [("ZW20250123-000042", "Code128")]
    assert [c.text for c in FrameDecoder("zbar", ("Code128",)).decode(barcode)] == ["ZW20250123-000042"]
    with pytest.raises(ValueError):
        FrameDecoder(formats=("NoSuchFormat",))
    with pytest.raises(ValueError):
        FrameDecoder("tesseract")


def test_zbar_repair_undoes_the_shift_jis_guess_only_when_the_bytes_prove_it():
    original = "办件进度查询"
    garbled = original.encode("utf-8").decode("shift_jis", errors="strict").encode("utf-8")
    assert garbled.decode("utf-8") != original
    assert repair_zbar_text(garbled) == original
    assert repair_zbar_text("あいうえお漢字".encode("utf-8")) == "あいうえお漢字"  # real Japanese stays
    assert repair_zbar_text(b"plain ascii") == "plain ascii"


def test_load_image_errors_are_one_line(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    for name, message in (("missing.png", "no such file"), ("empty.png", "not an image"),
                          ("text.png", "not an image"), ("", "is a directory")):
        with pytest.raises(ImageError, match=message):
            load_image(tmp_path / name)


def test_decode_file_reads_png_and_jpeg(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), qr_image("文件 PNG"))
    cv2.imwrite(str(tmp_path / "b.jpg"), noisy_frame_720("文件 JPEG"), [cv2.IMWRITE_JPEG_QUALITY, 80])
    decoder = FrameDecoder()
    assert [c.text for c in decoder.decode_file(tmp_path / "a.png")[0]] == ["文件 PNG"]
    assert [c.text for c in decoder.decode_file(tmp_path / "b.jpg")[0]] == ["文件 JPEG"]
