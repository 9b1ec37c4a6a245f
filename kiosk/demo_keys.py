"""The demo's hotkeys, for simulated devices only: F2 puts the card on the reader or takes it away (on a
fresh start: the first demo person's card),
F3 presents the next demo card, F4 scans the latest receipt's code, F5 scans a code that is not ours,
F6 plays the citizen's phone paying the order on the payment screen and F7 its payment failing (through the
demo platform's loopback pay page, the page the order's QR code opens).

Plain Python: the app passes the key codes it gets from its window.
"""
from __future__ import annotations

from typing import Any, Callable

from kiosk.localtime import now as kiosk_now

KEY_F2, KEY_F3, KEY_F4, KEY_F5 = 283, 284, 285, 286
KEY_F6, KEY_F7 = 287, 288
FIRST_DEMO_CARD = "resident"   # the demo's first person (韦岚, fictitious)
DEMO_FIRST_RECEIPT = "ZW{day}-000001"  # the demo platform numbers its seeded applications from 000001


class DemoKeys:
    def __init__(self, devices: Any, base_url: Callable[[], str], last_receipt: Callable[[], str | None],
                 pay_url: Callable[[], str] = lambda: ""):
        self.devices = devices
        self.pay_url = pay_url     # the order's pay page on the payment screen, "" when none
        self.base_url = base_url
        self.last_receipt = last_receipt
        self._cards: list[str] = []
        self._placed = False       # a card was put on the reader by a hotkey since the start

    def press(self, key: int) -> bool:
        """Act on a hotkey; False when the key is not one (or its device is not simulated)."""
        if key in (KEY_F6, KEY_F7):
            return self._phone("pay" if key == KEY_F6 else "fail")
        scanner = getattr(self.devices.scanner, "simulator", None)
        if key in (KEY_F4, KEY_F5) and scanner is not None:
            from kiosk.qr_content import receipt_qr_text

            receipt = self.last_receipt() or DEMO_FIRST_RECEIPT.format(day=kiosk_now().strftime("%Y%m%d"))
            scanner.scan(receipt_qr_text(receipt, self.base_url()) if key == KEY_F4 else "https://example.com/pay?x=1")
            return True
        reader = getattr(self.devices.reader, "simulator", None)
        if reader is None or key not in (KEY_F2, KEY_F3):
            return False
        if key == KEY_F2:
            if not reader.toggle() and not getattr(reader, "card_present", False) and not self._placed:
                reader.present(FIRST_DEMO_CARD)   # a fresh start: no card to put back yet, so the first one
            self._placed = True
        else:
            from devices.idcard.fixtures import fixture_names

            self._cards = self._cards or fixture_names()
            name = self._cards.pop(0)
            self._cards.append(name)
            reader.present(name)
            self._placed = True
        return True

    def _phone(self, event: str) -> bool:
        """The citizen's phone on the demo pay page, off the UI thread; only the demo platform's
        loopback page (a real provider's page is never posted to)."""
        import ipaddress
        import threading
        from urllib.parse import urlsplit

        url = self.pay_url()
        parts = urlsplit(url)
        try:
            loopback = ipaddress.ip_address(parts.hostname or "").is_loopback
        except ValueError:
            loopback = False
        if not (loopback and parts.scheme == "http" and parts.path.startswith("/demo-pay/")):
            return False

        def post() -> None:
            import logging

            import requests

            try:
                requests.post(url, data={"event": event}, timeout=5)
            except requests.RequestException as exc:
                logging.getLogger(__name__).warning("demo pay page unreachable: %s", type(exc).__name__)
        threading.Thread(target=post, name="demo-phone", daemon=True).start()
        return True
