"""自助缴费 without Kivy, against the reference platform on loopback: the card holder's fees, an
order's amount and QR code, its status polled in a worker until paid (one slip), failed or
expired (what to do, a new order one tap away); paying twice is shown paid once; offline nothing is
made or queued; leaving mid-payment stops the polling and the platform reconciles the payment."""
from __future__ import annotations

import pytest
import requests

from flow_fakes import FakeReceiptPrinter, Services, make_kiosk, start_platform
from flow_fakes import outbox  # noqa: F401  (fixture)
from kiosk.flows import Catalogue, Devices
from kiosk.platform_client import PlatformClient

DEMO = {"Authorization": "Bearer demo-token", "X-Kiosk-Id": "demo-kiosk-001"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    server, client, catalogue = start_platform(tmp_path_factory.mktemp("pay"))
    yield server, client, catalogue
    server.stop()


class PhoneClient:
    """The real client; before the status is asked the n-th time, the citizen's phone does what
    ``plan`` says at the reference provider (pay, fail, expire, pay again) or the citizen leaves."""

    def __init__(self, client: PlatformClient, url: str, plan: dict[int, list]):
        self.client, self.url, self.plan, self.asked = client, url, plan, 0

    def __getattr__(self, name):
        return getattr(self.client, name)

    def payment_status(self, order_no: str):
        self.asked += 1
        for step in self.plan.get(self.asked, []):
            if callable(step):
                step()
            else:
                event, transaction = step
                answer = requests.post(f"{self.url}/api/v1/test/payments/{order_no}/events",
                                       json={"event": event, "transaction_id": transaction}, headers=DEMO, timeout=10)
                assert answer.status_code == 200, answer.text
        return self.client.payment_status(order_no)


def kiosk(tmp_path, platform, plan=None, printer=None, outbox=None, client=None):
    server, real, catalogue = platform
    phone = PhoneClient(client or real, server.url, plan or {})
    k = make_kiosk(tmp_path, services=Services(client=phone, outbox=outbox), catalogue=catalogue,
                   devices=Devices(printer=printer))
    k.flows["pay"].poll_s = 0
    return k, phone


def paid_orders(platform, order_no):
    server = platform[0]
    return requests.get(f"{server.url}/api/v1/payments/{order_no}", headers=DEMO, timeout=10).json()


def test_the_card_holders_fee_is_listed_paid_and_printed_once(tmp_path, platform):
    printer = FakeReceiptPrinter()
    k, phone = kiosk(tmp_path, platform, {2: [("pay", "T-1")]}, printer)
    k.shell.open_task("pay", "自助缴费")
    assert k.shell.screen == "identify"                 # the card first
    k.present()
    assert k.shell.screen == "payment"
    rows, message = k.views["payment"].last("show_list")
    (row,) = rows
    assert row.title == "居民身份证补领" and row.badge == "40.00元" and message == ""
    k.flows["pay"].choose(row.key)                      # the one tap after the card
    (order,) = k.views["payment"].last("show_order")
    assert order.amount == "40.00 元" and order.qr_text.startswith("refpay://pay?ref=RP")
    assert "ZF" in order.order_line and "不会重复收费" in order.note
    (outcome,) = k.views["payment"].last("show_outcome")
    assert outcome.kind == "paid" and outcome.title == "缴费成功" and "40.00" in outcome.body
    assert outcome.phones == "" and not outcome.retry and phone.asked == 2
    assert len(printer.jobs) == 1
    order_no = order.order_line.split()[1]
    assert order_no.encode() in printer.jobs[0] and b"40.00" in printer.jobs[0] and row.key.encode() in printer.jobs[0]
    assert b"/m/" in printer.jobs[0]                    # its QR code opens the application on a phone
    assert paid_orders(platform, order_no)["charged_fen"] == 4000
    k.flows["pay"]._settled(paid_orders(platform, order_no))    # a late poll answer: no second slip
    assert len(printer.jobs) == 1
    k.flows["pay"].back()                                # paid: nothing left to pay
    assert k.views["payment"].last("show_list") == ([], "您目前没有待缴费的事项。")


def test_a_failed_then_an_expired_order_say_what_to_do_and_retry_makes_a_new_order(tmp_path, platform):
    k, phone = kiosk(tmp_path, platform, {1: [("fail", "T-f")], 2: [("expire", "T-e")]})
    k.present()
    k.shell.open_task("pay", "", item_id="HJ-001")      # an item with a fee, without an application
    (first,) = k.views["payment"].last("show_order")
    (failed,) = k.views["payment"].last("show_outcome")
    assert failed.kind == "failed" and failed.title == "支付没有成功" and failed.retry
    assert "没有扣款" in failed.body and "窗口" in failed.body and "12345" in failed.phones and "0773" in failed.phones
    k.flows["pay"].retry()
    (second,) = k.views["payment"].last("show_order")
    assert second.order_line != first.order_line        # a new order, never the failed one again
    (expired,) = k.views["payment"].last("show_outcome")
    assert expired.kind == "expired" and "过期" in expired.title and "不会重复收费" in expired.body


def test_paying_twice_is_charged_once_and_shown_paid_once(tmp_path, platform):
    printer = FakeReceiptPrinter()
    k, _phone = kiosk(tmp_path, platform, {1: [("pay", "T-a"), ("pay", "T-b")]}, printer)
    k.present()
    k.shell.open_task("pay", "", item_id="HJ-003")
    (order,) = k.views["payment"].last("show_order")
    outcomes = [args[0] for name, args in k.views["payment"].calls if name == "show_outcome"]
    assert [o.kind for o in outcomes] == ["paid"]
    assert "10.00 元将原路退回" in outcomes[0].body
    assert len(printer.jobs) == 1
    state = paid_orders(platform, order.order_line.split()[1])
    assert state["charged_fen"] == 1000 and state["refund_due_fen"] == 1000


def test_offline_nothing_is_made_nor_queued(tmp_path, platform, outbox):
    dead = PlatformClient("http://127.0.0.1:9", "demo-token", "demo-kiosk-001", timeout=2)
    k, _ = kiosk(tmp_path, platform, outbox=outbox, client=dead)
    k.present()
    k.shell.open_task("pay", "自助缴费")
    message, phones = k.views["payment"].last("show_message")
    assert "缴费需要连接平台" in message and "没有扣款" in message and "不会排队" in message and "12345" in phones
    k.flows["pay"].pay_for("HJ-002")
    assert k.views["payment"].last("show_message")[0] == message
    assert outbox.status()["pending"] == 0 and "show_order" not in k.views["payment"].names()


def test_leaving_mid_payment_stops_waiting_and_the_platform_reconciles(tmp_path, platform):
    printer = FakeReceiptPrinter()
    box = {}
    k, phone = kiosk(tmp_path, platform, {2: [lambda: box["k"].shell.end_visit("citizen left"), ("pay", "T-late")]},
                     printer)
    box["k"] = k
    k.present()
    k.shell.open_task("pay", "", item_id="HJ-002")
    (order,) = k.views["payment"].last("show_order")
    assert k.shell.screen == "attract" and k.keeper.current is None
    assert "show_outcome" not in k.views["payment"].names() and printer.jobs == []    # nobody there: no slip
    assert phone.asked == 2                                                             # the polling stopped
    assert paid_orders(platform, order.order_line.split()[1])["status"] == "paid"       # reconciled on the platform


def test_taking_the_card_clears_the_list(tmp_path, platform):
    from flow_fakes import card
    from kiosk.flows import card_removed

    k, _ = kiosk(tmp_path, platform)
    k.present(card())
    k.shell.open_task("pay", "自助缴费")
    assert "show_list" in k.views["payment"].names()
    card_removed(k.flows)
    assert k.views["payment"].names()[-1] == "reset"


def test_the_end_of_a_submission_offers_payment_only_for_an_item_with_a_fee(tmp_path, platform):
    k, _ = kiosk(tmp_path, platform)
    k.present()
    k.shell.open_task("pay_offer", "", item_id="SB-007", receipt_no="ZW0001261201-12345678")
    assert "offer" not in k.views["payment"].names()
    k.shell.open_task("pay_offer", "", item_id="HJ-002", receipt_no="ZW0001261201-12345678")
    title, body, item_id, receipt_no = k.views["payment"].last("offer")
    assert title == "本事项需缴费 40.00 元" and "现在" in body and (item_id, receipt_no) == ("HJ-002", "ZW0001261201-12345678")


def test_the_demo_keys_play_the_phone_on_the_demo_pay_page_only(tmp_path):
    import time
    import uuid

    from kiosk.demo_keys import KEY_F6, KEY_F7, DemoKeys
    from security_platform import platform as serve

    with serve(tmp_path / "demo.sqlite3", demo_payments=True) as server:
        client = PlatformClient(server.url, "demo-token", "demo-kiosk-001", timeout=10)
        orders = [client.create_payment("HJ-002", None, uuid.uuid4().hex) for _ in range(2)]
        assert all(o["qr_content"].startswith(server.url + "/demo-pay/RP") for o in orders)
        for order, key, wanted in zip(orders, (KEY_F6, KEY_F7), ("paid", "failed")):
            keys = DemoKeys(Devices(), lambda: server.url, lambda: None, pay_url=lambda o=order: o["qr_content"])
            assert keys.press(key)
            deadline = time.monotonic() + 20
            while client.payment_status(order["order_no"])["status"] == "pending" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert client.payment_status(order["order_no"])["status"] == wanted
    for elsewhere in ("", "https://pay.example.com/demo-pay/RP1", "refpay://pay?ref=RP1", "http://127.0.0.1:9/m/abc"):
        assert not DemoKeys(Devices(), lambda: "", lambda: None, pay_url=lambda u=elsewhere: u).press(KEY_F6)


def test_a_finished_submission_of_an_item_with_a_fee_offers_to_pay_now(tmp_path, outbox):
    from backend.payments import set_fee
    from kiosk.catalogue import SearchIndex, parse_catalogue
    from kiosk.live_preview import CapturedPage
    from kiosk.submission import ReceiptBook, use_receipt_book
    from security_platform import platform as serve

    book = ReceiptBook(tmp_path / "receipts.db", 1)
    use_receipt_book(book)
    try:
        with serve(tmp_path / "fee.sqlite3", test_endpoints=True) as server:
            with server.db.write() as conn:
                set_fee(conn, "HJ-007", 1000, "补领工本费每证10元")    # the county charges for this one
            client = PlatformClient(server.url, "demo-token", "demo-kiosk-001", timeout=10)
            _version, items = parse_catalogue(client.fetch_catalogue().document)
            catalogue = Catalogue(items={i.id: i for i in items}, index=SearchIndex(items))
            phone = PhoneClient(client, server.url, {1: [("pay", "T-sub")]})
            k = make_kiosk(tmp_path, services=Services(client=phone, outbox=outbox, base_url=server.url),
                           catalogue=catalogue, devices=Devices(camera_factory=lambda: StillCamera()))
            k.flows["pay"].poll_s = 0
            k.present()
            k.shell.open_task("submit", "材料提交", item_id="HJ-007")
            submission = k.flows["submit"]
            for index, material in enumerate(catalogue.items["HJ-007"].materials):
                if material.required:
                    submission.capture.open(index)
                    submission.capture._page(CapturedPage(jpeg=b"\xff\xd8 page", found=True, thumbnail_rgb=b"\0" * 12,
                                                          thumbnail_size=(2, 2)))
                    submission.capture.close()
            submission.contact()
            submission.review("13800138000", "pickup")
            submission.confirm()
            receipt_no = k.views["submit"].last("show_done")[1]
            title, _body, item_id, offered_for = k.views["payment"].last("offer")
            assert title == "本事项需缴费 10.00 元" and (item_id, offered_for) == ("HJ-007", receipt_no)
            k.shell.open_task("pay", "", item_id=item_id, receipt_no=offered_for)      # 现在缴费
            (order,) = k.views["payment"].last("show_order")
            assert order.amount == "10.00 元" and k.views["payment"].last("show_outcome")[0].kind == "paid"
            paid = client.payment_status(order.order_line.split()[1])
            assert paid["receipt_no"] == receipt_no and paid["charged_fen"] == 1000   # the fee of that application
    finally:
        use_receipt_book(None)
        book.close()


class StillCamera:
    def start(self):
        pass

    def stop(self):
        pass

    def wait_for_frame(self, seq, timeout=0.5):
        import time

        time.sleep(0.01)
        return None


def test_no_offer_to_pay_when_the_platform_is_out_of_reach(tmp_path, platform):
    k, _ = kiosk(tmp_path, platform)
    k.present()
    k.shell.is_online = False
    k.shell.open_task("pay_offer", "", item_id="HJ-002", receipt_no="ZW0001261201-12345678")
    assert "offer" not in k.views["payment"].names()
