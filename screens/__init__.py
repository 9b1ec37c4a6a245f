"""Kivy touch UI: one NAME.py and one NAME.kv per screen, plus shared widgets.

A screen draws; it does not decide. Each task screen implements its view interface from
``kiosk.flows.views`` (the only part of ``kiosk`` screens import) and hands the citizen's taps to
its ``controller``, a flow from ``kiosk.flows``. Screens never talk to a device or the network.
kv files are loaded by ``load_kv()`` from the app's ``build()``, never at import.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

KV_FILES = (  # one per line: screens are added by appending a line
    "widgets",
    "attract",
    "home",
    "guide",
    "guide_detail",
    "identify",
    "progress",
    "rating",
    "submit",
    "capture",
    "certificates",
    "help_request",
    "service_pin",
    "service",
    "appointment",
    "payment",
    "address",
)

# screen name → the action of the flow that controls it (kiosk.flows registry)
CONTROLLERS = {
    "guide": "guide",
    "guide-detail": "guide",
    "identify": "identify",
    "progress": "progress",
    "certificates": "certificates",
    "submit": "submit",
    "rating": "rating",
    "help": "help",
    "service-pin": "service",
    "service": "service",
    "appointment": "appointment",
    "payment": "pay",
    "address": "address",
}


def load_kv() -> None:
    from kivy.lang import Builder

    # importing the modules registers their widget classes with Kivy's Factory before the rules
    import importlib

    from screens.rules import keep_one_bar_binding

    keep_one_bar_binding()   # before any ScrollView scrolls (screens/rules.py says why)

    for name in KV_FILES:
        importlib.import_module(f"screens.{name}")
    here = Path(__file__).parent
    for name in KV_FILES:
        path = str(here / f"{name}.kv")
        Builder.unload_file(path)
        Builder.load_file(path)


def make_screens() -> dict[str, Any]:
    """Every screen, by name (after ``load_kv()``)."""
    from screens.appointment import AppointmentScreen
    from screens.address import AddressScreen
    from screens.attract import AttractScreen
    from screens.capture import CaptureScreen
    from screens.certificates import CertificatesScreen
    from screens.guide import GuideScreen
    from screens.guide_detail import GuideDetailScreen
    from screens.help_request import HelpRequestScreen
    from screens.payment import PaymentScreen
    from screens.home import HomeScreen
    from screens.identify import IdentifyScreen
    from screens.progress import ProgressScreen
    from screens.rating import RatingScreen
    from screens.service import ServiceScreen
    from screens.service_pin import ServicePinScreen
    from screens.submit import SubmitScreen

    made = [cls() for cls in (  # one per line
        AttractScreen,
        HomeScreen,
        GuideScreen,
        GuideDetailScreen,
        IdentifyScreen,
        ProgressScreen,
        RatingScreen,
        SubmitScreen,
        CaptureScreen,
        CertificatesScreen,
        HelpRequestScreen,
        ServicePinScreen,
        ServiceScreen,
        AppointmentScreen,
        PaymentScreen,
        AddressScreen,
    )]
    return {screen.name: screen for screen in made}


def attach_controllers(screens: Mapping[str, Any], flows: Mapping[str, Any]) -> None:
    """Give each task screen its flow controller (the capture screen gets the submission's camera flow)."""
    for name, action in CONTROLLERS.items():
        screens[name].controller = flows[action]
    screens["capture"].controller = flows["submit"].capture
