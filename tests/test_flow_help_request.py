"""上门办/帮代办 without Kivy: the request names its service item (pre-filled or chosen), shows the
card's address recognisably (and says so when the card has none), offers the phone typed earlier in
the visit, and gets its number at once: shown, printed on the slip, accepted by the real platform,
and what a rating opened next is about."""
from __future__ import annotations

import json
import uuid

import pytest
import requests

from flow_fakes import FakeReceiptPrinter, Services, card, make_kiosk, start_platform
from flow_fakes import outbox  # noqa: F401  (fixture)
from kiosk.flows import Devices
from kiosk.masking import recognisable_address
from kiosk.submission import ReceiptBook


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    server, client, catalogue = start_platform(tmp_path_factory.mktemp("help"))
    yield server, client, catalogue
    server.stop()


def kiosk(tmp_path, outbox, catalogue, printer=None):
    services = Services(outbox=outbox)
    services.receipts = ReceiptBook(tmp_path / "receipts.db", 1)    # the demo kiosk's number space
    return make_kiosk(tmp_path, services=services, catalogue=catalogue, devices=Devices(printer=printer))


def stored(outbox):
    (leased,) = outbox.lease()
    request = outbox.load(leased)
    return request.path, json.loads(request.json_text)


def test_the_address_is_recognisable_but_not_the_house():
    assert recognisable_address("广西壮族自治区桂林市资源县车田苗族乡石溪头村12号") == "广西壮族自治区桂林市资源县车田苗族乡****"
    assert recognisable_address("广西壮族自治区桂林市示例路1号") == "广西壮族自治区桂林市****"
    assert recognisable_address("") == ""


def test_a_request_for_an_item_with_the_phone_of_the_visit_is_numbered_printed_and_rated(tmp_path, outbox, platform):
    server, _client, catalogue = platform
    printer = FakeReceiptPrinter()
    k = kiosk(tmp_path, outbox, catalogue, printer)
    k.present()
    item = next(iter(catalogue.items.values()))
    k.shell.open_task("help", "上门办/帮代办", item_id=item.id)
    address_text, item_text, phone = k.views["help"].last("reset")
    assert "广西壮族自治区桂林市****" in address_text and item_text == item.name and phone == ""
    k.flows["help"].send("home_visit", "13912345678", "time_any")
    _path, payload = stored(outbox)
    assert payload["item_id"] == item.id
    request_no, message = k.views["help"].last("show_done")
    assert payload["request_no"] == request_no and "一个工作日" in message
    assert len(printer.jobs) == 1 and request_no.encode("ascii") in printer.jobs[0]
    # the platform takes the kiosk's number as the request's own
    answer = requests.post(server.url + "/api/v1/service-requests", json=payload, timeout=10,
                           headers={"Authorization": "Bearer demo-token", "Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code == 201, answer.text
    assert answer.json()["request_no"] == request_no
    again = requests.post(server.url + "/api/v1/service-requests", json=payload, timeout=10,
                          headers={"Authorization": "Bearer demo-token", "Idempotency-Key": str(uuid.uuid4())})
    assert again.status_code == 409 and again.json()["error"] == "request_no_taken"
    # opened again in the same visit: the phone is remembered; a rating is about this request
    k.shell.open_task("help")
    assert k.views["help"].last("reset")[2] == "13912345678"
    k.flows["help"].rate()
    assert k.views["rating"].last("show_subject") == (f"您评价的是：{item.name}\n编号 {request_no}",)


def test_an_item_is_chosen_from_the_catalogue(tmp_path, outbox, platform):
    _server, _client, catalogue = platform
    k = kiosk(tmp_path, outbox, catalogue)
    k.present()
    k.shell.open_task("help")
    assert k.views["help"].last("reset")[1] == ""
    k.flows["help"].list_items()
    (rows,) = k.views["help"].last("show_items")
    assert len(rows) == len(catalogue.items)
    k.flows["help"].choose_item(rows[-1].key)
    assert k.views["help"].last("show_item") == (rows[-1].title,)


def test_a_card_without_an_address_says_so_and_the_request_still_goes(tmp_path, outbox, platform):
    _server, _client, catalogue = platform
    k = kiosk(tmp_path, outbox, catalogue)
    k.present(card(name="ZHANG WEI", address=""))
    k.shell.open_task("help")
    address_text = k.views["help"].last("reset")[0]
    assert "（ ）" not in address_text and "没有地址" in address_text
    k.flows["help"].send("home_visit", "13912345678", "time_any")
    _path, payload = stored(outbox)
    assert payload["address"] == "证件上无地址，来电确认"


def test_delivery_by_post_shows_the_card_address_recognisably():
    from types import SimpleNamespace

    from kiosk.submission import Draft

    draft = Draft(item=None, folder=None, delivery="post")
    holder = SimpleNamespace(address="广西壮族自治区桂林市资源县车田苗族乡石溪头村12号")
    assert draft.delivery_text(holder) == "邮寄到身份证地址（广西壮族自治区桂林市资源县车田苗族乡****）"
    assert "没有地址" in draft.delivery_text(SimpleNamespace(address=""))
