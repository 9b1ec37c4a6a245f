"""The citizen's flows, one controller per task, in plain Python (no Kivy): see docs/ARCHITECTURE.md.

``build_flows`` is the registry: it makes every controller with its view(s) and returns them by
action, the word a home tile, a kv button or another flow uses to open a task
(``KioskApp.open_task(action, title, **options)``). Adding a flow: a module here with a ``Flow``
subclass, a view Protocol in ``views.py``, a screen implementing it, and one line below.
"""
from __future__ import annotations

from typing import Any, Mapping

from kiosk.flows.address import AddressFlow
from kiosk.flows.appointment import appointment_flows
from kiosk.flows.base import Catalogue, Devices, Flow, FlowContext, Shell
from kiosk.flows.certificates import CertificatesFlow
from kiosk.flows.guide import GuideFlow, NoticeFlow
from kiosk.flows.identify import IdentifyFlow
from kiosk.flows.payment import PaymentFlow, PaymentOfferFlow
from kiosk.flows.progress import CodeFlow, ProgressByCardFlow, ProgressFlow
from kiosk.flows.rating import RatingFlow
from kiosk.flows.service import ServiceFlow
from kiosk.flows.service_request import ServiceRequestFlow
from kiosk.flows.status import KioskStatus
from kiosk.flows.submission import SubmissionFlow

__all__ = ["Catalogue", "Devices", "Flow", "FlowContext", "Shell", "build_flows", "card_removed", "open_task", "READING_SCREENS"]


def build_flows(ctx: FlowContext, views: Mapping[str, Any]) -> dict[str, Flow]:
    """Every flow by its action. ``views`` maps screen names to the objects implementing their views
    (``status``: the header, which the app itself shows)."""
    progress = ProgressFlow(ctx, views["progress"])
    flows: list[Flow] = [
        IdentifyFlow(ctx, views["identify"]),
        GuideFlow(ctx, views["guide"], views["guide-detail"]),
        NoticeFlow(ctx),
        progress,
        ProgressByCardFlow(ctx, views["progress"]),
        CodeFlow(ctx, progress),
        CertificatesFlow(ctx, views["certificates"]),
        SubmissionFlow(ctx, views["submit"], views["capture"]),
        RatingFlow(ctx, views["rating"]),
        ServiceRequestFlow(ctx, views["help"]),
        KioskStatus(ctx, views["status"]),
        ServiceFlow(ctx, views["service-pin"], views["service"]),
        *appointment_flows(ctx, views["appointment"]),
        *(PaymentFlow(ctx, views["payment"]), PaymentOfferFlow(ctx, views["payment"])),
        AddressFlow(ctx, views["address"]),
    ]
    return {flow.action: flow for flow in flows}


def open_task(flows: Mapping[str, Flow], action: str, title: str = "", **options: Any) -> bool:
    """Open a citizen's task by its action; when the flow needs to know who the citizen is and no
    card was read in this visit (or the card was taken away), the identify flow asks for it first
    and then opens the task.
    False when no flow has that action (the caller says it is not available here)."""
    flow = flows.get(action)
    if flow is None:
        return False
    session = flow.session
    if flow.needs_identity and (flow.holder is None or (session is not None and session.card_away)):
        flows["identify"].ask(action, title, options)
    else:
        flow.start(title, **options)
    return True


def card_removed(flows: Mapping[str, Flow]) -> bool:
    """The card of the visit left the reader: every flow closes what is personal on its screen or
    one tap away (a certificate's preview and list, applications found by the card); what is in
    progress (captured pages) stays; the citizen is asked plainly whether the visit is over.
    Tasks that need the card ask for it again. False when no card was read in this visit."""
    identify = flows["identify"]
    session = identify.session
    if session is None or session.identity is None or session.card_away:
        return False
    session.card_away = True
    for flow in flows.values():
        flow.card_removed()
    shell = identify.ctx.shell
    if shell.current_screen() in PERSONAL_SCREENS:
        shell.show("home")
    shell.ask_end_visit(identify.t("card_taken_title"), identify.t("card_taken_body"))
    shell.speak("card_taken_title")
    return True


PERSONAL_SCREENS = ("certificates", "progress", "address")   # what they show is the card holder's own
READING_SCREENS = ("guide-detail", "certificates")  # read at length: a longer idle time (SessionKeeper.set_reading)
READING_SCREENS += ("payment",)   # the citizen is busy paying on the phone, not touching the screen
