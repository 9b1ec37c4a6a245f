"""Slips printed for a citizen who uses the kiosk in English: every fixed word is English, and with
English data nothing Chinese is left on the paper (the printer simulator reads the bytes back)."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from devices.receipt_printer.profiles import get_profile
from devices.receipt_printer.simulator import PrinterSimulator
from kiosk import receipts as R

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
AT = datetime(2026, 12, 1, 9, 30)
URL = "https://zwfw.example.gov.cn/m/abcdefghijklmnopqrstuvwx"

SLIPS = {
    "submission": R.SubmissionReceipt(
        receipt_no="ZW0001261201-12345678", item_name="Old-age allowance", submitted_at=AT, lookup_url=URL,
        materials=(R.Material("Resident ID card", "original", 1), R.Material("Bank card", "copy", 1, False, "For payment")),
        delivery="post", applicant="Wei Lan", centre_name="Demo Town Centre", department="Civil Affairs",
        time_limit_days=20, kiosk_id="demo-kiosk-001", lang="en"),
    "notice": R.OneTimeNotice(
        item_name="Old-age allowance", printed_at=AT, materials=(R.Material("Resident ID card", "原件", 1),),
        conditions=("Aged 80 or over",), department="Civil Affairs", time_limit_days=20, legal_time_limit_days=30,
        fees=(R.Fee("Card fee", "10.00", "Price rules"),), enquiry_phone="0771-4812316", supervision_phone="12345",
        centre_name="Demo Town Centre", guide_url=URL, steps=("Apply", "Wait"),
        places=(R.NoticePlace("Demo Town Centre", "18 Zhenxing Road", "Mon-Fri 8:00-17:30", "0773-5512345"),),
        this_kiosk="This kiosk can do it.", lang="en"),
    "certificate": R.CertificateSlip(
        certificate_name="Residence certificate", verification_code="AB12CD", printed_at=AT, pages=2, copies=1,
        certificate_no="C-1", holder="Wei Lan", verify_url=URL, centre_name="Demo Town Centre", kiosk_id="k1", lang="en"),
    "request": R.RequestReceipt(
        request_no="FW0001261201-00000001", kind="door", submitted_at=AT, item_name="Old-age allowance",
        contact_phone="13912345678", preferred_time="Morning", lookup_url=URL, centre_name="Demo Town Centre", lang="en"),
}


def paper(receipt) -> str:
    profile = get_profile("80mm")
    sim = PrinterSimulator(paper_mm=profile.paper_mm, encoding=profile.encoding, font_charset=profile.font_charset)
    sim.feed(R.build(receipt, profile))
    sim.end_of_stream()
    return sim.jobs[-1].text


@pytest.mark.parametrize("name", sorted(SLIPS))
def test_english_slip_has_no_chinese(name):
    text = paper(SLIPS[name])
    assert not CJK.findall(text), (name, CJK.findall(text), text)


def test_english_words_where_chinese_was():
    text = paper(SLIPS["notice"]).replace("\n", " ")
    for words in ("WHAT YOU NEED", "[What to bring]", "[Steps]", "[Where to go]", "(nearest)", "20 working days",
                  "10.00 yuan", "original x1", "Scan to read this notice on your phone"):
        assert words in text, words
    assert "Collection: By post" in paper(SLIPS["submission"]).replace("\n", " ")


def test_chinese_slip_is_unchanged_by_the_language_field():
    from dataclasses import replace

    zh = replace(SLIPS["certificate"], lang="zh")
    assert "证明打印凭条" in paper(zh)
