"""Every receipt as bytes against a golden file, then printed by the simulator and read back:
the text is there, dark where it should be, and the QR code decodes (zxing-cpp) to what we meant.

Regenerate the golden files after an intended change with ``UPDATE_GOLDEN=1 pytest tests/test_printer_receipts.py``
and look at the PNGs the simulator makes before committing them.
"""
from __future__ import annotations

import os
from datetime import datetime

import numpy as np
import pytest
import zxingcpp

from conftest import ROOT
from devices.receipt_printer.profiles import get_profile
from devices.receipt_printer.simulator import PrinterSimulator
from devices.receipt_printer.text import display_width
from kiosk import receipts as R
from kiosk.qr_content import interpret, receipt_qr_text

GOLDEN = ROOT / "tests" / "golden" / "printer"
BASE = "https://zwfw.example.gov.cn"
AT = datetime(2025, 1, 23, 9, 41)

SUBMISSION = R.SubmissionReceipt.from_dict({
    "receipt_no": "ZW20250123000042",
    "item_name": "城乡居民基本养老保险参保登记",
    "submitted_at": AT,
    "lookup_url": receipt_qr_text("ZW20250123000042", BASE),
    "materials": [
        {"name": "居民身份证", "form": "original", "count": 1},
        {"name": "户口簿首页及本人页", "form": "copy", "count": 2},
        {"name": "社会保障卡", "original": True, "copy": True, "count": 1, "required": False},
    ],
    "delivery": "post",
    "applicant": "张三丰",
    "centre_name": "青山镇便民服务中心",
    "department": "青山镇社会保障服务所",
    "time_limit_days": 5,
    "kiosk_id": "QS-001",
})
NOTICE = R.OneTimeNotice.from_dict({
    "item_name": "城乡居民基本养老保险参保登记",
    "printed_at": AT,
    "department": "县人力资源和社会保障局",
    "conditions": ["年满16周岁（不含在校学生）", "非国家机关和事业单位工作人员", "未参加城镇职工基本养老保险"],
    "materials": [
        {"name": "居民身份证", "form": "原件", "count": 1},
        {"name": "户口簿", "form": "原件及复印件", "count": 1},
        {"name": "近期一寸免冠照片", "form": "原件", "count": 2, "required": False, "note": "白底"},
    ],
    "time_limit_days": 5,
    "legal_time_limit_days": 20,
    "fees": [{"name": "工本费", "amount": 0, "basis": "湘发改价费〔2019〕1号 ¥0"}],
    "enquiry_phone": "0731-12345678",
    "supervision_phone": "12345",
    "centre_name": "青山镇便民服务中心",
    "guide_url": f"{BASE}/guide/RS-0101",
})
CERTIFICATE = R.CertificateSlip.from_dict({
    "certificate_name": "城乡居民养老保险参保缴费证明",
    "verification_code": "7K3P9QXA22MD",
    "printed_at": AT,
    "pages": 2,
    "copies": 1,
    "certificate_no": "ZM2025012300017",
    "holder": "李四",
    "verify_url": f"{BASE}/verify/7K3P9QXA22MD",
    "centre_name": "青山镇便民服务中心",
    "kiosk_id": "QS-001",
})
REQUEST = R.RequestReceipt.from_dict({
    "request_no": "FW20250123000003",
    "kind": "door",
    "submitted_at": AT,
    "item_name": "残疾人证换领",
    "contact_phone": "13812341234",
    "preferred_time": "1月25日上午",
    "lookup_url": receipt_qr_text("FW20250123000003", BASE),
    "centre_name": "青山镇便民服务中心",
})
TEST_PAGE = R.TestPage(kiosk_id="QS-001", printed_at=AT)

# name: (receipt, profile, QR content, strings that must be printed)
CASES = {
    "submission_80mm": (SUBMISSION, "80mm", SUBMISSION.lookup_url, ["受理回执", "ZW20250123000042", "张**", "快递邮寄"]),
    "submission_58mm": (SUBMISSION, "58mm", SUBMISSION.lookup_url, ["受理回执", "居民身份证", "复印件 2份"]),
    "submission_zj5870_raster": (SUBMISSION, "ZJ-5870", SUBMISSION.lookup_url, ["受理回执", "ZW20250123000042"]),
    "notice_80mm": (NOTICE, "80mm", NOTICE.guide_url, ["一次性告知单", "原件及复印件 1份", "不含在校学生", "12345", "0.00元"]),
    "notice_utf8": (NOTICE, "TM-T88VI-CN", NOTICE.guide_url, ["一次性告知单", "监督电话：12345"]),
    "certificate_80mm": (CERTIFICATE, "80mm", CERTIFICATE.verify_url, ["证明打印凭条", "7K3P9QXA22MD", "李*"]),
    "request_80mm": (REQUEST, "80mm", REQUEST.lookup_url, ["服务申请回执", "上门办", "138****1234"]),
    "testpage_80mm": (TEST_PAGE, "80mm", "KIOSK-TEST QS-001 2025-01-23 09:41", ["打印测试", "QS-001"]),
    "testpage_58mm": (TEST_PAGE, "58mm", "KIOSK-TEST QS-001 2025-01-23 09:41", ["打印测试", "384点"]),
}


def build(name: str) -> bytes:
    receipt, profile, _, _ = CASES[name]
    return R.build(receipt, get_profile(profile))


@pytest.mark.parametrize("name", sorted(CASES))
def test_bytes_match_golden(name):
    data = build(name)
    path = GOLDEN / f"{name}.bin"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"{path} missing: run UPDATE_GOLDEN=1 pytest {__file__}"
    golden = path.read_bytes()
    if data != golden:
        at = next((i for i, (a, b) in enumerate(zip(data, golden)) if a != b), min(len(data), len(golden)))
        pytest.fail(f"{name}: bytes differ from {path.name} at offset {at} "
                    f"(got {data[at:at + 16].hex(' ')}, golden {golden[at:at + 16].hex(' ')}); "
                    "if intended, regenerate with UPDATE_GOLDEN=1")


def test_same_data_same_bytes():
    assert build("submission_80mm") == build("submission_80mm")
    assert R.build(SUBMISSION, get_profile("80mm")) != R.build(SUBMISSION, get_profile("58mm"))


def printed(name: str):
    receipt, profile_name, _, _ = CASES[name]
    profile = get_profile(profile_name)
    sim = PrinterSimulator(paper_mm=profile.paper_mm, encoding=profile.encoding, font_charset=profile.font_charset)
    sim.feed((GOLDEN / f"{name}.bin").read_bytes())
    sim.end_of_stream()
    assert len(sim.jobs) == 1
    return sim.jobs[0], profile


def decode_qr(image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(np.asarray(image.convert("L")), formats=zxingcpp.BarcodeFormat.QRCode)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_simulator_prints_golden_bytes_faithfully(name):
    job, profile = printed(name)
    _, _, qr_text, must_show = CASES[name]
    assert job.image.width == profile.dots
    assert job.garbage == 0 and job.unknown == [] and not job.truncated
    assert job.cut == profile.cutter
    for s in must_show:
        assert s in job.text, f"{s!r} not printed"
    assert decode_qr(job.image) == [qr_text]
    pixels = np.asarray(job.image.convert("L"))
    for line in job.lines:
        x0, y0, x1, y1 = line.box
        assert x1 <= profile.dots
        assert display_width(line.text) * 12 <= profile.dots
        if line.text.strip("-= "):
            ink = (pixels[y0:y1, x0:x1] < 128).mean()
            assert 0.02 < ink < 0.6, f"{line.text!r}: {ink:.3f} of its box is dark"
    title = job.lines[0]
    assert title.box[3] - title.box[1] == 48  # double height title


def test_ink_only_where_text_and_the_qr_code_are():
    job, _ = printed("submission_80mm")
    pixels = np.asarray(job.image.convert("L"))
    covered = np.zeros(pixels.shape[0], bool)
    for line in job.lines:
        covered[line.box[1]:line.box[3]] = True
    dark_rows = (pixels < 128).any(axis=1)
    stray = np.where(dark_rows & ~covered)[0]
    # outside the text lines there is exactly one block of ink: the QR code, with white above and below
    assert len(stray) > 100 and stray.max() - stray.min() + 1 == len(stray)
    assert not dark_rows[stray.min() - 20:stray.min()].any() and not dark_rows[stray.max() + 1:stray.max() + 21].any()


def test_receipt_qr_leads_back_to_progress_lookup():
    job, _ = printed("submission_80mm")
    meaning = interpret(decode_qr(job.image)[0], BASE)
    assert meaning.kind == "receipt" and meaning.receipt_no == "ZW20250123000042"


def test_personal_data_is_masked_on_paper():
    for name in ("submission_80mm", "certificate_80mm", "request_80mm"):
        job, _ = printed(name)
        assert "张三丰" not in job.text and "李四" not in job.text and "13812341234" not in job.text


def test_from_dict_refuses_unknown_fields():
    with pytest.raises(ValueError, match="unknown field"):
        R.SubmissionReceipt.from_dict({"receipt_no": "X", "itemname": "typo"})


def test_yen_sign_in_data_prints_on_a_gbk_font():
    notice = R.OneTimeNotice(item_name="测试", printed_at=AT, fees=(R.Fee("工本费", "5.00", "¥5 依据"),))
    profile = get_profile("80mm")
    data = R.build(notice, profile)
    assert b"\x81\x30\x84\x36" not in data  # ¥ as 4-byte GB18030
    sim = PrinterSimulator(encoding="gb18030", font_charset="gbk")
    sim.feed(data)
    assert sim.jobs[-1].garbage == 0 and "￥5 依据" in sim.jobs[-1].text
