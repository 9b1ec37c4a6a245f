"""The guide flow without Kivy, on the reference platform's catalogue: search by pinyin, one item in
full, its one-time notice printed (or the printer down said plainly), and submitting from it."""
from __future__ import annotations

from flow_fakes import FakeReceiptPrinter, Services, make_kiosk
from flow_fakes import platform  # noqa: F401  (fixture)
from kiosk.flows import Catalogue, Devices


def test_search_detail_notice_and_submit(tmp_path, platform):
    _server, client, catalogue = platform
    printer = FakeReceiptPrinter()
    k = make_kiosk(tmp_path, services=Services(client), catalogue=catalogue, devices=Devices(printer=printer))
    guide = k.flows["guide"]
    everything = guide.search("")
    assert len(everything.rows) >= 60 and everything.categories[0] == ("", "全部")
    found = guide.search("shbx")
    assert found.rows and found.count_text and not found.empty_text
    assert guide.search("zzzzqqq").empty_text
    item = next(catalogue.items[r.key] for r in everything.rows if r.flag)
    guide.open_item(item.id)
    assert k.shell.screen == "guide-detail"
    title, subtitle, submittable, sections, note = k.views["guide-detail"].last("show_item")
    assert title == item.name and submittable and note == ""
    assert [s.heading for s in sections] == ["所需材料", "办理地点（就近办）", "办理流程", "办理条件", "办理时限", "收费标准",
                                             "收费依据", "设定依据", "咨询电话", "监督电话"]
    assert len(sections[0].materials) == len(item.materials)
    k.shell.lang = "en"
    guide.redraw()
    assert k.views["guide-detail"].last("show_item")[3][1].heading == "Where to go (nearest first)"
    k.shell.lang = "zh"
    guide.print_notice()
    assert len(printer.jobs) == 1 and k.shell.messages[-1][0] == "已打印，请在出纸口取走"
    printer.ok = False
    guide.print_notice()
    assert k.shell.messages[-1][0] != "已打印，请在出纸口取走"
    guide.submit_item("开始办理")
    assert k.shell.screen == "identify"                 # the card first, then the item's checklist
    k.present()
    assert k.views["submit"].last("show_materials")[0] == item.name


def test_without_a_catalogue_the_guide_says_why(tmp_path):
    k = make_kiosk(tmp_path, catalogue=Catalogue(message="目录暂时无法加载"))
    results = k.flows["guide"].search("shebao")
    assert results.rows == () and results.empty_text == "目录暂时无法加载"


def test_no_printer_is_said_plainly(tmp_path, platform):
    _server, client, catalogue = platform
    k = make_kiosk(tmp_path, services=Services(client), catalogue=catalogue)
    k.flows["guide"].open_item(next(iter(catalogue.items)))
    k.flows["guide"].print_notice()
    assert k.shell.messages[-1][0] != "已打印，请在出纸口取走"
