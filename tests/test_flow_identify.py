"""The identify flow without Kivy: the card asked for by a task, refused plainly, or accepted and the
task goes on; the subject sent to the platform comes only from a card read in this visit."""
from __future__ import annotations

import pytest

from flow_fakes import WEI, card, make_kiosk
from kiosk.identity import CardHolder, IdentityError
from kiosk.platform_client import PlatformClient


def test_a_task_needing_the_card_asks_for_it_then_goes_on(tmp_path):
    k = make_kiosk(tmp_path)
    k.shell.open_task("help", "上门办/帮代办")
    assert k.shell.screen == "identify"
    assert k.views["identify"].last("ask") == ("上门办/帮代办",)
    assert k.views["identify"].state == "waiting"
    holder = k.present()
    assert isinstance(holder, CardHolder) and k.keeper.current.identity is holder
    assert k.shell.shown[-2:] == ["home", "help"]          # the task went on by itself
    address = k.views["help"].last("reset")[0]
    assert "广西壮族自治区桂林市****" in address and "示例路" not in address   # recognisable, the street masked


def test_an_expired_card_is_refused_on_the_identify_screen(tmp_path):
    k = make_kiosk(tmp_path)
    k.shell.open_task("certificates", "证明打印")
    assert k.present(card(expired=True)) is None
    state, message = k.views["identify"].last("set_state")
    assert state == "expired" and "过期" in message
    assert k.keeper.current.identity is None and k.shell.screen == "identify"
    assert "card_expired" in k.shell.spoken


def test_a_refused_card_elsewhere_starts_a_visit_and_says_why(tmp_path):
    k = make_kiosk(tmp_path)
    assert k.present(card(id_number_valid=False)) is None
    assert k.keeper.current is not None and k.shell.screen == "home"
    assert k.shell.messages[-1] == ("无法使用此证件", "无法核验此证件，请到服务窗口办理")


def test_a_card_on_the_attract_screen_starts_a_visit_on_home(tmp_path):
    k = make_kiosk(tmp_path)
    holder = k.present()
    assert k.shell.screen == "home" and k.keeper.current.identity is holder


def test_the_reader_down_is_shown_and_its_return_too(tmp_path):
    k = make_kiosk(tmp_path)
    identify = k.flows["identify"]
    identify.reader_status(False)
    k.shell.open_task("submit", "材料提交")
    assert k.views["identify"].state == "reader_down"
    identify.reader_status(True)
    assert k.views["identify"].state == "waiting"
    identify.read_failed()
    assert k.views["identify"].state == "failed"


def test_the_subject_comes_only_from_a_card_read_in_this_visit(tmp_path):
    k = make_kiosk(tmp_path)
    holder = k.present()
    assert holder.subject_id_number() == WEI
    with pytest.raises(IdentityError):
        CardHolder(card())                       # not through from_card
    with pytest.raises(IdentityError):
        CardHolder.from_card(WEI)                # a typed number is not a card
    client = PlatformClient("http://127.0.0.1:9", "t", "k", timeout=0.5)
    for typed in (WEI, WEI.encode(), {"id_number": WEI}):
        with pytest.raises(IdentityError):
            client.list_certificates(typed)
        with pytest.raises(IdentityError):
            client.find_applications(typed)
        with pytest.raises(IdentityError):
            client.certificate_document("c1", typed)
    k.keeper.end("test")                          # the visit ends: the holder no longer answers
    assert holder.wiped and holder.name is None
    with pytest.raises(IdentityError):
        holder.subject_id_number()
    with pytest.raises(IdentityError):
        client.list_certificates(holder)
    assert WEI not in repr(holder)
