"""Capturing the right pages: each side of a material is asked for in turn ("请翻到背面"); once every
side is taken, a page lying on the desk is not taken again by itself; the receipt says how many
copies the item asks for and how many pages were photographed, not one copy per photograph."""
from __future__ import annotations

from test_flow_submission import StillCamera, page, receipt_book  # noqa: F401  (fixture)
from flow_fakes import Services, make_kiosk
from flow_fakes import outbox, platform  # noqa: F401  (fixtures)
from kiosk.flows import Devices
from kiosk.flows.submission import sides_of


def test_the_id_card_is_asked_front_then_back_and_auto_capture_stops_after(tmp_path, platform, outbox):
    server, client, catalogue = platform
    camera = StillCamera()
    k = make_kiosk(tmp_path, services=Services(client, outbox, base_url=server.url), catalogue=catalogue,
                   devices=Devices(camera_factory=lambda: camera))
    k.present()
    k.shell.open_task("submit", "材料提交")
    item = next(i for i in catalogue.items.values() if i.kiosk_submittable
                and any("身份证" in m.name for m in i.materials))
    submission = k.flows["submit"]
    submission.choose(item.id)
    index = next(n for n, m in enumerate(item.materials) if "身份证" in m.name)
    capture = submission.capture
    view = k.views["capture"]
    capture.open(index)
    assert "正面" in view.last("show_prompt")[0] and capture.live.auto
    capture._page(page())
    assert "背面" in view.last("show_prompt")[0] and capture.live.auto
    capture._page(page())
    assert "已拍完" in view.last("show_prompt")[0] and not capture.live.auto
    capture._page(page())                                   # a third document put down: not taken by itself
    assert submission.draft().count(index) == 2
    capture.capture_now()                                   # the big button still takes one more
    capture._page(page())
    assert submission.draft().count(index) == 3
    capture.delete_last()
    assert submission.draft().count(index) == 2 and "已拍完" in view.last("show_prompt")[0]
    capture.close()
    assert sides_of("户口簿") == ("side_hukou_first", "side_hukou_self") and sides_of("申请表") == ("side_page",)


def test_the_receipt_counts_copies_not_photographs(tmp_path, platform, outbox, receipt_book):  # noqa: F811
    from flow_fakes import FakeReceiptPrinter

    server, client, catalogue = platform
    camera = StillCamera()
    printer = FakeReceiptPrinter()
    k = make_kiosk(tmp_path, services=Services(client, outbox, base_url=server.url), catalogue=catalogue,
                   devices=Devices(printer=printer, camera_factory=lambda: camera))
    k.present()
    k.shell.open_task("submit", "材料提交")
    item = next(i for i in sorted(catalogue.items.values(), key=lambda i: i.id) if i.kiosk_submittable
                and any("身份证" in m.name for m in i.materials))
    submission = k.flows["submit"]
    submission.choose(item.id)
    for index, material in enumerate(item.materials):
        submission.capture.open(index)
        for _ in sides_of(material.name):
            submission.capture._page(page())
        submission.capture.close()
    submission.contact()
    submission.review("13800138000", "pickup")
    submission.confirm()
    (job,) = printer.jobs
    text = job.decode("gb18030", errors="ignore")
    assert "拍摄2页" in text                                  # the ID card: two sides photographed


def test_a_page_without_clear_edges_is_kept_whole_and_the_citizen_is_told(tmp_path, platform, outbox):
    """Detection was doubtful: the whole photograph is kept (never a silent crop) and the prompt says
    so, with what to do, before which side comes next."""
    from dataclasses import replace

    server, client, catalogue = platform
    k = make_kiosk(tmp_path, services=Services(client, outbox, base_url=server.url), catalogue=catalogue,
                   devices=Devices(camera_factory=lambda: StillCamera()))
    k.present()
    k.shell.open_task("submit", "材料提交")
    item = next(i for i in catalogue.items.values() if i.kiosk_submittable
                and any("身份证" in m.name for m in i.materials))
    submission = k.flows["submit"]
    submission.choose(item.id)
    index = next(n for n, m in enumerate(item.materials) if "身份证" in m.name)
    capture, view = submission.capture, k.views["capture"]
    capture.open(index)
    capture._page(page())
    assert "整张照片" not in view.last("show_prompt")[0]
    capture._page(replace(page(), found=False))
    text = view.last("show_prompt")[0]
    assert "整张照片" in text and "删除重拍" in text and "已拍完" in text
    assert submission.draft().count(index) == 2
    capture.close()
