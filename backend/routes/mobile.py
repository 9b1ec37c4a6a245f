"""Continue on the phone (掌上办): the kiosk mints a link; the platform serves small pages for it.

* ``POST /api/v1/mobile-links`` ``{"kind": "application" | "booking" | "notice", "target": ...}``
  (kiosk token) — 201 ``{url, kind, target, expires_at}``; ``target`` is a receipt number, a
  booking number or an item id, and must exist (404 otherwise).
* ``POST /api/v1/mobile-links`` ``{"kind": "unfinished", "item_id": ..., "missing": [...],
  "from_licences": [...]}`` — a submission the citizen could not finish at the kiosk (手机继续办):
  the platform keeps the item and the materials' names (nothing personal) and links to a page that
  lists what is still missing, which materials the platform already holds, and the notice.
* ``GET /m/{token}`` (public) — the page: an application's progress (applicant masked), a
  booking (time, place, what to bring, a cancel button) or an item's one-time notice. Plain HTML
  with inline styles, no script, readable on a cheap phone. An unknown or expired token gets a
  plain page that shows nothing (404).
* ``POST /m/{token}/cancel`` (public, form field ``form_token``) — cancels the link's booking and
  sends the phone back to the page (303). Refused (403) without the link's form token or from
  another site (``Sec-Fetch-Site`` / ``Origin``).

Pages are never cached and send no referrer (the token is in the address).
"""
from __future__ import annotations

import hmac
import html
import logging
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from backend import api_docs as docs
from backend import numbers
from backend.appointments import (SlotError, SlotTaken, booking, booking_row, cancel, free_slots, item_row, notice,
                                  reschedule)
from backend.applications import load_applications
from backend.auth import KioskIdentity, require_kiosk
from backend.bodies import read_body
from backend.clock import local_iso
from backend.db import applications
from backend.idempotency import json_response, render_json
from backend.mobile_links import KINDS, mint, resolve
from backend.people import mask_name

log = logging.getLogger(__name__)

router = APIRouter(dependencies=[Depends(require_kiosk)])
public_router = APIRouter()  # mounted at the root, without a token
MAX_FORM_BYTES = 2048
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}
GONE = "此链接无效或已过期。请在自助终端或窗口重新获取，或拨打 12345 咨询。"


class MobileLinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"kind": "notice", "target": "YL-003"}]})

    kind: Literal["application", "booking", "notice", "unfinished"]
    target: str | None = Field(None, max_length=40, description="receipt number, booking number or item id "
                                                               "(not for unfinished)")
    item_id: str | None = Field(None, max_length=32, description="unfinished: the item")
    missing: list[str] | None = Field(None, max_length=30, description="unfinished: materials still to bring")
    from_licences: list[str] | None = Field(None, max_length=30, description="unfinished: materials the "
                                                                             "platform holds as licences")


class MobileLink(BaseModel):
    url: str = Field(description="what the QR code holds: the platform's public URL, /m/, a random token")
    kind: str
    target: str
    expires_at: str


docs.register_models(MobileLinkRequest, MobileLink)


def _target_exists(conn: sa.Connection, kind: str, target: str) -> str | None:
    """The canonical target, or None when there is nothing to link to."""
    if kind == "notice":
        return target if item_row(conn, target) is not None else None
    canonical = numbers.canonical(target)
    if canonical is None:
        return None
    if kind == "booking":
        return canonical if booking_row(conn, canonical) is not None else None
    found = conn.execute(sa.select(applications.c.id).where(applications.c.receipt_no == canonical)).first()
    return canonical if found is not None else None


@router.post("/mobile-links", status_code=201, **docs.kiosk_route({
    201: docs.json_answer(MobileLink, "the link for the QR code"),
    404: docs.json_answer(docs.Error, "nothing has this number or id"),
}, write=True, body=docs.json_body(MobileLinkRequest), description="A link for the phone, valid 7 days. Each "
    "call makes a new link (nothing else changes), so it needs no Idempotency-Key."))
async def post_link(request: Request, kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    body = (await read_body(request, allow_files=False)).json
    if isinstance(body, dict) and body.get("kind") == "unfinished":
        return await unfinished_link(request, body, kiosk)
    if not isinstance(body, dict) or set(body) - {"kind", "target"}:
        raise HTTPException(422, "a link request is {kind, target}")
    kind, target = body.get("kind"), body.get("target")
    if kind not in KINDS:
        raise HTTPException(422, "kind must be application, booking, notice or unfinished")
    if not isinstance(target, str) or not 1 <= len(target) <= 40:
        raise HTTPException(422, "target must be a receipt number, a booking number or an item id")
    db = request.app.state.db
    base = request.app.state.public_url

    def work() -> dict | None:
        with db.write() as conn:
            canonical = _target_exists(conn, kind, target)
            if canonical is None:
                return None
            token, expires_at = mint(conn, kind, canonical, kiosk.id, db.clock())
        return {"url": f"{base}/m/{token}", "kind": kind, "target": canonical, "expires_at": local_iso(expires_at)}

    made = await run_in_threadpool(work)
    if made is None:
        if kind != "notice":
            await run_in_threadpool(request.app.state.access_policy.receipt_miss, db, kiosk.id)
        raise HTTPException(404, f"no {kind} has this {'id' if kind == 'notice' else 'number'}")
    log.info("mobile link for a %s made at kiosk %s", kind, kiosk.id)
    return json_response(201, render_json(made))


async def unfinished_link(request: Request, body: dict, kiosk: KioskIdentity) -> Response:
    """The link for a submission left unfinished: what is missing, kept without anything personal."""
    from backend.licences import record_unfinished
    from backend.validation import refuse

    if set(body) - {"kind", "item_id", "missing", "from_licences"}:
        raise refuse("an unfinished link request is {kind, item_id, missing, from_licences}")
    item_id = body.get("item_id")
    db = request.app.state.db
    base = request.app.state.public_url

    def work() -> dict:
        with db.write() as conn:
            item = item_row(conn, item_id) if isinstance(item_id, str) and len(item_id) <= 32 else None
            if item is None:
                raise HTTPException(404, "no item has this id")
            number = record_unfinished(conn, dict(item), body.get("missing"), body.get("from_licences", []),
                                       kiosk.id, db.clock())
            token, expires_at = mint(conn, "unfinished", number, kiosk.id, db.clock())
        return {"url": f"{base}/m/{token}", "kind": "unfinished", "target": number,
                "expires_at": local_iso(expires_at)}

    made = await run_in_threadpool(work)
    log.info("mobile link for an unfinished submission made at kiosk %s", kiosk.id)
    return json_response(201, render_json(made))


class ResolvedLink(BaseModel):
    kind: str
    target: str = Field(description="receipt number, booking number, item id or unfinished submission's number")
    expires_at: str


docs.register_models(ResolvedLink)


@router.get("/mobile-links/{token}", **docs.kiosk_route({
    200: docs.json_answer(ResolvedLink, "what the link opens"),
    404: docs.json_answer(docs.Error, "no live link has this token"),
}, description="What a phone link scanned at a kiosk opens (a receipt's QR code brings its progress up). "
    "Unknown tokens count toward the kiosk's hourly limit of unknown numbers."))
async def get_link(token: str, request: Request, kiosk: KioskIdentity = Depends(require_kiosk)) -> Response:
    db = request.app.state.db

    def work() -> dict | None:
        with db.read() as conn:
            return resolve(conn, token, db.clock())

    found = await run_in_threadpool(work)
    if found is None:
        await run_in_threadpool(request.app.state.access_policy.receipt_miss, db, kiosk.id)
        raise HTTPException(404, "no live link has this token")
    return json_response(200, render_json({"kind": found["kind"], "target": found["target"],
                                           "expires_at": local_iso(found["expires_at"])}))


# -- the pages -------------------------------------------------------------------------------------

STYLE = ("body{font-family:sans-serif;font-size:18px;line-height:1.5;margin:0;padding:12px;color:#111;"
         "background:#fff;max-width:40em}h1{font-size:22px;margin:.2em 0 .5em}h2{font-size:19px;margin:1em 0 .3em}"
         "table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:4px;"
         "border-bottom:1px solid #ccc}th{width:6em;font-weight:normal;color:#444}li{margin:.3em 0}"
         ".big{font-size:22px;font-weight:bold}.note{color:#444;font-size:16px}"
         "button{font-size:20px;padding:12px 18px;width:100%;background:#b00;color:#fff;border:0;border-radius:6px}")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str) -> str:
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<meta name=\"referrer\" content=\"no-referrer\"><title>{esc(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{esc(title)}</h1>{body}</body></html>")


def rows(pairs: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs) + "</table>"


def friendly(iso: str) -> str:
    """``2026-12-02T09:00:00+08:00`` → ``2026年12月2日 09:00``."""
    day, time = iso[:10], iso[11:16]
    year, month, date = day.split("-")
    return f"{year}年{int(month)}月{int(date)}日 {time}"


def notice_html(found: dict) -> str:
    items = "".join(
        f"<li>{esc(m['name'])}（{esc(m['kind_label'])} {esc(m['count'])} 份{'' if m['required'] else '，如有'}）"
        + (f"<br><span class=\"note\">{esc(m['note'])}</span>" if m["note"] else "") + "</li>"
        for m in found["materials"])
    return (f"<h2>需要带的材料</h2><ol>{items}</ol><h2>办理条件</h2><p>{esc(found['conditions'])}</p>"
            + rows([("办理部门", found["department"]), ("收费", found["fees"]),
                    ("办结时限", f"{found['time_limit_days']} 个工作日" if found["time_limit_days"] else "即办"),
                    ("咨询电话", found["phone"])]))


def notice_where_html(conn: sa.Connection, item: dict) -> str:
    """The notice's steps and where to go (就近办): each place that handles the item, its address,
    hours and phone; the 24-hour self-service zones when a kiosk can take the item."""
    from backend.catalogue import PLACE_KINDS, place_handles
    from backend.db import catalogue_documents

    places = conn.execute(sa.select(catalogue_documents.c.document)
                          .where(catalogue_documents.c.name == "places")).scalar() or []
    order = ("town", "village", "self_service", "county")
    found = sorted((p for p in places if place_handles(p, item)),
                   key=lambda p: order.index(p["kind"]) if p["kind"] in order else len(PLACE_KINDS))
    steps = "".join(f"<p>{number}. {esc(step)}</p>" for number, step in enumerate(item["steps"], 1))
    where = "".join(f"<li><b>{esc(p['name'])}</b><br>地址：{esc(p['address'])}<br>开放时间：{esc(p['hours'])}"
                    f"<br>电话：{esc(p['phone'])}</li>" for p in found)
    return f"<h2>办理流程</h2>{steps}" + (f"<h2>办理地点（就近办）</h2><ul>{where}</ul>" if where else "")


def application_page(found: dict) -> str:
    history = "".join(f"<li>{esc(friendly(h['at']))} {esc(h['status'])}"
                      + (f"<br><span class=\"note\">{esc(h['note'])}</span>" if h["note"] else "") + "</li>"
                      for h in found["history"])
    body = (f"<p class=\"big\">{esc(found['status'])}</p>"
            + rows([("事项", found["item_name"]), ("受理编号", found["receipt_no"]), ("申请人", found["applicant"]["name"]),
                    ("受理时间", friendly(found["received_at"])), ("承诺办结", found["deadline"]),
                    ("办理部门", found["department"]), ("取件方式", found["delivery"]["label"])])
            + f"<h2>办理进度</h2><ol>{history}</ol>")
    return page("办件进度", body)


def change_form(token: str, form_token: str, alternatives: list[dict]) -> str:
    """改约: the other free times of the same item, way and village, one big choice each."""
    if not alternatives:
        return "<h2>改约</h2><p class=\"note\">最近7天没有其他空闲时段。</p>"
    choices = "".join(
        "<label style=\"display:block;padding:10px 8px;margin:6px 0;border:1px solid #888;border-radius:6px\">"
        f"<input type=\"radio\" name=\"slot_id\" value=\"{esc(s['slot_id'])}\" required "
        "style=\"width:1.3em;height:1.3em;vertical-align:middle\"> "
        f"{esc(friendly(s['starts_at']))}–{esc(s['ends_at'][11:16])}（还可约{esc(s['free'])}人）</label>"
        for s in alternatives)
    return (f"<h2>改约：选另一个时间</h2><form method=\"post\" action=\"/m/{esc(token)}/change\">"
            f"<input type=\"hidden\" name=\"form_token\" value=\"{esc(form_token)}\">{choices}"
            "<p><button type=\"submit\" style=\"background:#0a4d99\">改到选中的时间</button></p></form>")


def booking_page(found: dict, name: str, token: str, form_token: str, message: str | None,
                 alternatives: list[dict] | None = None) -> str:
    slot = found["slot"]
    where = slot["centre"] + (f"（上门：{slot['village']}）" if slot["village"] else "")
    body = (f"<p class=\"big\">{esc(found['status_label'])}</p>"
            + (f"<p>{esc(message)}</p>" if message else "")
            + rows([("事项", found["notice"]["item_name"] if found["notice"] else slot["item_id"]),
                    ("时间", f"{friendly(slot['starts_at'])}–{slot['ends_at'][11:16]}"), ("地点", where),
                    ("方式", slot["kind_label"]), ("预约人", name), ("预约编号", found["booking_no"])]))
    if found["status"] == "booked":
        body += (f"<form method=\"post\" action=\"/m/{esc(token)}/cancel\">"
                 f"<input type=\"hidden\" name=\"form_token\" value=\"{esc(form_token)}\">"
                 "<p><button type=\"submit\">取消这个预约</button></p></form>")
        body += change_form(token, form_token, alternatives or [])
    if found["notice"]:
        body += notice_html(found["notice"])
    return page("我的预约", body)


REQUEST_KINDS = {"home_visit": "上门办", "proxy": "帮代办"}
REQUEST_STATUS = {"registered": "已登记，工作人员将在1个工作日内电话联系您"}


def request_page(found: dict, item: Any) -> str:
    """A request for a home visit or proxy service: its state and, with an item, what to prepare."""
    body = (f"<p class=\"big\">{esc(REQUEST_STATUS.get(found['status'], found['status']))}</p>"
            + rows([("服务类型", REQUEST_KINDS.get(found["kind"], found["kind"])),
                    ("申请编号", found["request_no"]), ("申请人", mask_name(found["name"])),
                    ("办理事项", item["name"] if item else "由工作人员电话确认"),
                    ("期望时间", found["preferred_time"] or "—"),
                    ("提交时间", friendly(local_iso(found["created_at"])))]))
    if item is not None:
        body += notice_html(notice(item))
    return page("服务申请", body)


def unfinished_page(found: dict, item: Any, where: str = "") -> str:
    """What a citizen who left a submission unfinished still has to bring, and the notice."""
    missing = "".join(f"<li class=\"big\">{esc(name)}</li>" for name in found["missing"])
    body = (f"<p>事项：{esc(item['name'])}</p><h2>还需要补交的材料</h2><ol>{missing}</ol>")
    if found["from_licences"]:
        held = "".join(f"<li>{esc(name)}</li>" for name in found["from_licences"])
        body += f"<h2>已有电子证照，无需提交</h2><ul>{held}</ul>"
    body += ("<p class=\"note\">材料备齐后，请带上身份证到任一自助终端或便民服务窗口重新提交；"
             "有疑问请拨打 12345。</p>")
    return page("还差这些材料", body + notice_html(notice(item)) + where)


def alternatives(conn: sa.Connection, found: dict | None, now: Any) -> list[dict]:
    """Free slots a live booking may move to: same item, way and village, not its own."""
    if found is None or found["status"] != "booked":
        return []
    slot = found["slot"]
    return [s for s in free_slots(conn, slot["item_id"], now, kind=slot["kind"], village=slot["village"])
            if s["free"] > 0 and s["slot_id"] != slot["slot_id"]]


def booking_target(conn: sa.Connection, link: dict) -> str | None:
    """The booking a link opens: its own, or the one a booking queued offline became."""
    if link["kind"] == "booking":
        return link["target"]
    if link["kind"] == "appointment_request":
        from backend.appointments import request_outcome

        outcome = request_outcome(conn, link["target"])
        return outcome["booking_no"] if outcome is not None else None
    return None


def queued_page(conn: sa.Connection, request_no: str) -> str | None:
    """A booking queued offline whose time was taken before it arrived: said plainly, with what next."""
    from backend.appointments import request_outcome

    outcome = request_outcome(conn, request_no)
    if outcome is None:
        return None
    body = ("<p class=\"big\">预约没有成功</p><p>您在自助终端预约时网络不通，预约送到时这个时段已经约满了。"
            "工作人员会打电话和您另约时间；也可以拨打 12345 咨询。</p>"
            + rows([("待确认编号", request_no), ("回访编号", outcome["callback_no"] or "—")]))
    return page("我的预约", body)


def render(db: Any, token: str, message: str | None = None) -> str | None:
    with db.read() as conn:
        link = resolve(conn, token, db.clock())
        if link is None:
            return None
        if link["kind"] == "notice":
            item = item_row(conn, link["target"])
            return None if item is None else page(f"一次性告知：{item['name']}",
                                                  notice_html(notice(item)) + notice_where_html(conn, item))
        if link["kind"] == "request":
            from backend.db import service_requests

            row = conn.execute(sa.select(service_requests)
                               .where(service_requests.c.request_no == link["target"])).mappings().first()
            item = item_row(conn, row["item_id"]) if row is not None and row["item_id"] else None
            return None if row is None else request_page(dict(row), item)  # staff come or act: no places
        if link["kind"] == "unfinished":
            from backend.licences import unfinished_row

            found = unfinished_row(conn, link["target"])
            item = item_row(conn, found["item_id"]) if found is not None else None
            return None if item is None else unfinished_page(found, item,  # type: ignore[arg-type]
                                                             notice_where_html(conn, item))
        if link["kind"] == "appointment_request" and booking_target(conn, link) is None:
            return queued_page(conn, link["target"])
        if link["kind"] in ("booking", "appointment_request"):
            target = booking_target(conn, link)
            row = booking_row(conn, target) if target else None
            if row is None:
                return None
            found = booking(conn, target)  # type: ignore[arg-type]
            return booking_page(found, mask_name(row["name"]), token,  # type: ignore[arg-type]
                                link["form_token"], message, alternatives(conn, found, db.clock()))
        found = load_applications(conn, applications.c.receipt_no == link["target"])
        return application_page(found[0]) if found else None


def html_answer(text: str | None) -> Response:
    if text is None:
        return Response(page("链接无效", f"<p>{esc(GONE)}</p>"), status_code=404, media_type="text/html",
                        headers=PAGE_HEADERS)
    return Response(text, media_type="text/html", headers=PAGE_HEADERS)


HTML = {"text/html": {"schema": {"type": "string"}}}


@public_router.get("/m/{token}", responses={
    200: {"description": "the page", "content": HTML},
    404: {"description": "unknown or expired link: a plain page without data", "content": HTML},
})
async def mobile_page(token: str, request: Request) -> Response:
    """The page a printed QR code opens on the citizen's phone."""
    return html_answer(await run_in_threadpool(render, request.app.state.db, token))


def _cross_site(request: Request) -> bool:
    """Posted from another site: by the browser's ``Sec-Fetch-Site``, else by ``Origin``.

    The pages send no referrer, so a browser's own form post may carry ``Origin: null``; the
    link's form token is what proves the post came from its page.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = urlsplit(str(request.base_url))
        theirs = urlsplit(origin)
        return (theirs.scheme, theirs.netloc) != (own.scheme, own.netloc)
    return False


async def _booking_form(request: Request, title: str, hint: str) -> dict[str, list[str]] | Response:
    """The form a booking page's button posted, or the page saying why it was refused: not a form
    (415, with ``hint`` on what to do) or larger than the limit (413)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return Response(page(title, f"<p>{esc(hint)}</p>"), status_code=415, media_type="text/html",
                        headers=PAGE_HEADERS)
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM_BYTES:
            return Response(page(title, "<p>请求过大。</p>"), status_code=413, media_type="text/html",
                            headers=PAGE_HEADERS)
    try:
        return parse_qs(raw.decode("utf-8", "replace"), max_num_fields=10)
    except ValueError:  # too many fields
        return {}


def _posted_booking(conn: Any, token: str, sent: str, cross_site: bool, now: Any) -> tuple[int, Any]:
    """The booking a phone's form acts on: ``(0, booking)``, or ``(404, None)`` for an unknown or
    expired link or one that is not a booking's, ``(403, None)`` for a form posted from another
    site or without the page's own form token."""
    link = resolve(conn, token, now)
    target = booking_target(conn, link) if link is not None else None
    if link is None or target is None:
        return 404, None
    if cross_site or not hmac.compare_digest(sent.encode("utf-8"), link["form_token"].encode("utf-8")):
        return 403, None
    return 0, target


@public_router.post("/m/{token}/cancel", responses={
    303: {"description": "cancelled (or already cancelled): back to the page"},
    403: {"description": "no valid form token, or posted from another site", "content": HTML},
    404: {"description": "unknown or expired link, or not a booking", "content": HTML},
    413: {"description": "the form is larger than the limit", "content": HTML},
    415: {"description": "not a form", "content": HTML},
    422: {"description": "the booking can no longer be cancelled", "content": HTML},
}, openapi_extra={"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
    "schema": {"type": "object", "properties": {"form_token": {"type": "string", "maxLength": 64}},
               "required": ["form_token"]}}}}})
async def mobile_cancel(token: str, request: Request) -> Response:
    """The booking page's cancel button."""
    form = await _booking_form(request, "无法取消", "请在预约页面上点“取消这个预约”。")
    if isinstance(form, Response):
        return form
    sent = (form.get("form_token") or [""])[0]
    db = request.app.state.db
    cross_site = _cross_site(request)

    def work() -> int:
        with db.write() as conn:
            refused, target = _posted_booking(conn, token, sent, cross_site, db.clock())
            if refused:
                return refused
            try:
                cancel(conn, target, db.clock())
            except SlotError:
                return 422
            log.info("booking %s cancelled on the phone", target)
            return 303

    status = await run_in_threadpool(work)
    if status == 303:
        return RedirectResponse(f"/m/{token}", status_code=303, headers=PAGE_HEADERS)
    if status == 404:
        return html_answer(None)
    text = ("这个预约已经开始，不能再取消。" if status == 422 else "请在预约页面上点“取消这个预约”。")
    return Response(page("无法取消", f"<p>{esc(text)}</p>"), status_code=status, media_type="text/html",
                    headers=PAGE_HEADERS)


@public_router.post("/m/{token}/change", responses={
    303: {"description": "moved to the chosen time: back to the page"},
    403: {"description": "no valid form token, or posted from another site", "content": HTML},
    404: {"description": "unknown or expired link, or not a booking", "content": HTML},
    409: {"description": "the chosen time filled up meanwhile: the page again, saying so", "content": HTML},
    413: {"description": "the form is larger than the limit", "content": HTML},
    415: {"description": "not a form", "content": HTML},
    422: {"description": "no time chosen, or the booking can no longer be changed", "content": HTML},
}, openapi_extra={"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
    "schema": {"type": "object", "properties": {"form_token": {"type": "string", "maxLength": 64},
                                                "slot_id": {"type": "integer"}},
               "required": ["form_token", "slot_id"]}}}}})
async def mobile_change(token: str, request: Request) -> Response:
    """The booking page's 改约 form: move the booking to another free time."""
    form = await _booking_form(request, "无法改约", "请在预约页面上选择时间后点“改到选中的时间”。")
    if isinstance(form, Response):
        return form
    sent = (form.get("form_token") or [""])[0]
    chosen = (form.get("slot_id") or [""])[0]
    db = request.app.state.db
    cross_site = _cross_site(request)

    def work() -> int:
        with db.write() as conn:
            refused, target = _posted_booking(conn, token, sent, cross_site, db.clock())
            if refused:
                return refused
            if not chosen.isdigit() or not 1 <= int(chosen) < 2**63:
                return 422
            try:
                reschedule(conn, target, int(chosen), db.clock())
            except SlotTaken:
                return 409
            except SlotError:
                return 422
            log.info("booking %s moved to slot %s on the phone", target, chosen)
            return 303

    status = await run_in_threadpool(work)
    if status == 303:
        return RedirectResponse(f"/m/{token}", status_code=303, headers=PAGE_HEADERS)
    if status == 404:
        return html_answer(None)
    if status == 409:
        again = await run_in_threadpool(render, db, token, "您选的时间刚刚约满了，请另选一个时间。")
        return Response(again or "", status_code=409, media_type="text/html", headers=PAGE_HEADERS)
    text = ("请先选一个时间，或这个预约已经开始、已取消，不能再改。" if status == 422
            else "请在预约页面上选择时间后点“改到选中的时间”。")
    return Response(page("无法改约", f"<p>{esc(text)}</p>"), status_code=status, media_type="text/html",
                    headers=PAGE_HEADERS)
