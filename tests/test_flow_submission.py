"""The submission flow without Kivy: choose an item, capture pages, contact, review (masked),
confirm into the real encrypted outbox, the receipt at once; the camera down; storing failing."""
from __future__ import annotations

import json
import time

import pytest

from flow_fakes import WEI, FakeReceiptPrinter, Services, make_kiosk
from flow_fakes import outbox, platform  # noqa: F401  (fixtures)
from kiosk.flows import Devices
from kiosk.live_preview import CapturedPage


@pytest.fixture(autouse=True)
def receipt_book(tmp_path):
    from kiosk.submission import ReceiptBook, use_receipt_book

    book = ReceiptBook(tmp_path / "receipts.db", 42)
    use_receipt_book(book)
    yield book
    use_receipt_book(None)
    book.close()


class StillCamera:
    """A camera that never delivers a frame: the test hands the flow its pages itself."""

    def __init__(self):
        self.started = self.stopped = False

    def start(self):
        self.started = True

    def stop(self):
        self.stopped = True

    def wait_for_frame(self, seq, timeout=0.5):
        time.sleep(0.01)
        return None


def page() -> CapturedPage:
    return CapturedPage(jpeg=b"\xff\xd8 page of " + WEI.encode(), found=True, thumbnail_rgb=b"\0" * 12,
                        thumbnail_size=(2, 2))


def test_a_three_material_submission_from_choice_to_receipt(tmp_path, platform, outbox):
    server, client, catalogue = platform
    camera = StillCamera()
    printer = FakeReceiptPrinter()
    k = make_kiosk(tmp_path, services=Services(client, outbox, base_url=server.url), catalogue=catalogue,
                   devices=Devices(printer=printer, camera_factory=lambda: camera))
    k.present()
    k.shell.open_task("submit", "材料提交")
    title, rows = k.views["submit"].last("show_choices")
    item = next(catalogue.items[r.key] for r in sorted(rows, key=lambda r: r.key)
                if len(catalogue.items[r.key].materials) >= 3)
    submission = k.flows["submit"]
    submission.choose(item.id)
    _title, lines, can_continue, missing = k.views["submit"].last("show_materials")
    assert len(lines) == len(item.materials) and not can_continue and missing
    capture = submission.capture
    for index, material in enumerate(item.materials):
        if not material.required and index >= 3:
            continue
        capture.open(index)
        assert k.shell.screen == "capture" and camera.started
        capture._page(page())
        assert k.views["capture"].last("set_pages") == (1,)
        capture.close()
        assert camera.stopped and k.shell.screen == "submit"
    _title, lines, can_continue, missing = k.views["submit"].last("show_materials")
    assert can_continue and missing == ""
    submission.contact()
    submission.review("13800138000", "post")
    _title, review = k.views["submit"].last("show_review")
    assert "138****8000" in review and "韦*" in review and "450329********0427" in review
    assert "13800138000" not in review and WEI not in review
    k.shell.is_online = False
    submission.confirm()
    _title, receipt_no, message, qr_text = k.views["submit"].last("show_done")
    assert receipt_no.startswith("ZW0042") and qr_text.startswith(server.url + "/m/")  # the phone link
    assert message == "网络暂时中断，材料已安全保存，恢复后自动提交"
    assert len(printer.jobs) == 1 and submission.last_receipt_no == receipt_no
    (leased,) = outbox.lease()
    request = outbox.load(leased)
    payload = json.loads(request.json_text)
    assert request.path == "/api/v1/submissions" and payload["receipt_no"] == receipt_no
    assert payload["applicant"]["id_number"] == WEI and payload["delivery"]["method"] == "post"
    assert qr_text.endswith("/m/" + payload["mobile_token"]) and WEI not in qr_text
    assert len(request.files) >= 3
    submission.rate()                       # 为这次服务评价 on the done panel: about this submission
    assert k.shell.screen == "rating" and receipt_no in k.views["rating"].last("show_subject")[0]
    k.flows["rating"].submit(5, [])
    (rated,) = outbox.lease()
    rating = json.loads(outbox.load(rated).json_text)
    assert rating["receipt_no"] == receipt_no and rating["subject"] == item.id
    folder = k.keeper.current.temp_dir
    k.keeper.end("done")
    assert not folder.exists()


def test_the_camera_down_is_said_plainly(tmp_path, platform):
    _server, client, catalogue = platform

    def broken():
        raise OSError("no such device")
    k = make_kiosk(tmp_path, services=Services(client), catalogue=catalogue, devices=Devices(camera_factory=broken))
    k.present()
    item = next(i for i in catalogue.items.values() if i.kiosk_submittable)
    k.shell.open_task("submit", item_id=item.id)
    k.flows["submit"].capture.open(0)
    assert k.shell.screen == "submit"
    assert k.shell.messages[-1][0] == "该功能暂未开通" and "高拍仪" in k.shell.messages[-1][1]


def test_storing_that_fails_says_so_and_lets_the_citizen_try_again(tmp_path, platform):
    _server, client, catalogue = platform
    k = make_kiosk(tmp_path, services=Services(client, outbox=None), catalogue=catalogue)
    k.present()
    item = next(i for i in catalogue.items.values() if i.kiosk_submittable and not
                any(m.required for m in i.materials[1:]))
    k.shell.open_task("submit", item_id=item.id)
    draft = k.flows["submit"].draft()
    draft.add_page(0, b"\xff\xd8")
    k.flows["submit"].review("13800138000", "pickup")
    k.flows["submit"].confirm()
    assert k.views["submit"].calls[-2:] == [("set_confirm_enabled", (False,)), ("set_confirm_enabled", (True,))]
    assert "无法保存" in k.shell.messages[-1][1] or "暂时无法保存" in k.shell.messages[-1][1]


def test_next_material_goes_straight_to_the_next_one_missing(tmp_path, platform, outbox):
    server, client, catalogue = platform
    camera = StillCamera()
    k = make_kiosk(tmp_path, services=Services(client, outbox, base_url=server.url), catalogue=catalogue,
                   devices=Devices(camera_factory=lambda: camera))
    k.present()
    k.shell.open_task("submit", "材料提交")
    item = next(i for i in sorted(catalogue.items.values(), key=lambda i: i.id)
                if i.kiosk_submittable and sum(m.required for m in i.materials) >= 2
                and len(i.materials[0].name) and "身份证" not in i.materials[0].name and "户口" not in i.materials[0].name)
    submission = k.flows["submit"]
    submission.choose(item.id)
    capture = submission.capture
    capture.open(0)
    assert k.views["capture"].last("show_next") == ("",)          # nothing taken yet: no 下一份
    capture._page(page())
    following = capture.next_missing(0)
    assert following > 0 and item.materials[following].required
    assert k.views["capture"].last("show_next") == ("下一份：" + item.materials[following].name,)
    capture.next_material()                                         # one tap: the next material's camera
    assert k.shell.screen == "capture" and k.views["capture"].last("reset")[0] == item.materials[following].name
    draft = submission.draft()
    for index, material in enumerate(item.materials):               # every other required side taken
        if material.required and index not in (0, following):
            for _ in range(2):
                draft.add_page(index, page().jpeg)
    for _ in range(2):
        capture._page(page())
    assert k.views["capture"].last("show_next") == ("拍好了，下一步",)
    capture.next_material()                                         # after the last: the contact step
    assert k.shell.screen == "submit" and k.views["submit"].last("show_contact")[0] == "联系电话和领取方式"
