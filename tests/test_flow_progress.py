"""The progress flow without Kivy, against the reference platform on loopback: by typed number, by
scanned code, by card; and what a code that is not ours gets."""
from __future__ import annotations

from flow_fakes import Services, make_kiosk
from flow_fakes import platform  # noqa: F401  (fixture)
from kiosk.qr_content import receipt_qr_text


def kiosk(tmp_path, platform):
    server, client, catalogue = platform
    return make_kiosk(tmp_path, services=Services(client, base_url=server.url), catalogue=catalogue)


def test_by_card_then_the_same_by_the_typed_number(tmp_path, platform):
    k = kiosk(tmp_path, platform)
    k.shell.open_task("progress")
    k.flows["progress"].by_card()
    assert k.shell.screen == "identify"
    k.present()
    assert k.shell.screen == "progress"
    applications, message = k.views["progress"].last("show_results")
    assert applications and message == ""
    receipt = applications[0]["receipt_no"]
    digits = receipt.replace("ZW", "").replace("-", "")
    assert k.flows["progress"].receipt_text(digits) == receipt
    k.flows["progress"].search(digits)
    found, message = k.views["progress"].last("show_results")
    assert [a["receipt_no"] for a in found] == [receipt] and message == ""


def test_an_unknown_or_malformed_number_is_said_plainly(tmp_path, platform):
    k = kiosk(tmp_path, platform)
    k.shell.open_task("progress")
    k.flows["progress"].lookup("ZW20200101-999999")
    found, message = k.views["progress"].last("show_results")
    assert found == [] and "ZW20200101-999999" in message
    k.flows["progress"].lookup("DROP TABLE")
    assert k.views["progress"].last("show_message")[0]


def test_the_platform_unreachable_is_a_network_message(tmp_path):
    from kiosk.platform_client import PlatformClient

    k = make_kiosk(tmp_path, services=Services(PlatformClient("http://127.0.0.1:9", "t", "k", timeout=1)))
    k.shell.open_task("progress")
    k.flows["progress"].lookup("ZW20200101-999999")
    assert "网络" in k.views["progress"].last("show_message")[0]
    assert k.views["progress"].last("set_busy") == (False,)


def test_scanned_codes_open_progress_or_are_refused_politely(tmp_path, platform):
    server, _client, _catalogue = platform
    k = kiosk(tmp_path, platform)
    k.flows["code"].scanned(receipt_qr_text("ZW20200101-999999", server.url))
    assert k.keeper.current is not None and k.shell.screen == "progress"
    assert "ZW20200101-999999" in k.views["progress"].last("show_results")[1]
    for text in ("https://evil.example.com/progress/ZW20261123-000042", "rm -rf /"):
        k.flows["code"].scanned(text)
        assert k.shell.messages[-1][0] == "无法识别此二维码"


def test_the_keypad_takes_the_eight_digits_of_todays_receipt_from_this_kiosk(tmp_path, platform):
    from kiosk import localtime
    from kiosk.qr_content import format_receipt_no

    k = kiosk(tmp_path, platform)
    k.shell.open_task("progress")
    k.flows["progress"].search("73920155")
    # "today" is the kiosk's day (China time), not the machine's: they differ for 8 hours of every day
    expected = format_receipt_no(k.ctx.cfg.kiosk.number, localtime.today(k.ctx.cfg.kiosk.time_zone), 73920155)
    found, message = k.views["progress"].last("show_results")
    assert found == [] and expected in message
    assert "本机今天打印的回执里没有" in message and "全部数字" in message   # and how to look up another one
    k.flows["progress"].search("0042" + "261123" + "00000001")   # a whole number: the plain answer
    found, message = k.views["progress"].last("show_results")
    assert found == [] and message.startswith("没有查到回执号")
    k.flows["progress"].search("123")                 # not a number yet: said, not sent
    assert "ZW123" in k.views["progress"].last("show_message")[0]
