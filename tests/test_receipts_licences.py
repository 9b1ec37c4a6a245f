"""The 手机继续办 slip and a receipt with electronic licences, as the printer simulator reads them back:
what is missing, what the platform holds, the phone code (or why there is none), in Chinese or English."""
from __future__ import annotations

import re
from datetime import datetime

from devices.receipt_printer.profiles import get_profile
from devices.receipt_printer.simulator import PrinterSimulator
from kiosk import receipts as R

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
AT = datetime(2026, 12, 1, 9, 30)
URL = "https://zwfw.example.gov.cn/m/abcdefghijklmnopqrstuvwxyz012345"


def paper(receipt):
    profile = get_profile("80mm")
    sim = PrinterSimulator(paper_mm=profile.paper_mm, encoding=profile.encoding, font_charset=profile.font_charset)
    sim.feed(R.build(receipt, profile))
    sim.end_of_stream()
    return sim.jobs[-1]


def test_the_continue_slip_lists_what_is_missing_and_carries_the_phone_code():
    slip = R.ContinueSlip(item_name="困难残疾人生活补贴申请", printed_at=AT, missing=("申请表", "银行卡"),
                          from_licences=("居民户口簿（居民户口簿）",), mobile_url=URL, centre_name="演示镇便民服务中心")
    job = paper(slip)
    text = job.text
    assert "补交材料提示" in text and "还需要补交的材料（共2项）" in text and "银行卡" in text
    assert "已有电子证照，无需提交" in text and "居民户口簿" in text
    assert URL.encode() in job.qr_payloads, "the phone code is printed"


def test_offline_the_slip_says_there_is_no_phone_code():
    job = paper(R.ContinueSlip(item_name="高龄津贴申领", printed_at=AT, missing=("申请表",)))
    assert not job.qr_payloads and "未能生成手机链接" in job.text


def test_in_english_nothing_chinese_is_left():
    slip = R.ContinueSlip(item_name="Disability living allowance", printed_at=AT, missing=("Application form",),
                          from_licences=("Household register",), mobile_url=URL, lang="en")
    text = paper(slip).text
    assert not CJK.findall(text), text
    assert "STILL TO BRING" in text and "Still to bring (1):" in text and "e-licence" in text


def test_a_licence_on_the_receipt_reads_as_electronic():
    receipt = R.SubmissionReceipt(receipt_no="ZW0001261201-12345678", item_name="困难残疾人生活补贴申请",
                                  submitted_at=AT, lookup_url=URL,
                                  materials=(R.Material("居民户口簿", "电子证照", 1, True, "居民户口簿 2020-10-12"),
                                             R.Material("居民身份证", "原件", 1, True, "拍摄2页")))
    text = paper(receipt).text
    assert "电子证照" in text and "原件 1份" in text and "居民户口簿 2020-10-12" in text
