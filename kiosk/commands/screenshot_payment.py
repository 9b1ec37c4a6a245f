"""``kiosk screenshot --screen payment|payment-expired``: the payment screen with a real demo order."""
from __future__ import annotations


def stage(app, screen: str) -> None:
    """A real order from the demo platform for the demo's ID-card fee, shown as the payment flow shows
    it (the amount and the QR code of the demo pay page); or that order expired."""
    import uuid

    app.start_session("screenshot")

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
