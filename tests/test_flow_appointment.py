"""预约办理 without Kivy, against the reference platform on loopback: big day and time buttons (full
ones shown full and not tappable), the card asked only once a time is chosen, the phone typed
earlier offered again, a slip with time, place, every material and the phone page's QR link
(never the ID number); a home visit by village; 我的预约 and cancelling after a confirm; offline,
the booking waits in the outbox as 「预约待确认」 and is confirmed while the citizen is still there,
or comes back as a plain message with the free times when the slot was taken meanwhile."""
from __future__ import annotations

import json
import uuid

import pytest
import requests

from flow_fakes import WEI, FakeReceiptPrinter, Services, card, make_kiosk, start_platform
from flow_fakes import outbox  # noqa: F401  (fixture)
from kiosk.flows import Devices
from kiosk.submission import ReceiptBook


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    server, client, catalogue = start_platform(tmp_path_factory.mktemp("appointment"))
    yield server, client, catalogue
    server.stop()


def kiosk(tmp_path, outbox, platform, printer=None):
    server, client, catalogue = platform
    services = Services(client=client, outbox=outbox, base_url=server.url)
    services.receipts = ReceiptBook(tmp_path / "receipts.db", 1)    # the demo kiosk's number space
    return make_kiosk(tmp_path, services=services, catalogue=catalogue, devices=Devices(printer=printer))


def choices(k):
    args = k.views["appointment"].last("show_choices")
    step, title, rows, message = (*args, "")[:4]
    return step, title, list(rows), message


def book_first_free(k, item_id, kind, village=None):
    """Choose the item, the way (and village), the first day with a free time and its first free time."""
    flow = k.flows["appointment"]
    k.shell.open_task("appointment", "预约办理")
    assert choices(k)[0] == "item"
    flow.choose_item(item_id)
    if choices(k)[0] == "kind":
        flow.choose_kind(kind)
    if village:
        step, _title, rows, _ = choices(k)
        assert step == "village" and village in [r.key for r in rows]
        flow.choose_village(village)
    step, _title, days, _ = choices(k)
    assert step == "day" and days
    day = next(r for r in days if not r.flag)
    flow.choose_day(day.key)
    step, _title, times, _ = choices(k)
    assert step == "time"
    slot = next(r for r in times if not r.flag)
    flow.choose_time(slot.key)
    return day, slot


def phone_taps(k):
    """Taps on the phone step before 确认预约 (digits the citizen types; 0 when offered)."""
    _title, _summary, phone = k.views["appointment"].last("show_phone")
    return 0 if len(phone) == 11 else 11


def test_book_a_window_slot_with_the_card_and_a_slip(tmp_path, outbox, platform):
    server, _client, _catalogue = platform
    printer = FakeReceiptPrinter()
    k = kiosk(tmp_path, outbox, platform, printer)
    said_aloud = []
    speak = k.shell.speak
    k.shell.speak = lambda key, **values: (said_aloud.append((key, values)), speak(key, **values))
    _day, slot_row = book_first_free(k, "YL-003", "window")
    # no card yet: the identify screen asks for it, then the flow goes on to the phone number
    assert k.shell.screen == "identify"
    k.present()
    assert k.shell.screen == "appointment"
    _title, summary, phone = k.views["appointment"].last("show_phone")
    assert "老年人优待证办理" in summary and "资源镇政务服务中心" in summary and slot_row.title in summary
    assert phone == "" and phone_taps(k) == 11
    k.flows["appointment"].book("13912345678")
    done = k.views["appointment"].last("show_done")[0]
    assert done.title == "预约成功" and not done.provisional and done.number.startswith("YY0000")
    assert slot_row.title in done.when and "窗口" in done.place
    assert done.qr_text.startswith(server.url + "/m/") and WEI not in done.qr_text
    # the slip: time, place, every material of the notice, the QR link; the person masked
    (job,) = printer.jobs
    text = job.decode("gb18030", "replace")
    assert "预约凭条" in text and done.number in text and "资源镇政务服务中心" in text and "居民身份证" in text
    assert done.qr_text.encode("ascii") in job and WEI.encode() not in job and "韦岚" not in text
    assert "韦*" in text and "139****5678" in text
    # and its key facts are read aloud: what it is, the time and the place, never the name or the phone
    (said,) = [values["facts"] for key, values in said_aloud if key == "voice_receipt"]
    assert said.startswith("预约凭条已打印") and "资源镇政务服务中心" in said and slot_row.title[:5] in said
    assert "5678" not in said and "韦" not in said
    # the phone page opens without any personal number
    page = requests.get(done.qr_text, timeout=10)
    assert page.status_code == 200 and done.number in page.text and WEI not in page.text


def test_full_times_are_shown_full_and_not_tappable(tmp_path, outbox, platform):
    k = kiosk(tmp_path, outbox, platform)
    k.present()
    flow = k.flows["appointment"]
    k.shell.open_task("appointment")
    flow.choose_item("CJ-004")
    flow.choose_kind("home_visit")
    flow.choose_village("资源镇测试新村")
    _step, _title, days, _ = choices(k)
    flow.choose_day(days[0].key)
    _step, _title, times, _ = choices(k)
    (only,) = times   # one home visit a day, one place
    flow.choose_time(only.key)
    flow.book("13912345678")
    assert k.views["appointment"].last("show_done")[0].title == "预约成功"
    # someone else now looks at the same day: the day and its time are full and do nothing when tapped
    other = kiosk(tmp_path / "other", outbox, platform)
    other.present(card(name="蒙桂英", id_number="450329195503020018"))
    other.shell.open_task("appointment")
    other.flows["appointment"].choose_item("CJ-004")
    other.flows["appointment"].choose_kind("home_visit")
    other.flows["appointment"].choose_village("资源镇测试新村")
    _step, _title, days, _ = choices(other)
    assert days[0].flag and days[0].detail == "已约满"
    calls = len(other.views["appointment"].calls)
    other.flows["appointment"].choose_day(days[0].key)
    assert len(other.views["appointment"].calls) == calls


def test_home_visit_books_the_cards_address_and_the_village(tmp_path, outbox, platform):
    server, _client, _catalogue = platform
    k = kiosk(tmp_path, outbox, platform)
    k.present()
    book_first_free(k, "YL-001", "home_visit", village="车田苗族乡示例村")
    k.flows["appointment"].book("13912345678")
    done = k.views["appointment"].last("show_done")[0]
    assert done.title == "预约成功" and "车田苗族乡示例村" in done.place and "上门" in done.place
    booked = requests.get(f"{server.url}/api/v1/appointments/{done.number}", timeout=10,
                          headers={"Authorization": "Bearer demo-token"}).json()
    assert booked["slot"]["kind"] == "home_visit" and booked["slot"]["village"] == "车田苗族乡示例村"


def test_the_phone_of_the_visit_is_offered_and_mine_lists_and_cancels(tmp_path, outbox, platform):
    k = kiosk(tmp_path, outbox, platform)
    k.present()
    flow = k.flows["appointment"]
    book_first_free(k, "SB-003", "after_hours")
    flow.book("13912345678")
    number = k.views["appointment"].last("show_done")[0].number
    # a second booking in the same visit: the phone is offered; after the card only 确认预约 is tapped
    book_first_free(k, "SB-003", "window")
    assert k.views["appointment"].last("show_phone")[2] == "13912345678" and phone_taps(k) == 0
    flow.book("13912345678")
    second = k.views["appointment"].last("show_done")[0].number
    flow.mine()
    step, _title, rows, _ = choices(k)
    assert step == "mine" and {number, second} <= {r.key for r in rows}
    flow.ask_cancel(number)
    assert "取消" in k.views["appointment"].last("show_confirm")[0]
    flow.keep()                                   # 不取消: nothing happens
    assert number in {r.key for r in choices(k)[2]}
    flow.ask_cancel(number)
    flow.confirm_cancel()
    assert k.shell.messages[-1][0] == "预约已取消"
    assert number not in {r.key for r in choices(k)[2]} and second in {r.key for r in choices(k)[2]}


def test_mine_asks_for_the_card_first(tmp_path, outbox, platform):
    k = kiosk(tmp_path, outbox, platform)
    k.shell.open_task("appointment")
    k.flows["appointment"].mine()
    assert k.shell.screen == "identify"
    k.present()
    assert k.shell.screen == "appointment" and choices(k)[0] == "mine"


def deliver(outbox, server):
    from offline_queue import Sender

    sender = Sender(outbox, server.url, "demo-token")
    assert sender.run_until_empty(timeout=30)


def test_offline_booking_is_provisional_then_confirmed_while_the_citizen_is_there(tmp_path, outbox, platform):
    server, _client, _catalogue = platform
    printer = FakeReceiptPrinter()
    k = kiosk(tmp_path, outbox, platform, printer)
    k.present()
    book_first_free(k, "HJ-001", "window")   # the free times were looked up while online
    k.shell.is_online = False                # then the link went down
    k.flows["appointment"].book("13912345678")
    done = k.views["appointment"].last("show_done")[0]
    assert done.provisional and done.title == "预约待确认" and done.qr_text.startswith(server.url + "/m/")
    assert requests.get(done.qr_text, timeout=10).status_code == 404   # not arrived yet: the page shows nothing
    assert done.number.startswith("ZW0001")
    assert "待确认" in printer.jobs[0].decode("gb18030", "replace")
    (leased,) = outbox.lease()
    request = outbox.load(leased)
    assert request.path == "/api/v1/appointment-requests" and json.loads(request.json_text)["request_no"] == done.number
    outbox.release([leased])
    # the link returns: delivered, and the flow, still on screen, shows the confirmed booking
    k.shell.is_online = True
    deliver(outbox, server)
    confirmed = k.views["appointment"].last("show_done")[0]
    assert confirmed.title == "预约成功" and not confirmed.provisional and confirmed.number.startswith("YY0000")
    assert confirmed.qr_text.startswith(server.url + "/m/")
    assert len(printer.jobs) == 2 and confirmed.number.encode() in printer.jobs[1]
    # the provisional slip's code now opens the booking it became
    page = requests.get(done.qr_text, timeout=10)
    assert page.status_code == 200 and confirmed.number in page.text and "取消这个预约" in page.text
    assert WEI not in page.text


def test_a_slot_taken_meanwhile_is_a_plain_message_with_the_free_times_again(tmp_path, outbox, platform):
    server, _client, _catalogue = platform
    k = kiosk(tmp_path, outbox, platform)
    k.present()
    flow = k.flows["appointment"]
    _day, slot_row = book_first_free(k, "HJ-002", "after_hours")
    # two other people take the after-hours places while this citizen types the phone number
    slot_id = int(slot_row.key)
    for serial, person in enumerate(("110105199001000031", "110105199001000058")):
        answer = requests.post(server.url + "/api/v1/appointments", timeout=10, json={
            "slot_id": slot_id, "item_id": "HJ-002", "name": "黄建国", "id_number": person, "phone": "13800000000"},
            headers={"Authorization": "Bearer demo-token", "Idempotency-Key": uuid.uuid4().hex,
                     "X-Subject-Id-Number": person})
        assert answer.status_code in (201, 422), answer.text
    flow.book("13912345678")
    step, _title, days, message = choices(k)
    assert step == "day" and message == "这个时段刚刚被别人约满了，请另选一个时间。"
    assert "show_done" not in k.views["appointment"].names()


def test_offline_booking_for_a_slot_taken_meanwhile_comes_back_plainly(tmp_path, outbox, platform):
    server, _client, _catalogue = platform
    k = kiosk(tmp_path, outbox, platform)
    k.present()
    _day, slot_row = book_first_free(k, "CJ-005", "home_visit", village="车田苗族乡示例村")
    k.shell.is_online = False
    k.flows["appointment"].book("13912345678")
    assert k.views["appointment"].last("show_done")[0].provisional
    person = "110105199001000074"
    taken = requests.post(server.url + "/api/v1/appointments", timeout=10, json={
        "slot_id": int(slot_row.key), "item_id": "CJ-005", "name": "黄建国", "id_number": person,
        "phone": "13800000000", "address": "车田苗族乡示例村1号"},
        headers={"Authorization": "Bearer demo-token", "Idempotency-Key": uuid.uuid4().hex,
                 "X-Subject-Id-Number": person})
    assert taken.status_code == 201
    k.shell.is_online = True
    deliver(outbox, server)
    assert k.shell.messages[-1] == ("时段已满", "这个时段刚刚被别人约满了，请另选一个时间。")
    # the provisional slip's code says so too, for a citizen who has left
    provisional = k.views["appointment"].last("show_done")[0]
    page = requests.get(provisional.qr_text, timeout=10)
    assert page.status_code == 200 and "预约没有成功" in page.text and "打电话" in page.text
    step, _title, _rows, message = choices(k)
    assert step == "day" and "约满" in message


def test_the_card_taken_away_closes_mine_and_is_asked_again_before_booking(tmp_path, outbox, platform):
    from kiosk.flows import card_removed

    k = kiosk(tmp_path, outbox, platform)
    k.present()
    flow = k.flows["appointment"]
    book_first_free(k, "SB-007", "window")
    flow.book("13912345678")
    flow.mine()
    assert choices(k)[0] == "mine"
    card_removed(k.flows)
    assert choices(k)[0] == "item"                       # the holder's list is gone from the screen
    book_first_free(k, "SB-007", "after_hours")          # a time chosen without the card: asked for it
    assert k.shell.screen == "identify"
    k.present()
    assert k.shell.screen == "appointment" and k.views["appointment"].last("show_phone")[2] == "13912345678"
    card_removed(k.flows)                                # taken away while typing: the booking stays …
    assert k.shell.screen == "appointment"
    flow.book("13912345678")                             # … and 确认预约 asks for the card again
    assert k.shell.screen == "identify"
    k.present()
    assert k.shell.screen == "appointment" and k.views["appointment"].last("show_phone")
    flow.book("13912345678")
    assert k.views["appointment"].last("show_done")[0].title == "预约成功"
