"""``kiosk screenshot --screen payment|payment-expired|payment-list``: the payment screen with a real
demo order, that order expired, or the demo person's fees after her (simulated) ID card."""
from __future__ import annotations


def stage(app, screen: str) -> None:
    """A real order from the demo platform for the demo's ID-card fee, shown as the payment flow shows
    it (the amount and the QR code of the demo pay page); or that order expired."""
    import uuid

    app.start_session("screenshot")
    if screen == "payment-list":
        stage_list(app)
        return

    def make() -> dict:
        if app.services.demo is not None:
            app.services.demo.wait_ready()
        return app.services.client.create_payment("HJ-002", None, uuid.uuid4().hex)

    def shown(order: dict) -> None:
        flow = app.flows["pay"]
        app.show_screen("payment")
        flow._show(order)
        if screen == "payment-expired":
            flow._stop_polling()
            flow._settled({**order, "status": "expired"})
    app.workers.submit(make, shown)


def stage_list(app) -> None:
    """自助缴费 asks for the card; the simulated reader gets the demo person's card once it is up."""
    import time

    app.open_task("pay", app.tr(app.lang, "tile_payment"))

    def card() -> None:
        if app.services.demo is not None:
            app.services.demo.wait_ready()
        deadline = time.monotonic() + 20
        reader = app.devices.reader
        while reader is not None and reader.status().state.value != "ready" and time.monotonic() < deadline:
            time.sleep(0.1)
        if reader is not None:
            reader.simulator.present("resident")
    app.workers.submit(card)
