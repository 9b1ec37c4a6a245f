"""The address picker without Kivy, against the reference platform: pre-filled down to the kiosk's
county, town and village from lists, the house number checked, the visit's phone reused, a pick-up
time for originals; the submission sends it through the outbox; offline the kept divisions serve
the county and another county's villages are said to need the network."""
from __future__ import annotations

import json
import re

import pytest

from flow_fakes import FakeReceiptPrinter, Services, make_kiosk
from flow_fakes import outbox, platform  # noqa: F401  (fixtures)
from kiosk.divisions import DivisionStore
from kiosk.flows import Devices
from kiosk.platform_client import PlatformClient


@pytest.fixture(autouse=True)
def receipt_book(tmp_path):
    from kiosk.submission import ReceiptBook, use_receipt_book

    book = ReceiptBook(tmp_path / "receipts.db", 1)
    use_receipt_book(book)
    yield book
    use_receipt_book(None)
    book.close()


def kiosk_with(tmp_path, platform, outbox=None, printer=None, online=True):  # noqa: F811
    server, client, catalogue = platform
    services = Services(client, outbox, base_url=server.url)
    services.divisions = DivisionStore(tmp_path / "cache" / "divisions.json", client.divisions, "450329000000")
    if online:
        services.divisions.refresh()
    k = make_kiosk(tmp_path, services=services, catalogue=catalogue, devices=Devices(printer=printer))
    k.present()
    return k


def rows_of(k):
    prompt, rows = k.views["address"].last("show_choices")
    return prompt, {row.title: row.key for row in rows}


def test_town_and_village_from_lists_then_house_and_phone(tmp_path, platform):
    k = kiosk_with(tmp_path, platform)
    got = []
    k.shell.open_task("address", purpose="submit", on_done=got.append)
    assert k.shell.screen == "address"
    levels = k.views["address"].last("show_levels")[0]
    assert [lv.value for lv in levels[:3]] == ["广西壮族自治区", "桂林市", "资源县"] and levels[3].current
    prompt, towns = rows_of(k)
    assert "乡镇" in prompt and list(towns) == ["资源镇", "梅溪镇", "车田苗族乡", "枫林乡"]
    k.flows["address"].choose(towns["资源镇"])
    _prompt, villages = rows_of(k)
    assert "和平村" in villages and "城东社区" in villages
    k.flows["address"].choose(villages["和平村"])
    prompt, house, phone_text = k.views["address"].last("show_house")
    assert house == "" and phone_text == ""                       # no phone typed in this visit yet
    k.flows["address"].set_house("十二号")
    assert "数字开头" in k.views["address"].last("show_message")[0]
    k.flows["address"].set_house("12号")
    assert k.views["address"].last("show_phone")[1] == ""
    k.flows["address"].set_phone("1387731042")                   # ten digits: nothing happens
    assert not got
    k.flows["address"].set_phone("13877310427")
    (chosen,) = got
    assert chosen.text() == "广西壮族自治区桂林市资源县资源镇和平村12号"
    assert chosen.recognisable() == "广西壮族自治区桂林市资源县资源镇和平村****"
    assert chosen.request() == {"division": "450329101202", "house": "12号"} and chosen.pickup() is None


def test_a_list_tap_that_is_not_on_screen_is_ignored_and_levels_can_be_changed(tmp_path, platform):
    k = kiosk_with(tmp_path, platform)
    k.shell.open_task("address", on_done=lambda chosen: None)
    address = k.flows["address"]
    address.choose("450329101202")                                 # a village while towns are listed
    assert k.views["address"].last("show_levels")[0][4].value == ""
    address.go_level(2)                                             # 修改 the county
    _prompt, counties = rows_of(k)
    assert set(counties) == {"资源县", "龙胜各族自治县"}
    address.choose(counties["龙胜各族自治县"])
    _prompt, towns = rows_of(k)
    assert list(towns) == ["龙脊示例镇"]


def test_courier_delivery_from_the_submission_with_a_pickup_time(tmp_path, platform, outbox):  # noqa: F811
    printer = FakeReceiptPrinter()
    k = kiosk_with(tmp_path, platform, outbox, printer)
    server, client, catalogue = platform
    item = next(i for i in catalogue.items.values() if i.kiosk_submittable and any(m.kind == "original" for m in i.materials))
    k.shell.open_task("submit", item_id=item.id)
    submission = k.flows["submit"]
    draft = submission.draft()
    for index, material in enumerate(item.materials):
        if material.required:
            draft.add_page(index, b"\xff\xd8\xff page")
    submission.contact()
    assert k.views["submit"].last("show_post_address")[0] == "身份证地址：广西壮族自治区桂林市****"
    submission.review("13877310427", "courier")
    assert k.shell.screen == "address"
    address = k.flows["address"]
    _p, towns = rows_of(k)
    address.choose(towns["车田苗族乡"])
    _p, villages = rows_of(k)
    address.choose(villages["石溪头村"])
    _prompt, _house, phone_text = k.views["address"].last("show_house")
    assert phone_text == "快递员联系电话：138****0427"              # the phone typed for the submission
    address.set_house("3栋2单元401室")
    prompt, days, slots, day, slot = k.views["address"].last("show_pickup")
    assert "原件" in prompt and len(days) == 3 and [s.key for s in slots] == ["am", "pm"]
    assert days[0].title.startswith("明天 ")
    address.confirm_pickup()
    assert "先点选" in k.views["address"].last("show_message")[0]
    address.choose_day(days[1].key)
    address.choose_slot("pm")
    address.confirm_pickup()
    assert k.shell.screen == "submit"
    review = k.views["submit"].last("show_review")[1]
    assert "快递寄到家：广西壮族自治区桂林市资源县车田苗族乡石溪头村****" in review
    assert f"上门取原件：{days[1].key} 14:00-18:00" in review and "401室" not in review
    k.shell.is_online = False
    submission.confirm()
    receipt_no = k.views["submit"].last("show_done")[1]
    (leased,) = outbox.lease()
    payload = json.loads(outbox.load(leased).json_text)
    assert payload["delivery"] == {"method": "courier", "phone": "13877310427",
                                   "address": {"division": "450329201202", "house": "3栋2单元401室"},
                                   "pickup": {"date": days[1].key, "slot": "pm"}}
    # the slip's text, its Chinese-mode switches and wrapped lines joined
    ticket = re.sub(r"\x1c[&.]|\n +", "", printer.jobs[-1].decode("gb18030", errors="replace"))
    assert "快递寄到家" in ticket and "寄送地址：广西壮族自治区桂林市资源县车田苗族乡石溪头村****" in ticket
    assert "401" not in ticket and f"上门取件：{days[1].key} 14:00-18:00" in ticket
    assert "450329198802140427" not in ticket
    assert receipt_no.startswith("ZW0001")


def test_offline_the_county_is_kept_and_elsewhere_needs_the_network(tmp_path, platform):
    k = kiosk_with(tmp_path, platform)                             # refreshed once while online
    cache = tmp_path / "cache" / "divisions.json"
    assert cache.exists() and "韦" not in cache.read_text(encoding="utf-8")
    offline = DivisionStore(cache, lambda parent, depth: (_ for _ in ()).throw(OSError("down")), "450329000000")
    k.ctx.services.divisions = offline
    k.shell.open_task("address", on_done=lambda chosen: None)
    _p, towns = rows_of(k)
    k.flows["address"].choose(towns["梅溪镇"])
    _p, villages = rows_of(k)
    assert list(villages) == ["梅溪村", "枫木村", "大塘村"]
    k.flows["address"].go_level(2)
    _p, counties = rows_of(k)
    k.flows["address"].choose(counties["龙胜各族自治县"])
    assert "网络暂时不通" in k.views["address"].last("show_message")[0]


def test_the_address_of_the_visit_is_offered_again(tmp_path, platform):
    k = kiosk_with(tmp_path, platform)
    got = []
    k.shell.open_task("address", phone="13877310427", on_done=got.append)
    _p, towns = rows_of(k)
    k.flows["address"].choose(towns["资源镇"])
    _p, villages = rows_of(k)
    k.flows["address"].choose(villages["城东社区"])
    k.flows["address"].set_house("8号")
    k.shell.open_task("address", on_done=got.append)
    assert k.views["address"].last("show_house")[1] == "8号"
    k.flows["address"].set_house("8号")
    assert got[0] == got[1] and got[1].text().endswith("资源镇城东社区8号")


def test_a_certificate_by_post_goes_through_the_outbox_and_is_tracked(tmp_path, platform, outbox):  # noqa: F811
    from offline_queue import Sender

    server, client, _catalogue = platform
    printer = FakeReceiptPrinter()
    k = kiosk_with(tmp_path, platform, outbox, printer)
    k.shell.open_task("certificates", "证明打印")
    row = next(r for r in k.views["certificates"].last("show_list")[0] if not r.flag)
    k.flows["certificates"].preview(row.key, row.title)
    k.flows["certificates"].post()
    assert k.shell.screen == "address"
    address = k.flows["address"]
    _p, towns = rows_of(k)
    address.choose(towns["枫林乡"])
    _p, villages = rows_of(k)
    address.choose(villages["白水村"])
    address.set_house("5号")
    address.set_phone("13877310427")
    assert k.shell.screen == "certificates"
    title, body = k.shell.messages[-1]
    assert title == "邮寄申请已提交" and "枫林乡白水村****" in body and "5号" not in body
    order_no = re.search(r"ZW\d{10}-\d{8}", body).group(0)
    assert len(printer.jobs) == 1
    sender = Sender(outbox, server.url, "demo-token")
    assert sender.run_until_empty(timeout=20) and outbox.status()["done"] == 1
    tracked = client.get_application(order_no)
    assert tracked["item_name"] == f"邮寄证明：{row.title}"
    (parcel,) = tracked["shipments"]
    assert parcel["kind"] == "deliver" and parcel["status_label"] == "已下单"
    assert parcel["address"] == "广西壮族自治区桂林市资源县枫林乡****"
    k.flows["progress"].lookup(order_no)
    (shown,) = k.views["progress"].last("show_results")[0]
    assert shown["shipments"][0]["steps"][0]["at"].count(":") == 1      # HH:MM in the kiosk's zone


def test_the_address_leaves_the_screen_with_the_card(tmp_path, platform):
    from kiosk.flows import card_removed

    k = kiosk_with(tmp_path, platform)
    k.shell.open_task("address", on_done=lambda chosen: None)
    _p, towns = rows_of(k)
    k.flows["address"].choose(towns["资源镇"])
    assert card_removed(k.flows)
    assert k.shell.screen == "home" and k.views["address"].calls[-1] == ("reset", ("",))
