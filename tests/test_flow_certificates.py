"""The certificates flow without Kivy, against the reference platform on loopback: list, preview,
print with its ledger entry and slip; what happens when the ledger cannot record a print."""
from __future__ import annotations

import json

from flow_fakes import WEI, FakeA4Printer, FakeReceiptPrinter, PrintResult, Services, card, make_kiosk
from flow_fakes import outbox, platform  # noqa: F401  (fixtures)
from kiosk.flows import Devices
from kiosk.flows.certificates import CertificatesState
from kiosk.ledger import PrintLedger


def kiosk_at_preview(tmp_path, platform, outbox, ledger):
    _server, client, catalogue = platform
    devices = Devices(printer=FakeReceiptPrinter(), docprinter=FakeA4Printer(), ledger=ledger)
    k = make_kiosk(tmp_path, services=Services(client, outbox), devices=devices, catalogue=catalogue)
    k.present()
    k.shell.open_task("certificates", "证明打印")
    rows = k.views["certificates"].last("show_list")[0]
    row = next(r for r in rows if not r.flag)
    k.flows["certificates"].preview(row.key, row.title)
    return k, row


def test_list_preview_print_records_the_ledger_and_prints_the_slip(tmp_path, platform, outbox):
    ledger = PrintLedger(tmp_path / "data", tmp_path / "keys" / "ledger.key", kiosk_id="demo-kiosk-001")
    k, row = kiosk_at_preview(tmp_path, platform, outbox, ledger)
    view = k.views["certificates"]
    assert k.shell.screen == "certificates"
    assert view.last("show_preview")[0] == row.title and view.last("show_preview")[1].size[0] > 100
    chosen = k.keeper.current.flow_state(CertificatesState).chosen
    assert chosen.id == row.key and chosen.pdf.startswith(b"%PDF-")
    k.flows["certificates"].print()
    title, body, about = k.views["rating"].last("offer")    # printed: said so, the rating one tap away
    assert (title, body) == ("已打印，请在出纸口取走", "证明已打印，请在打印机出纸口取走，并带好小票")
    assert row.title in about and k.shell.screen == "certificates"
    assert len(k.ctx.devices.docprinter.printed) == 1 and len(k.ctx.devices.printer.jobs) == 1
    entries = ledger.entries()
    assert len(entries) == 1 and entries[0]["certificate_id"] == row.key and entries[0]["pages"] == 2
    assert ledger.verify().ok
    assert outbox.status()["pending"] == 0          # nothing to report
    k.keeper.end("test")                           # the PDF goes with the visit
    assert chosen.id and k.keeper.current is None


def test_a_ledger_that_cannot_record_is_told_to_the_citizen_and_the_platform(tmp_path, platform, outbox, caplog):
    data = tmp_path / "data"
    data.mkdir()
    (data / "ledger").write_bytes(b"")      # a file where the ledger's folder should be: every append fails
    ledger = PrintLedger(data, tmp_path / "keys" / "ledger.key", kiosk_id="demo-kiosk-001")
    k, row = kiosk_at_preview(tmp_path, platform, outbox, ledger)
    k.flows["certificates"].print()
    title, body = k.shell.messages[-1]
    assert title == "证明已打印，登记未完成"           # not the plain "printed"
    assert "没能登记" in body and "12345" in body
    assert len(k.ctx.devices.printer.jobs) == 1      # the slip with the verification code still prints
    assert "print ledger append failed" in caplog.text and "Traceback" in caplog.text
    assert outbox.status()["pending"] == 1           # the platform is told, durably
    (leased,) = outbox.lease()
    request = outbox.load(leased)
    assert request.method == "POST" and request.path == "/api/v1/kiosks/demo-kiosk-001/heartbeat"
    sent = json.loads(request.json_text)
    assert sent["alert"] == "print_ledger_append_failed" and sent["certificate_id"] == row.key
    assert WEI not in request.json_text and "韦" not in request.json_text
    server, client, _catalogue = platform              # and the platform takes it as this kiosk's report
    answer = client.http.post(server.url + request.path, data=request.json_text.encode(),
                              headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 200, answer.text


def test_without_a_ledger_certificates_are_not_printed(tmp_path, platform, outbox):
    k, _row = kiosk_at_preview(tmp_path, platform, outbox, ledger=None)
    k.flows["certificates"].print()
    assert k.ctx.devices.docprinter.printed == []
    assert "打印登记不可用" in k.views["certificates"].last("show_message")[0]


def test_a_print_that_did_not_finish_says_why(tmp_path, platform, outbox):
    ledger = PrintLedger(tmp_path / "data", tmp_path / "keys" / "ledger.key", kiosk_id="demo-kiosk-001")
    k, _row = kiosk_at_preview(tmp_path, platform, outbox, ledger)
    k.ctx.devices.docprinter.result = PrintResult(ok=False, completed=False, pages=0, outcome="failed",
                                                  reason_zh="缺纸", reason_en="out of paper")
    k.flows["certificates"].print()
    title, body = k.shell.messages[-1]
    assert title != "已打印，请在出纸口取走" and "缺纸" in body
    assert k.ctx.devices.printer.jobs == []          # no slip for a certificate not printed


def test_a_refusal_is_not_reported_as_a_network_failure(tmp_path, platform, outbox):
    _server, client, catalogue = platform
    k = make_kiosk(tmp_path, services=Services(client, outbox), catalogue=catalogue)
    k.present(card(name="另一人", id_number="11010519491231002X"))
    k.shell.open_task("certificates", "证明打印")
    k.flows["certificates"].preview("no-such-certificate", "x")
    message = k.views["certificates"].last("show_message")[0]
    assert "网络" not in message
