"""一次性告知 and 就近办 without Kivy, on the reference platform over loopback: the guide says where to
go (nearest first, and whether this kiosk can take the item); the printed notice carries the
places, their hours, the steps and a QR code that opens the same notice on a phone; English mode
prints it in English; and every form the catalogue says is filled in at the kiosk prints on a real
CUPS queue (CUPS-PDF), blank and filled from the ID card."""
from __future__ import annotations

import io
import re
import time
from dataclasses import replace

import numpy as np
import pytest
import requests
import zxingcpp

from cups_fixture import private_cups  # noqa: F401 - fixture
from devices.base import Backoff
from devices.document_printer.driver import DocumentPrinter
from devices.receipt_printer.simulator import PrinterSimulator
from flow_fakes import WEI, FakeReceiptPrinter, Services, make_kiosk
from flow_fakes import platform  # noqa: F401  (fixture)
from kiosk.catalogue import KIOSK_FORM_NOTE, nearest_places
from kiosk.flows import Devices
from kiosk.forms import CardValues, render_form

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def printed(job: bytes, printer: FakeReceiptPrinter):
    profile = printer.profile
    sim = PrinterSimulator(paper_mm=profile.paper_mm, encoding=profile.encoding, font_charset=profile.font_charset)
    sim.feed(job)
    sim.end_of_stream()
    assert len(sim.jobs) == 1
    return sim.jobs[0]


def decode_qr(image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(np.asarray(image.convert("L")),
                                                   formats=zxingcpp.BarcodeFormat.QRCode)]


def test_nearest_places_put_this_kiosks_town_first(platform):
    _server, _client, catalogue = platform
    places = catalogue.index.places
    here = next(p for p in places if p.code == "demo-town-24h")
    village_item = catalogue.items["SB-001"]           # a village item a kiosk can take
    found = nearest_places(village_item, places, here)
    assert found[0].code == "demo-town-24h"            # this kiosk's own zone
    assert [p.town for p in found[1:4]] == ["demo-town"] * 3
    assert found.index(next(p for p in found if p.kind == "county")) > 3
    county_item = next(i for i in catalogue.items.values() if i.level == "county" and not i.kiosk_submittable)
    assert [p.kind for p in nearest_places(county_item, places, here)] == ["county"]


def test_guide_says_where_to_go_and_whether_this_kiosk_can(tmp_path, platform):
    _server, client, catalogue = platform
    k = make_kiosk(tmp_path, services=Services(client), catalogue=catalogue)
    guide = k.flows["guide"]
    guide.open_item("SB-001")
    where = k.views["guide-detail"].last("show_item")[3][1]
    assert where.heading == "办理地点（就近办）"
    assert where.text.startswith("本机可以办") and "演示镇便民服务中心（最近）" in where.text
    assert "地址：演示县演示镇振兴路18号" in where.text and "开放时间：周一至周五" in where.text
    counter_only = next(i for i in catalogue.items.values() if not i.kiosk_submittable and i.level == "town")
    guide.open_item(counter_only.id)
    where = k.views["guide-detail"].last("show_item")[3][1]
    assert where.text.startswith("这台自助终端不能提交") and "演示镇便民服务中心（最近）" in where.text
    # a kiosk elsewhere: the nearest place follows its own place
    k2 = make_kiosk(tmp_path / "k2", services=Services(client), catalogue=catalogue,
                    cfg=_cfg_with_place("chetian-24h"))
    k2.flows["guide"].open_item(counter_only.id)
    assert "车田乡便民服务中心（最近）" in k2.views["guide-detail"].last("show_item")[3][1].text


def _cfg_with_place(code: str):
    from kiosk.config import load_config

    cfg = load_config(None)
    return replace(cfg, kiosk=replace(cfg.kiosk, place_code=code))


def test_printed_notice_has_places_hours_steps_and_a_phone_qr(tmp_path, platform):
    server, client, catalogue = platform
    printer = FakeReceiptPrinter()
    k = make_kiosk(tmp_path, services=Services(client), catalogue=catalogue, devices=Devices(printer=printer))
    guide = k.flows["guide"]
    guide.open_item("SJ-001")
    guide.print_notice()
    assert len(printer.jobs) == 1 and k.shell.messages[-1][0] == "已打印，请在出纸口取走"
    job = printed(printer.jobs[0], printer)
    text = job.text.replace("\n", "")
    item = catalogue.items["SJ-001"]
    for must in ("【办理流程】", "【办理地点】", "演示镇便民服务中心（最近）", "地址：演示县演示镇振兴路18号",
                 "开放时间：周一至周五", "本机可办"):
        assert must in text, must
    for step in item.steps:
        assert step[:12] in text, step
    [url] = decode_qr(job.image)
    assert re.fullmatch(re.escape(server.url) + r"/m/[A-Za-z0-9_-]{16,64}", url), url
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and item.name in page.text
    for material in item.materials:
        assert material.name in page.text
    for step in item.steps:                           # the phone shows the same notice: steps and places too
        assert step in page.text
    assert "演示镇便民服务中心" in page.text and "振兴路18号" in page.text and "开放时间" in page.text


def test_notice_in_english_mode_has_no_chinese(tmp_path, platform):
    _server, client, catalogue = platform
    printer = FakeReceiptPrinter()
    k = make_kiosk(tmp_path, services=Services(client), catalogue=catalogue, devices=Devices(printer=printer))
    k.shell.lang = "en"
    guide = k.flows["guide"]
    guide.open_item("YL-001")
    guide.print_notice()
    job = printed(printer.jobs[0], printer)
    assert not CJK.findall(job.text), CJK.findall(job.text)
    text = job.text.replace("\n", " ")
    for must in ("WHAT YOU NEED", "Old-age allowance", "[Steps]", "[Where to go]", "Demo Town Convenience Service Centre",
                 "(nearest)", "Open: Mon", "Address: 18 Zhenxing Road", "This kiosk can do it"):
        assert must in text, must
    assert len(decode_qr(job.image)) == 1


def test_english_notice_of_a_chinese_only_item_says_so(tmp_path, platform):
    _server, client, catalogue = platform
    printer = FakeReceiptPrinter()
    k = make_kiosk(tmp_path, services=Services(client), catalogue=catalogue, devices=Devices(printer=printer))
    k.shell.lang = "en"
    item = next(i for i in catalogue.items.values() if i.en is None)
    k.flows["guide"].open_item(item.id)
    k.flows["guide"].print_notice()
    text = printed(printer.jobs[0], printer).text.replace("\n", " ")
    assert "This content is only available in Chinese" in text and "[What to bring]" in text
    assert item.materials[0].name in text  # the platform's words as sent


def test_notice_without_the_platform_still_prints_everything_but_the_qr(tmp_path, platform):
    _server, _client, catalogue = platform
    from kiosk.platform_client import PlatformClient

    printer = FakeReceiptPrinter()
    gone = PlatformClient("http://127.0.0.1:9", "demo-token", "demo-kiosk-001", timeout=2)
    k = make_kiosk(tmp_path, services=Services(gone), catalogue=catalogue, devices=Devices(printer=printer))
    k.flows["guide"].open_item("SB-001")
    k.flows["guide"].print_notice()
    job = printed(printer.jobs[0], printer)
    assert "【办理地点】" in job.text and decode_qr(job.image) == []


# -- forms on the A4 printer (CUPS with a CUPS-PDF queue) ------------------------------------------

@pytest.fixture(scope="module")
def a4(private_cups):
    out = private_cups.add_pdf_queue("forms")
    printer = DocumentPrinter(private_cups.url("forms", poll=0.05), backoff=Backoff(base=0.05, cap=0.2)).start()
    yield private_cups, out, printer
    printer.stop()


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_every_form_the_catalogue_promises_prints_through_cups(platform, a4):
    _server, _client, catalogue = platform
    server, out, printer = a4
    forms = catalogue.index.forms
    claimed = {m.name for item in catalogue.items.values() for m in item.materials if KIOSK_FORM_NOTE in m.note}
    assert claimed and claimed <= set(forms), claimed - set(forms)
    person = CardValues(name="韦岚", id_number=WEI, address="广西壮族自治区桂林市示例路1号")
    for name in sorted(claimed):
        form = forms[name]
        for values in (None, person):
            pdf = render_form(form, values)
            if values is not None and name != "城乡居民基本养老保险参保登记表":
                assert "韦岚" in pdf_text(pdf) and WEI in pdf_text(pdf), name  # filled: one goes through CUPS
                continue
            result = printer.print_job(pdf, title="form", timeout=60)
            assert result.completed, (name, result)
            [made] = [f for f in server.outputs(out) if f.name.endswith(f"job_{result.job_id}.pdf")]
            assert made.read_bytes().startswith(b"%PDF-") and result.pages == 1
            text = pdf_text(pdf)  # what was sent (CUPS-PDF re-renders it without its text layer)
            assert form.title in text and "签字" in text, name
            if values is not None:
                assert "韦岚" in text and WEI in text and "1988年2月14日" in text and "女" in text, name
            else:
                assert "韦岚" not in text and WEI not in text


def test_guide_prints_blank_and_filled_forms_and_keeps_nothing(tmp_path, platform, a4):
    _server, client, catalogue = platform
    server, out, printer = a4
    k = make_kiosk(tmp_path, services=Services(client), catalogue=catalogue, devices=Devices(docprinter=printer))
    guide = k.flows["guide"]
    guide.open_item("SB-001")
    materials = k.views["guide-detail"].last("show_item")[3][0].materials
    number = next(int(m.number) for m in materials if m.form)
    assert [m.form for m in materials].count(True) == 1

    def wait_message(count: int) -> tuple:
        deadline = time.monotonic() + 60
        while len(k.shell.messages) < count:
            assert time.monotonic() < deadline, "no answer from the printer"
            time.sleep(0.05)
        return k.shell.messages[-1]

    sent: list[bytes] = []
    real_submit = printer.submit
    printer.submit = lambda pdf, **kw: (sent.append(pdf), real_submit(pdf, **kw))  # see what goes to CUPS
    guide.print_form(number, filled=False)
    assert wait_message(1)[0] == "表格已打印"
    guide.print_form(number, filled=True)                  # no card yet: asked for it, nothing printed
    assert k.shell.messages[-1][0] == "打印填好的表格" and "身份证" in k.shell.messages[-1][1]
    k.present()
    guide.print_form(number, filled=True)
    assert wait_message(3)[0] == "表格已打印"
    del printer.submit
    assert len(sent) == 2 and "韦岚" not in pdf_text(sent[0]) and "韦岚" in pdf_text(sent[1]) and WEI in pdf_text(sent[1])
    # nothing personal in the kiosk's own files (logs and data)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert "韦岚".encode() not in data and WEI.encode() not in data, path


def test_form_without_a_printer_is_said_plainly(tmp_path, platform):
    _server, client, catalogue = platform
    k = make_kiosk(tmp_path, services=Services(client), catalogue=catalogue)
    k.flows["guide"].open_item("SB-001")
    k.flows["guide"].print_form(3, filled=False)
    assert "不能打印这份表格" in k.shell.messages[-1][1]
