"""HTTP client for the service platform (the API is listed in docs/ARCHITECTURE.md, "The platform API").
Blocking: call it from workers only.

Another platform gets another client with the same methods; screens never see HTTP. Requests about
a person take the visit's ``CardHolder`` (kiosk.identity), never an ID number as a string: the
subject sent to the platform always comes from a card read in the current visit.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests

from kiosk.errors import DeviceFailure
from kiosk.identity import CardHolder, IdentityError

log = logging.getLogger(__name__)


class PlatformError(DeviceFailure):
    """The platform could not be reached or answered something we cannot use.

    ``kind`` says which, so the citizen is told the true reason: ``unreachable`` (network),
    ``refused`` (HTTP 401/403), ``failed`` (another HTTP error) or ``bad_answer``.
    """

    def __init__(self, message: str, kind: str = "failed"):
        super().__init__(message)
        self.kind = kind


class SlotTakenError(PlatformError):
    """The slot filled up while the citizen was choosing; the platform recorded a call-back task."""

    def __init__(self, message: str, callback_no: str):
        super().__init__(message or "slot taken", "slot_taken")
        self.callback_no = callback_no


def subject_of(holder: CardHolder) -> str:
    """The subject's ID number, only from the card holder of the current visit."""
    if not isinstance(holder, CardHolder):
        raise IdentityError("requests about a person take the visit's CardHolder, not a typed number")
    return holder.subject_id_number()


@dataclass(frozen=True)
class CatalogueAnswer:
    not_modified: bool
    etag: str | None
    document: dict[str, Any] | None


class PlatformClient:
    def __init__(self, base_url: str, token: str, kiosk_id: str, timeout: float = 10.0,
                 session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = session or requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {token}", "X-Kiosk-Id": kiosk_id,
                                  "Accept": "application/json"})

    def _get(self, path: str, headers: dict[str, str] | None = None) -> requests.Response:
        try:
            return self.http.get(self.base_url + path, headers=headers or {}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise PlatformError(f"platform unreachable: {type(exc).__name__}", "unreachable") from exc

    def fetch_catalogue(self, etag: str | None = None) -> CatalogueAnswer:
        response = self._get("/api/v1/catalogue", {"If-None-Match": etag} if etag else None)
        if response.status_code == 304:
            return CatalogueAnswer(True, etag, None)
        if response.status_code in (401, 403):
            raise PlatformError(f"platform refused this kiosk's token (HTTP {response.status_code})", "refused")
        if response.status_code != 200:
            raise PlatformError(f"catalogue request failed: HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise PlatformError("catalogue answer is not JSON", "bad_answer") from None
        return CatalogueAnswer(False, response.headers.get("ETag"), document)

    def notice_link(self, item_id: str) -> str:
        """A link (valid 7 days) that opens the item's one-time notice on a phone: the QR printed
        on the 一次性告知单. Nothing personal is sent."""
        try:
            response = self.http.post(self.base_url + "/api/v1/mobile-links", json={"kind": "notice", "target": item_id},
                                      timeout=self.timeout)
        except requests.RequestException as exc:
            raise PlatformError(f"platform unreachable: {type(exc).__name__}", "unreachable") from exc
        if response.status_code != 201:
            self._json(response, "notice link")  # raises with the reason
            raise PlatformError(f"notice link failed: HTTP {response.status_code}")
        try:
            url = response.json().get("url")
        except (ValueError, AttributeError):
            url = None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PlatformError("notice link: unexpected answer", "bad_answer")
        return url

    def get_application(self, receipt_no: str) -> dict[str, Any] | None:
        """Progress of one application; None when the platform does not know the number."""
        from urllib.parse import quote

        response = self._get(f"/api/v1/applications/{quote(receipt_no, safe='')}")
        if response.status_code == 404:
            return None
        return self._json(response, "application lookup")

    def find_applications(self, holder: CardHolder) -> list[dict[str, Any]]:
        """Applications of the person whose card was read (the number travels only to the platform)."""
        id_number = subject_of(holder)
        response = self._get_params("/api/v1/applications", {"id_number": id_number},
                                    {"X-Subject-Id-Number": id_number})
        data = self._json(response, "application search")
        items = data.get("applications", data.get("items")) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise PlatformError("application search: unexpected answer", "bad_answer")
        return items

    def list_certificates(self, holder: CardHolder) -> list[dict[str, Any]]:
        """Certificates the card holder may print; the platform refuses anyone else's."""
        id_number = subject_of(holder)
        response = self._get_params("/api/v1/certificates", {"id_number": id_number},
                                    {"X-Subject-Id-Number": id_number})
        data = self._json(response, "certificate list")
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise PlatformError("certificate list: unexpected answer", "bad_answer")
        return items

    def list_licences(self, holder: CardHolder) -> list[dict[str, Any]]:
        """Electronic licences (电子证照) the platform holds for the card holder, and only for them."""
        id_number = subject_of(holder)
        response = self._get_params("/api/v1/licences", {"id_number": id_number},
                                    {"X-Subject-Id-Number": id_number})
        data = self._json(response, "licence list")
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise PlatformError("licence list: unexpected answer", "bad_answer")
        return items

    def unfinished_link(self, item_id: str, missing: list[str], from_licences: list[str]) -> str:
        """A link for the phone (手机继续办) to what a submission still misses: nothing personal is sent."""
        body = {"kind": "unfinished", "item_id": item_id, "missing": missing, "from_licences": from_licences}
        try:
            response = self.http.post(self.base_url + "/api/v1/mobile-links", json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise PlatformError(f"platform unreachable: {type(exc).__name__}", "unreachable") from exc
        if response.status_code != 201:
            self._json(response, "mobile link")  # raises with the status
            raise PlatformError(f"mobile link failed: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise PlatformError("mobile link: answer is not JSON", "bad_answer") from None
        url = data.get("url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PlatformError("mobile link: unexpected answer", "bad_answer")
        return url

    def resolve_link(self, token: str) -> dict[str, Any] | None:
        """What a phone link scanned at the kiosk opens ({kind, target}); None for an unknown or expired one."""
        from urllib.parse import quote

        response = self._get(f"/api/v1/mobile-links/{quote(token, safe='')}")
        if response.status_code == 404:
            return None
        data = self._json(response, "phone link")
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str) or not isinstance(data.get("target"), str):
            raise PlatformError("phone link: unexpected answer", "bad_answer")
        return data

    def certificate_document(self, certificate_id: str, holder: CardHolder) -> tuple[bytes, str]:
        """The certificate's PDF and its verification code (from the X-Verification-Code header)."""
        from urllib.parse import quote

        id_number = subject_of(holder)
        response = self._get_params(f"/api/v1/certificates/{quote(certificate_id, safe='')}/document", {},
                                    {"X-Subject-Id-Number": id_number, "Accept": "application/pdf"})
        if response.status_code != 200:
            self._json(response, "certificate document")  # raises with the status
        if not response.content.startswith(b"%PDF-"):
            raise PlatformError("certificate document: not a PDF", "bad_answer")
        return response.content, response.headers.get("X-Verification-Code", "")

    # ---- payment by phone (自助缴费): the citizen pays on their own phone; no card data here ----
    def payment_dues(self, holder: CardHolder) -> list[dict[str, Any]]:
        """The card holder's applications whose fee is not paid yet (each with the order still open, if any)."""
        id_number = subject_of(holder)
        response = self._get_params("/api/v1/payments/due", {"id_number": id_number},
                                    {"X-Subject-Id-Number": id_number})
        data = self._json(response, "payments due")
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise PlatformError("payments due: unexpected answer", "bad_answer")
        return items

    def payment_fees(self) -> dict[str, dict[str, Any]]:
        """The fee schedule by item id: which items take a payment, and how much."""
        data = self._json(self._get("/api/v1/payments/fees"), "fee schedule")
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise PlatformError("fee schedule: unexpected answer", "bad_answer")
        return {str(fee.get("item_id")): fee for fee in items if isinstance(fee, dict)}

    def create_payment(self, item_id: str, receipt_no: str | None, key: str) -> dict[str, Any]:
        """A payment order for an item (and the application it pays for): its number, amount and the
        QR content to show. ``key`` makes a repeated request give the same order, never a second."""
        body: dict[str, Any] = {"item_id": item_id}
        if receipt_no:
            body["receipt_no"] = receipt_no
        try:
            response = self.http.post(self.base_url + "/api/v1/payments", json=body,
                                      headers={"Idempotency-Key": key}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise PlatformError(f"platform unreachable: {type(exc).__name__}", "unreachable") from exc
        if response.status_code == 201:
            response.status_code = 200
        return self._order(self._json(response, "payment order"))

    def payment_status(self, order_no: str) -> dict[str, Any] | None:
        """The order as the platform now sees it (pending, paid, failed, expired); None if unknown."""
        from urllib.parse import quote

        response = self._get(f"/api/v1/payments/{quote(order_no, safe='')}")
        if response.status_code == 404:
            return None
        return self._order(self._json(response, "payment status"))

    @staticmethod
    def _order(data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("order_no"), str) \
                or data.get("status") not in ("pending", "paid", "failed", "expired"):
            raise PlatformError("payment order: unexpected answer", "bad_answer")
        return data

    def divisions(self, parent: str | None, depth: int = 1) -> list[dict[str, Any]]:
        """Administrative divisions below ``parent`` (None: the provinces), ``depth`` levels down."""
        params = {"depth": str(depth), **({"parent": parent} if parent else {})}
        data = self._json(self._get_params("/api/v1/divisions", params, {}), "divisions")
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise PlatformError("divisions: unexpected answer", "bad_answer")
        return items

    def _get_params(self, path: str, params: dict[str, str], headers: dict[str, str]) -> requests.Response:
        try:
            return self.http.get(self.base_url + path, params=params, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise PlatformError(f"platform unreachable: {type(exc).__name__}", "unreachable") from exc

    @staticmethod
    def _json(response: requests.Response, what: str) -> Any:
        if response.status_code in (401, 403):
            raise PlatformError(f"{what}: refused (HTTP {response.status_code})", "refused")
        if response.status_code != 200:
            raise PlatformError(f"{what} failed: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise PlatformError(f"{what}: answer is not JSON", "bad_answer") from None

    # -- appointments (预约) ------------------------------------------------------------------------
    def bookable_items(self) -> list[dict[str, Any]]:
        """Items with slots in the coming days: ``{item_id, kinds, villages}`` each."""
        return self._items(self._get_params("/api/v1/appointments/items", {}, {}), "bookable items")

    def appointment_slots(self, item_id: str, kind: str, village: str | None = None) -> list[dict[str, Any]]:
        """An item's slots of one kind (and village for a home visit), soonest first; full ones have free 0."""
        params = {"item_id": item_id, "kind": kind}
        if village:
            params["village"] = village
        return self._items(self._get_params("/api/v1/appointments/slots", params, {}), "slots")

    def book_appointment(self, holder: CardHolder, slot_id: int, item_id: str, phone: str,
                         address: str | None = None) -> dict[str, Any]:
        """Book a slot for the card holder: the booking with the item's notice, or ``SlotTakenError``."""
        id_number = subject_of(holder)
        body: dict[str, Any] = {"slot_id": slot_id, "item_id": item_id, "name": holder.display_name,
                                "id_number": id_number, "phone": phone}
        if address:
            body["address"] = address
        response = self._post("/api/v1/appointments", body, {"X-Subject-Id-Number": id_number})
        if response.status_code == 409:
            answer = self._answer_json(response, "booking")
            raise SlotTakenError(str(answer.get("message", "")), str(answer.get("callback_no", "")))
        if response.status_code != 201:
            self._json(response, "booking")   # raises with the status
        return self._answer_json(response, "booking")

    def my_appointments(self, holder: CardHolder) -> list[dict[str, Any]]:
        """The card holder's live bookings that have not begun."""
        id_number = subject_of(holder)
        return self._items(self._get_params("/api/v1/appointments", {"id_number": id_number},
                                            {"X-Subject-Id-Number": id_number}), "bookings")

    def cancel_appointment(self, holder: CardHolder, booking_no: str) -> dict[str, Any]:
        """Cancel one of the card holder's bookings; the booking as it is now."""
        from urllib.parse import quote

        response = self._post(f"/api/v1/appointments/{quote(booking_no, safe='')}/cancel", {},
                              {"X-Subject-Id-Number": subject_of(holder)})
        return self._json(response, "cancel")

    def queued_appointment(self, request_no: str) -> dict[str, Any] | None:
        """What became of a booking this kiosk queued; None while it has not arrived."""
        from urllib.parse import quote

        response = self._get(f"/api/v1/appointment-requests/{quote(request_no, safe='')}")
        if response.status_code == 404:
            return None
        return self._json(response, "queued booking")

    def mobile_link(self, kind: str, target: str) -> str:
        """A link to the phone page for a receipt, booking or item (a random token; never an ID number)."""
        response = self._post("/api/v1/mobile-links", {"kind": kind, "target": target}, {}, idempotent=False)
        if response.status_code != 201:
            self._json(response, "mobile link")
        url = self._answer_json(response, "mobile link").get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise PlatformError("mobile link: unexpected answer", "bad_answer")
        return url

    def _post(self, path: str, body: dict[str, Any], headers: dict[str, str], idempotent: bool = True) -> requests.Response:
        import uuid

        if idempotent:
            headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
        try:
            return self.http.post(self.base_url + path, json=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise PlatformError(f"platform unreachable: {type(exc).__name__}", "unreachable") from exc

    def _items(self, response: requests.Response, what: str) -> list[dict[str, Any]]:
        data = self._json(response, what)
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise PlatformError(f"{what}: unexpected answer", "bad_answer")
        return items

    @staticmethod
    def _answer_json(response: requests.Response, what: str) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            raise PlatformError(f"{what}: answer is not JSON", "bad_answer") from None
        if not isinstance(data, dict):
            raise PlatformError(f"{what}: unexpected answer", "bad_answer")
        return data

    def ping(self) -> bool:
        """Cheap reachability check for the header's network state."""
        try:
            response = self.http.head(self.base_url + "/api/v1/catalogue", timeout=min(self.timeout, 3.0))
        except requests.RequestException:
            return False
        return response.status_code < 500
