"""The card and the visit, without Kivy, against the reference platform on loopback: taking the card
away closes what is personal and keeps work in progress; a second card is a new person."""
from __future__ import annotations

from flow_fakes import Services, card, make_kiosk
from flow_fakes import outbox, platform  # noqa: F401  (fixtures)
from kiosk.flows import card_removed
from kiosk.flows.certificates import CertificatesState
from kiosk.flows.submission import SubmissionState

OTHER = "11010519491231002X"   # another made-up person


def at_preview(tmp_path, platform, outbox):
    _server, client, catalogue = platform
    k = make_kiosk(tmp_path, services=Services(client, outbox), catalogue=catalogue)
    k.present()
    k.shell.open_task("certificates", "证明打印")
    rows = k.views["certificates"].last("show_list")[0]
    row = next(r for r in rows if not r.flag)
    k.flows["certificates"].preview(row.key, row.title)
    assert k.keeper.current.flow_state(CertificatesState).chosen is not None
    return k


def test_taking_the_card_closes_the_preview_and_the_list_and_asks_if_the_visit_is_over(tmp_path, platform, outbox):
    k = at_preview(tmp_path, platform, outbox)
    session = k.keeper.current
    draft_state = session.flow_state(SubmissionState)      # work in progress, e.g. captured pages
    page = session.temp_dir / "page-1.jpg"
    page.write_bytes(b"\xff\xd8 a captured page")
    view = k.views["certificates"]
    calls_before = len(view.calls)
    assert card_removed(k.flows)
    assert session.flow_state(CertificatesState).chosen is None          # the PDF is gone from memory
    assert "reset" in [name for name, _ in view.calls[calls_before:]]     # list and preview off the screen
    assert k.shell.screen == "home"
    (title, body), = k.shell.asked_end                                     # asked plainly, once
    assert "结束" in title and "身份证" in title
    assert k.keeper.current is session and page.exists()                   # the capture is not lost
    assert session.flow_state(SubmissionState) is draft_state
    # the certificates are not one tap away: the card is asked for again
    k.shell.open_task("certificates", "证明打印")
    assert k.shell.screen == "identify"
    k.present()                                                             # the same person's card again
    assert k.shell.screen == "certificates" and k.keeper.current is session and page.exists()


def test_a_second_card_is_a_new_person_the_first_is_wiped_with_its_record(tmp_path, platform, outbox):
    k = at_preview(tmp_path, platform, outbox)
    first = k.keeper.current
    first_holder = first.identity
    page = first.temp_dir / "page-1.jpg"
    page.write_bytes(b"\xff\xd8 the first person's page")
    k.present(card(name="另一人", id_number=OTHER))
    assert first_holder.wiped and first.wiped and not page.exists()
    assert [r["reason"] for r in k.keeper.wipe_records] == ["another card"]
    assert k.keeper.wipe_records[0]["had_identity"] and k.keeper.wipe_records[0]["files_wiped"] == 1
    second = k.keeper.current
    assert second is not first and second.identity.subject_id_number() == OTHER
    assert second.flow_state(CertificatesState).chosen is None
    assert "reset" in k.views["certificates"].names()


def test_a_second_card_while_a_task_waits_for_the_card_goes_on_with_the_new_person(tmp_path, platform, outbox):
    _server, client, catalogue = platform
    k = make_kiosk(tmp_path, services=Services(client, outbox), catalogue=catalogue)
    k.present()
    card_removed(k.flows)
    k.shell.open_task("certificates", "证明打印")
    assert k.shell.screen == "identify"
    k.present(card(name="另一人", id_number=OTHER))
    assert k.keeper.wipe_records[-1]["reason"] == "another card"
    assert k.shell.screen == "certificates"
    assert k.keeper.current.identity.subject_id_number() == OTHER


def test_a_refusal_and_a_platform_error_each_get_their_own_message(tmp_path, platform, outbox):
    from kiosk.platform_client import PlatformError

    _server, client, catalogue = platform
    k = make_kiosk(tmp_path, services=Services(client, outbox), catalogue=catalogue)
    k.present(card(name="另一人", id_number=OTHER))
    k.shell.open_task("certificates", "证明打印")
    k.flows["certificates"].preview("no-such-certificate", "x")         # the platform answers 403/404
    refused = k.views["certificates"].last("show_message")[0]
    assert "网络" not in refused and "进度" not in refused
    flow = k.flows["certificates"]
    texts = {kind: flow.failure_text(PlatformError("x", kind), "certificates_offline")
             for kind in ("unreachable", "refused", "failed")}
    assert len(set(texts.values())) == 3
    assert "网络" in texts["unreachable"] and "证明" in texts["unreachable"] and "进度" not in texts["unreachable"]
    assert "网络" not in texts["refused"] and "网络" not in texts["failed"]
    assert all("12345" in text for text in texts.values())


def test_card_taken_with_no_card_read_asks_nothing(tmp_path):
    k = make_kiosk(tmp_path)
    k.shell.show("home")
    assert not card_removed(k.flows)
    assert not getattr(k.shell, "asked_end", [])


def test_errors_offer_the_phones_and_a_done_message_does_not(tmp_path, platform, outbox):
    from kiosk.i18n import help_phones

    k = at_preview(tmp_path, platform, outbox)
    k.flows["certificates"].preview("no-such-certificate", "x")
    k.flows["certificates"].save_failed(OSError("disk"))
    assert k.shell.offered_help[-1] is True
    k.flows["guide"].tell("printed_title", "printed_body", offer_help=False)
    assert k.shell.offered_help[-1] is False
    text = help_phones("zh", "12345", "0773-5512345")
    assert "12345" in text and "0773-5512345" in text
