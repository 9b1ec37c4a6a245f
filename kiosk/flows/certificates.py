"""证明打印: the card holder's certificates, a preview of the first page, the A4 print, its ledger
entry and the slip.

The ledger entry is written on the printer's thread before anyone is told the print is done. When
it cannot be written, the certificate on paper is still genuine (the platform issued it and its
verification code checks it), but this kiosk has no record of the print: the citizen is told so
plainly (not the usual "printed") and the platform is told through the outbox, so staff can
reconcile it. Without a ledger at all the kiosk does not print certificates.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from kiosk import counters
from kiosk.flows.base import Flow
from kiosk.flows.views import CertificatesView, Row

log = logging.getLogger(__name__)


@dataclass
class ChosenCertificate:
    """The certificate previewed: its PDF stays in memory, in the session, until the visit ends."""

    id: str
    title: str
    pdf: bytes
    code: str


@dataclass
class CertificatesState:
    chosen: ChosenCertificate | None = None

    def wipe(self) -> None:
        self.chosen = None


@dataclass(frozen=True)
class PrintOutcome:
    """What came back from the A4 printer, and whether the ledger recorded it."""

    result: Any
    certificate: ChosenCertificate
    holder_name: str
    ledger_error: str = ""     # "" when the entry was written


class CertificatesFlow(Flow):
    action = "certificates"
    screen = "certificates"
    needs_identity = True

    view: CertificatesView

    def start(self, title: str = "", **options: Any) -> None:
        holder = self.holder
        self.view.reset()
        self.view.set_busy(True)
        self.ctx.shell.show("certificates")
        if holder is None:
            return
        client = self.ctx.services.client
        self.ctx.jobs.submit(lambda: client.list_certificates(holder), self._listed, self.failed)

    def reset(self) -> None:
        self.view.reset()

    def card_removed(self) -> None:
        state = self.state(CertificatesState)
        if state is not None:
            state.wipe()
        self.view.reset()

    def _listed(self, items: list[dict]) -> None:
        if self._card_gone():
            return
        rows = []
        for item in items:
            valid = item.get("valid_until") or self.t("long_term")
            rows.append(Row(key=str(item.get("id", "")), title=str(item.get("title", "")),
                            flag=bool(item.get("expired")),
                            detail=self.t("certificate_detail", department=item.get("department", ""),
                                          issued=item.get("issued_on", ""), valid=valid)))
        self.view.show_list(rows, "" if rows else self.t("no_certificates"))

    def _card_gone(self) -> bool:
        session = self.session
        return session is None or session.identity is None or session.card_away

    def failed(self, exc: BaseException) -> None:
        self.view.set_busy(False)
        self.view.show_message(self.failure_text(exc, "certificates_offline"))

    def preview(self, certificate_id: str, title: str) -> None:
        from kiosk.pdf_preview import first_page

        holder, state = self.holder, self.state(CertificatesState)
        if holder is None or state is None:
            return
        self.view.set_busy(True)
        client = self.ctx.services.client

        def fetch() -> tuple:
            pdf, code = client.certificate_document(certificate_id, holder)
            return pdf, code, first_page(pdf)

        def shown(result: tuple) -> None:
            pdf, code, picture = result
            if self.state(CertificatesState) is not state or self._card_gone():
                return  # the visit ended, or the card was taken, meanwhile
            state.chosen = ChosenCertificate(certificate_id, title, pdf, code)
            self.view.show_preview(title, picture)
        self.ctx.jobs.submit(fetch, shown, self.failed)

    def print(self) -> None:
        holder, state = self.holder, self.state(CertificatesState)
        if holder is None or state is None or state.chosen is None:
            return
        devices = self.ctx.devices
        if devices.docprinter is None:
            self.view.show_message(self.t("certificate_failed", reason=""))
            return
        if devices.ledger is None:
            self.view.show_message(self.t("certificate_no_ledger"))
            return
        certificate = state.chosen
        self.view.set_busy(True, self.t("printing"))
        id_number = holder.subject_id_number()
        holder_name = holder.display_name
        ledger = devices.ledger
        printer_name = getattr(getattr(devices.docprinter, "spec", None), "display", self.ctx.cfg.devices.document_printer)

        def record(result: Any) -> None:
            # on the printer's thread: write the ledger entry before telling anyone it is done
            error = ""
            try:
                ledger.append(certificate_id=certificate.id, document=certificate.pdf,
                              pages=int(result.pages or 0), printer=str(printer_name),
                              result=result.outcome, id_number=id_number)
            except Exception as exc:
                log.error("print ledger append failed for certificate %s", certificate.id, exc_info=exc)
                error = type(exc).__name__
            if result.completed:
                counters.add_soon("document_printer.pages", int(result.pages or 0))
            self.ctx.post(self._printed, PrintOutcome(result, certificate, holder_name, error))
        devices.docprinter.submit(certificate.pdf, title="certificate", on_done=record)

    def _printed(self, outcome: PrintOutcome) -> None:
        from kiosk.receipts import CertificateSlip

        result, certificate = outcome.result, outcome.certificate
        self.view.set_busy(False)
        shell = self.ctx.shell
        if not result.completed:
            reason = result.reason_zh if shell.lang == "zh" else result.reason_en
            shell.message(self.t("printer_down_title"), self.t("certificate_failed", reason=reason))
            return
        if outcome.ledger_error:
            self._report_unrecorded(outcome)
            shell.message(self.t("certificate_unrecorded_title"), self.t("certificate_unrecorded"))
        else:   # printed: said so, with the rating of this print one tap away
            from kiosk.flows.rating import offer_rating

            offer_rating(self, self.t("printed_title"), self.t("certificate_printed"), certificate.title)
        slip = CertificateSlip(certificate_name=certificate.title, verification_code=certificate.code or "—",
                               printed_at=self.now(), pages=int(result.pages or 1), certificate_no=certificate.id,
                               holder=outcome.holder_name, centre_name=self.ctx.cfg.kiosk.centre_name,
                               kiosk_id=self.ctx.cfg.kiosk.id)
        self.print_receipt(slip)

    # -- 邮寄: the certificate posted to the holder's door by courier ------------------------------
    def post(self) -> None:
        """Ask for the address (kiosk.flows.address), then send the order through the outbox."""
        state = self.state(CertificatesState)
        if self.holder is None or state is None or state.chosen is None:
            return
        certificate = state.chosen
        self.ctx.shell.open_task("address", self.t("certificate_post"), purpose="certificate",
                                 on_done=lambda chosen: self._post_to(certificate, chosen))

    def _post_to(self, certificate: ChosenCertificate, chosen: Any) -> None:
        from kiosk.receipts import SubmissionReceipt
        from kiosk.submission import new_receipt_no

        holder = self.holder
        self.ctx.shell.show("certificates")
        if chosen is None or holder is None or self._card_gone():
            return
        outbox, book = self.ctx.services.outbox, getattr(self.ctx.services, "receipts", None)
        payload = {"certificate_id": certificate.id, "id_number": holder.subject_id_number(),
                   "phone": chosen.phone, "address": chosen.request()}
        when = self.now()
        holder_name = holder.display_name

        def store() -> str:
            if outbox is None:
                raise RuntimeError("outbox unavailable")
            order_no = new_receipt_no(when, book)      # recorded durably: blocking, so here
            outbox.put("POST", "/api/v1/shipments", json={**payload, "order_no": order_no})
            return order_no

        def stored(order_no: str) -> None:
            from kiosk.qr_content import receipt_qr_text

            self.ctx.shell.message(self.t("courier_done_certificate"), self.t(
                "courier_certificate_sent", address=chosen.recognisable(), order_no=order_no), offer_help=False)
            self.print_receipt(SubmissionReceipt(
                receipt_no=order_no, item_name=f"邮寄证明：{certificate.title}", submitted_at=when,
                lookup_url=receipt_qr_text(order_no, self.ctx.services.base_url), delivery="courier",
                delivery_address=chosen.recognisable(), applicant=holder_name,
                centre_name=self.ctx.cfg.kiosk.centre_name, kiosk_id=self.ctx.cfg.kiosk.id))
        self.ctx.jobs.submit(store, stored, self.save_failed)

    def _report_unrecorded(self, outcome: PrintOutcome) -> None:
        """Tell the platform (through the outbox, so it survives a dead network) that a certificate
        printed here has no ledger entry; no personal data travels with it."""
        kiosk_id = self.ctx.cfg.kiosk.id
        payload = {"alert": "print_ledger_append_failed", "certificate_id": outcome.certificate.id,
                   "pages": int(outcome.result.pages or 0), "error": outcome.ledger_error,
                   "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        outbox = self.ctx.services.outbox

        def store() -> str:
            if outbox is None:
                raise RuntimeError("outbox unavailable")
            return outbox.put("POST", f"/api/v1/kiosks/{kiosk_id}/heartbeat", json=payload)

        def not_stored(exc: BaseException) -> None:
            log.error("the unrecorded print of certificate %s could not be reported", outcome.certificate.id)
        self.ctx.jobs.submit(store, None, not_stored)
