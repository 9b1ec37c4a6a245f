"""办件查询: look up an application by its receipt number (keypad or scanned receipt) or by ID card.

Implements ``ProgressView``: the progress flow (kiosk.flows.progress) runs the lookups in workers
and hands this screen the applications or a message; the keypad's meaning is the flow's too.
"""
from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

FINISHED = ("completed", "ready_for_pickup", "posted")  # platform status codes: the result exists


class ApplicationCard(BoxLayout):
    """One application: item, receipt number, status and deadline, and its history."""

    application = ObjectProperty(None)
    title = StringProperty("")
    status_line = StringProperty("")
    history_text = StringProperty("")
    shipment_text = StringProperty("")     # courier parcels and their steps
    finished = BooleanProperty(False)

    def on_application(self, *args) -> None:
        app = App.get_running_app()
        a = self.application or {}
        self.title = f"{a.get('item_name') or a.get('item_id', '')}"
        status = str(a.get("status", ""))
        self.finished = a.get("status_code") in FINISHED
        deadline = a.get("deadline") or ""
        delivery = a.get("delivery") or {}
        method = delivery.get("method") if isinstance(delivery, dict) else str(delivery)
        how = app.tr(app.lang, {"post": "delivery_post", "courier": "delivery_courier"}.get(method, "delivery_pickup"))
        self.status_line = app.tr(app.lang, "progress_status", status=status, receipt=a.get("receipt_no", ""),
                                  deadline=str(deadline)[:10], delivery=how)
        lines = []
        for step in a.get("history") or []:
            if isinstance(step, dict):
                when = str(step.get("at", ""))[:16].replace("T", " ")
                note = f"  {step['note']}" if step.get("note") else ""
                lines.append(f"{when}  {step.get('status', '')}{note}")
        self.history_text = "\n".join(lines)
        self.shipment_text = shipment_text(app, a.get("shipments") or [])


def shipment_text(app, shipments: list) -> str:
    """Each courier parcel: what it is and its number, the pick-up time, then its steps with times
    (already in the kiosk's zone, as the flow gives them)."""
    blocks = []
    for parcel in shipments:
        if not isinstance(parcel, dict):
            continue
        lines = [app.tr(app.lang, "shipment_heading", kind=parcel.get("kind_label", ""),
                        status=parcel.get("status_label", ""), tracking_no=parcel.get("tracking_no", ""))]
        if parcel.get("pickup_from"):
            until = str(parcel.get("pickup_until", ""))[11:16]
            lines.append(app.tr(app.lang, "shipment_pickup_time",
                                time=f"{str(parcel['pickup_from'])[:16].replace('T', ' ')}-{until}"))
        for step in parcel.get("steps") or []:
            if isinstance(step, dict):
                lines.append(f"{str(step.get('at', ''))[:16].replace('T', ' ')}  {step.get('label', '')}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


class ProgressScreen(Screen):
    controller = ObjectProperty(None, allownone=True)
    digits = StringProperty("")        # what the citizen typed after the fixed prefix
    receipt_text = StringProperty("ZW")
    busy = BooleanProperty(False)
    message = StringProperty("")
    results = ListProperty([])         # application dicts as the platform answers (masked)

    def on_digits(self, *args) -> None:
        if self.controller is not None:
            self.receipt_text = self.controller.receipt_text(self.digits)

    def on_controller(self, *args) -> None:
        self.on_digits()

    def press(self, digit: str) -> None:
        if len(self.digits) < self.controller.max_digits:
            self.digits += digit

    def backspace(self) -> None:
        self.digits = self.digits[:-1]

    def reset(self) -> None:
        self.digits, self.message, self.results, self.busy = "", "", [], False
        self.ids.results.clear_widgets()

    def search(self) -> None:
        self.controller.search(self.digits)

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        if busy:
            self.message = ""

    def show_message(self, message: str) -> None:
        self.message = message

    def show_results(self, applications: list[dict], message: str) -> None:
        from kivy.factory import Factory

        self.busy = False
        self.results = applications
        box = self.ids.results
        box.clear_widgets()
        for application in applications:
            box.add_widget(Factory.ApplicationCard(application=application))
        self.message = message
