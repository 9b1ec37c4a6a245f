"""The demo's pretend payment page: what the QR code on the kiosk opens when the platform runs as
``kiosk backend --demo``.

``GET /demo-pay/{ref}`` shows the order (item, amount, status) and four buttons that play the
reference provider's notifications, exactly as ``backend.routes.payment_provider_test`` does:
支付 (pay), 支付失败 (fail), 让它过期 (expire) and 再付一次 (a second payment, which the platform
refunds). ``POST /demo-pay/{ref}`` takes ``event=pay|fail|expire|pay_again`` as a form.

Mounted only by the demo (``build_app(demo_payments=True)``), which listens on loopback only; each
request is refused unless it comes from a loopback address as well. A real platform never mounts
it: a real provider's own page takes the payment on the citizen's phone.
"""
from __future__ import annotations

import ipaddress
import logging
import secrets
from html import escape
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from backend.payments import PaymentError, apply_event, order_by_ref, order_view

log = logging.getLogger(__name__)

router = APIRouter()   # nothing under /api/v1: the page is at the root
public_router = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 512
EVENTS = {"pay": "pay", "fail": "fail", "expire": "expire", "pay_again": "pay"}
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
           "X-Content-Type-Options": "nosniff",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                      "frame-ancestors 'none'; base-uri 'none'"}
STYLE = ("body{font-family:sans-serif;margin:1em;font-size:20px;max-width:32em}"
         "h1{font-size:1.4em}.amount{font-size:2.4em;font-weight:bold;color:#0a4d99}"
         "button{font-size:1.1em;padding:.6em 1em;margin:.3em .3em .3em 0;min-width:8em}"
         ".note{color:#555;font-size:.85em}")


def loopback(request: Request) -> bool:
    host = request.client.host if request.client is not None else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def page(title: str, body: str, status: int = 200) -> Response:
    text = (f"<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
            f"content=\"width=device-width,initial-scale=1\"><title>{escape(title)}</title><style>{STYLE}</style>"
            f"</head><body><h1>{escape(title)}</h1>{body}</body></html>")
    return Response(text, status_code=status, media_type="text/html", headers=HEADERS)


def refused() -> Response:
    return page("演示支付页", "<p>演示支付页只对本机开放。</p>", 403)


def unknown() -> Response:
    return page("演示支付页", "<p>没有这笔订单。</p>", 404)


def render(order: dict, ref: str, outcome: str = "") -> Response:
    rows = (f"<p>订单号：{escape(order['order_no'])}</p><p>事项：{escape(order['item_name'])}</p>"
            f"<p class=\"amount\">¥{escape(order['amount'])}</p>"
            f"<p>状态：<b id=\"status\">{escape(order['status_label'])}</b></p>")
    if order["refund_due_fen"]:
        rows += f"<p>待退款：{order['refund_due_fen'] // 100}.{order['refund_due_fen'] % 100:02d} 元（重复或金额不符的付款，不会扣留）</p>"
    if outcome:
        rows += f"<p class=\"note\">平台处理结果：{escape(outcome)}</p>"
    buttons = "".join(f"<button name=\"event\" value=\"{value}\">{label}</button>" for value, label in
                      (("pay", "支付"), ("fail", "支付失败"), ("expire", "让它过期"), ("pay_again", "再付一次")))
    form = f"<form method=\"post\" action=\"/demo-pay/{escape(ref)}\">{buttons}</form>"
    note = "<p class=\"note\">演示用：真实的支付在支付机构的页面上完成，自助终端不接触银行卡信息。</p>"
    return page("演示支付页", rows + form + note)


@public_router.get("/demo-pay/{ref}")
async def demo_page(ref: str, request: Request, done: str = "") -> Response:
    if not loopback(request):
        return refused()
    db = request.app.state.db

    def load() -> dict | None:
        with db.read() as conn:
            row = order_by_ref(conn, ref[:64])
        return None if row is None else order_view(row)

    order = await run_in_threadpool(load)
    return unknown() if order is None else render(order, ref, done[:40])


@public_router.post("/demo-pay/{ref}")
async def demo_event(ref: str, request: Request) -> Response:
    if not loopback(request):
        return refused()
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            return page("演示支付页", "<p>请求过大。</p>", 413)
    try:
        form = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=5)
    except ValueError:
        form = {}
    choice = (form.get("event") or [""])[0]
    if choice not in EVENTS:
        return page("演示支付页", "<p>请点页面上的按钮。</p>", 422)
    db = request.app.state.db

    def work() -> dict | None:
        with db.write() as conn:
            row = order_by_ref(conn, ref[:64])
            if row is None:
                return None
            # one transaction per payment: 再付一次 is a second transaction, refunded by the platform
            transaction = row["paid_transaction"] if choice == "pay" and row["paid_transaction"] else \
                "DEMO" + secrets.token_hex(8).upper()
            try:
                outcome = apply_event(conn, row["order_no"], EVENTS[choice], transaction, row["amount_fen"],
                                      db.clock())
            except PaymentError as exc:
                outcome = str(exc)
            log.info("demo payment page: order %s, %s: %s", row["order_no"], choice, outcome)
            return {"outcome": outcome}

    done = await run_in_threadpool(work)
    if done is None:
        return unknown()
    return RedirectResponse(f"/demo-pay/{ref}?done={done['outcome']}", status_code=303, headers=HEADERS)
