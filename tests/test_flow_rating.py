"""Rating and service requests without Kivy: stored in the real outbox, thanked for online and
offline, refused when incomplete; storing that fails is said plainly."""
from __future__ import annotations

import json

from flow_fakes import Services, make_kiosk
from flow_fakes import outbox  # noqa: F401  (fixture)


def stored(outbox):
    (leased,) = outbox.lease()
    request = outbox.load(leased)
    return request.path, json.loads(request.json_text)


def test_a_rating_is_stored_and_thanked_for(tmp_path, outbox):
    k = make_kiosk(tmp_path, services=Services(outbox=outbox))
    k.shell.open_task("rating")
    assert k.shell.screen == "rating" and k.views["rating"].names() == ["reset", "show_subject"]
    k.flows["rating"].submit(2, ["reason_wait", "not_a_reason"])
    assert k.shell.messages[-1] == ("感谢您的评价", "您的评价已提交。") or k.shell.messages[-1][1] == "您的评价已提交。"
    assert k.shell.screen == "home"
    path, payload = stored(outbox)
    assert path == "/api/v1/ratings" and payload["score"] == 2 and payload["tags"] == ["等待时间长"]


def test_offline_the_rating_is_kept_and_the_citizen_told(tmp_path, outbox):
    k = make_kiosk(tmp_path, services=Services(outbox=outbox))
    k.shell.is_online = False
    k.shell.open_task("rating")
    k.flows["rating"].submit(5, [])
    assert k.shell.messages[-1][1] == "网络暂时中断，材料已安全保存，恢复后自动提交"
    assert outbox.status()["pending"] == 1


def test_no_outbox_is_said_plainly(tmp_path):
    k = make_kiosk(tmp_path, services=Services(outbox=None))
    k.flows["rating"].submit(4, [])
    assert "暂时无法保存" in k.shell.messages[-1][1]
    k.flows["rating"].submit(0, [])               # no score: nothing happens
    assert len(k.shell.messages) == 1


def test_a_service_request_carries_the_card_holder_and_the_typed_phone(tmp_path, outbox):
    from kiosk.submission import ReceiptBook

    services = Services(outbox=outbox)
    services.receipts = ReceiptBook(tmp_path / "receipts.db", 42)
    k = make_kiosk(tmp_path, services=services)
    k.shell.open_task("help", "上门办/帮代办")
    k.present()
    assert k.shell.screen == "help"
    help_flow = k.flows["help"]
    help_flow.send("proxy", "1391234", "time_any")          # incomplete: nothing sent
    assert outbox.status()["pending"] == 0
    help_flow.send("proxy", "13912345678", "time_weekend")
    assert k.views["help"].names()[-2:] == ["mark_sent", "show_done"]
    path, payload = stored(outbox)
    assert path == "/api/v1/service-requests"
    request_no = payload.pop("request_no")
    assert k.views["help"].last("show_done")[0] == request_no and request_no.startswith("ZW0042")
    token = payload.pop("mobile_token")          # the slip's phone link: random, drawn by the kiosk
    assert len(token) >= 20 and request_no not in token
    assert payload == {"kind": "proxy", "name": "韦岚", "phone": "13912345678",
                       "address": "广西壮族自治区桂林市示例路1号", "preferred_time": "周末"}


def test_an_offered_rating_is_about_what_was_done_and_never_holds_the_visit(tmp_path, outbox):
    from kiosk.flows.rating import offer_rating

    k = make_kiosk(tmp_path, services=Services(outbox=outbox))
    k.shell.open_task("help", "上门办/帮代办")
    offer_rating(k.flows["help"], "已打印", "请取走", "社保参保证明", receipt_no="FW0001261201-00000042")
    title, body, about = k.views["rating"].last("offer")
    assert (title, body) == ("已打印", "请取走") and "社保参保证明" in about and "FW0001261201-00000042" in about
    assert k.shell.screen == "identify"          # only offered: the screen stays, 完成 just closes it
    k.flows["rating"].rate_offered()             # one tap: the rating screen, about it
    assert k.shell.screen == "rating" and "社保参保证明" in k.views["rating"].last("show_subject")[0]
    k.flows["rating"].submit(4, [])
    path, payload = stored(outbox)
    assert payload["receipt_no"] == "FW0001261201-00000042" and "社保参保证明" in payload["tags"]
    k.shell.end_visit("next citizen")            # the next visit's rating is not about it
    k.shell.open_task("rating")
    assert k.views["rating"].last("show_subject")[0] == "您评价的是：本次自助服务"
