"""材料免提交 and 手机继续办 in the submission flow, without Kivy, against the reference platform on
loopback: the card holder's electronic licences stand for two materials (shown with their name and
date, not photographed, sent as references, printed as 电子证照); offline, every material is
photographed; a submission left unfinished gets a link for the phone and a printed slip."""
from __future__ import annotations

import json

import pytest
import requests

from flow_fakes import FakeReceiptPrinter, Services, card, make_kiosk
from flow_fakes import outbox, platform  # noqa: F401  (fixtures)
from kiosk.flows import Devices
from kiosk.platform_client import PlatformClient

MENG = "450329195503020018"   # the demo's elderly citizen: household register and disability certificate
ITEM = "CJ-004"


@pytest.fixture(autouse=True)
def receipt_book(tmp_path):
    from kiosk.submission import ReceiptBook, use_receipt_book

    book = ReceiptBook(tmp_path / "receipts.db", 1)
    use_receipt_book(book)
    yield book
    use_receipt_book(None)
    book.close()


def meng(k):
    k.present(card(name="蒙桂英", id_number=MENG))


def test_two_materials_come_from_electronic_licences(tmp_path, platform, outbox):
    server, client, catalogue = platform
    printer = FakeReceiptPrinter()
    k = make_kiosk(tmp_path, services=Services(client, outbox, base_url=server.url), catalogue=catalogue,
                   devices=Devices(printer=printer))
    meng(k)
    k.shell.open_task("submit", item_id=ITEM)
    submission = k.flows["submit"]
    _title, lines, can_continue, missing = k.views["submit"].last("show_materials")
    held = {line.name: line for line in lines if line.licence}
    assert set(held) == {"第二代残疾人证", "居民户口簿"}
    assert all(line.done and line.pages_text == "已有电子证照，无需提交" for line in held.values())
    assert "中华人民共和国残疾人证" in held["第二代残疾人证"].detail and "发证" in held["第二代残疾人证"].detail
    assert "年" in held["居民户口簿"].detail
    assert "居民户口簿" not in missing and "第二代残疾人证" not in missing and not can_continue
    assert k.views["submit"].last("show_licence_note") == ("平台已有您的 2 项电子证照，这些材料不用拍摄",)
    draft = submission.draft()
    for index, material in enumerate(draft.item.materials):
        if index not in draft.licences:
            draft.add_page(index, b"\xff\xd8\xff page")
    submission.show_materials()
    assert k.views["submit"].last("show_materials")[2], "the three photographed and two licences are enough"
    submission.review("13800138000", "pickup")
    assert k.views["submit"].last("show_review")[1].count("电子证照") == 2
    submission.confirm()
    receipt_no = k.views["submit"].last("show_done")[1]
    assert "电子证照".encode("gb18030") in printer.jobs[-1]
    (leased,) = outbox.lease()
    request = outbox.load(leased)
    payload = json.loads(request.json_text)
    refs = [m for m in payload["materials"] if "licence" in m]
    assert [m["name"] for m in refs] == ["第二代残疾人证", "居民户口簿"] and len(request.files) == 3
    outbox.release([leased])
    # the outbox delivers it: the platform takes the references it listed for her
    from offline_queue import Backoff, Sender

    sender = Sender(outbox, server.url, "demo-token", backoff=Backoff(base_s=0.05, cap_s=0.1))
    assert sender.run_until_empty(timeout=20) and outbox.status()["done"] == 1
    found = client.get_application(receipt_no)
    assert [m.get("licence") for m in found["materials"] if m["pages"] == 0] == [m["licence"] for m in refs]
    # the receipt's one code: a phone opens the application's page, the kiosk's scanner its progress
    qr_text = k.views["submit"].last("show_done")[3]
    assert qr_text == server.url + "/m/" + payload["mobile_token"]
    page = requests.get(qr_text, timeout=10)
    assert page.status_code == 200 and receipt_no in page.text and MENG not in page.text
    k.flows["code"].scanned(qr_text)
    applications, _message = k.views["progress"].last("show_results")
    assert [a["receipt_no"] for a in applications] == [receipt_no]
    k.flows["code"].scanned(server.url + "/m/" + "A" * 32)     # well-formed, unknown
    assert "查不到办件" in k.shell.messages[-1][1]


def test_offline_every_material_is_photographed(tmp_path, platform):
    _server, _client, catalogue = platform
    dead = PlatformClient("http://127.0.0.1:9", "demo-token", "demo-kiosk-001", timeout=2)
    k = make_kiosk(tmp_path, services=Services(dead), catalogue=catalogue)
    meng(k)
    k.shell.open_task("submit", item_id=ITEM)
    _title, lines, _can_continue, missing = k.views["submit"].last("show_materials")
    assert not any(line.licence for line in lines)
    assert "居民户口簿" in missing and "第二代残疾人证" in missing
    assert k.views["submit"].last("show_licence_note") == ("暂时查不到电子证照，请拍摄清单上的全部材料",)
    assert k.flows["submit"].draft().licence_check == "failed"


def test_an_unfinished_submission_continues_on_the_phone(tmp_path, platform):
    server, client, catalogue = platform
    printer = FakeReceiptPrinter()
    k = make_kiosk(tmp_path, services=Services(client, base_url=server.url), catalogue=catalogue,
                   devices=Devices(printer=printer))
    meng(k)
    k.shell.open_task("submit", item_id=ITEM)
    submission = k.flows["submit"]
    assert k.shell.current_screen() == "submit"
    assert submission.offer_phone() is True, "ending the visit with materials missing shows the phone's code first"
    title, text, url = k.views["submit"].last("show_phone")
    assert title == "用手机继续办" and "困难残疾人生活补贴申请表" in text and "居民户口簿" not in text
    assert url.startswith(server.url + "/m/") and MENG not in url
    assert "补交材料提示".encode("gb18030") in printer.jobs[-1] and url.encode() in printer.jobs[-1]
    page = requests.get(url, timeout=10).text
    assert "本人社会保障卡或本人名下银行卡" in page.split("还需要补交的材料")[1].split("</ol>")[0]
    assert submission.offer_phone() is False, "offered once: the next 结束办理 asks as always"
    submission.finish_on_phone()
    assert k.keeper.current is None and k.shell.screen == "attract"


def test_offline_the_slip_lists_what_is_missing_without_a_code(tmp_path, platform):
    _server, _client, catalogue = platform
    printer = FakeReceiptPrinter()
    dead = PlatformClient("http://127.0.0.1:9", "demo-token", "demo-kiosk-001", timeout=2)
    k = make_kiosk(tmp_path, services=Services(dead), catalogue=catalogue, devices=Devices(printer=printer))
    meng(k)
    k.shell.open_task("submit", item_id=ITEM)
    k.flows["submit"].continue_on_phone()
    _title, text, url = k.views["submit"].last("show_phone")
    assert url == "" and "网络暂时不通" in text and "居民户口簿" in text
    assert "还需要补交的材料".encode("gb18030") in printer.jobs[-1]


def test_a_home_visit_slip_carries_its_phone_link(tmp_path, platform, outbox):
    server, client, catalogue = platform
    printer = FakeReceiptPrinter()
    k = make_kiosk(tmp_path, services=Services(client, outbox, base_url=server.url), catalogue=catalogue,
                   devices=Devices(printer=printer))
    meng(k)
    k.shell.open_task("help", "上门办/帮代办", item_id="YL-001")
    k.flows["help"].send("home_visit", "13912345678", "time_any")
    (leased,) = outbox.lease()
    payload = json.loads(outbox.load(leased).json_text)
    url = server.url + "/m/" + payload["mobile_token"]
    assert url.encode() in printer.jobs[-1], "the slip's QR code is the request's phone page"
    assert requests.get(url, timeout=10).status_code == 404, "not on the platform until the outbox delivers it"
    answer = requests.post(server.url + "/api/v1/service-requests", json=payload, timeout=10,
                           headers={"Authorization": "Bearer demo-token", "Idempotency-Key": "help-" + payload["request_no"]})
    assert answer.status_code == 201, answer.text
    page = requests.get(url, timeout=10).text
    assert payload["request_no"] in page and "上门办" in page and "蒙**" in page and "高龄津贴申领" in page
    assert "13912345678" not in page and MENG not in page
