"""回访任务: the call-back tasks staff work through, on the administrators' pages under ``/admin/``.

A task is recorded when a booking finds its slot full (at the kiosk, or queued offline and sent
after the citizen left). The list shows each open task with the person masked (``黄**``,
``138****0000``); 查看电话 shows the full number to phone (the look is recorded with the
administrator's name), 已回访 marks it done. Same sign-in, session cookie, form token and
cross-site refusal as the fleet dashboard (``backend.fleet.dashboard``).
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from backend.appointments import CALLBACK_REASONS, close_callback, open_callbacks
from backend.db import callback_tasks, catalogue_items
from backend.fleet import dashboard
from backend.people import mask_name

log = logging.getLogger(__name__)

router = APIRouter(prefix="/admin", include_in_schema=False)


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else "*" * max(0, len(phone) - 4) + phone[-4:]


def task_rows(db) -> list[dict]:
    with db.read() as conn:
        names = dict(conn.execute(sa.select(catalogue_items.c.id, catalogue_items.c.name)).all())
        tasks = open_callbacks(conn)
    return [{"task_no": t["task_no"], "name": mask_name(t["name"]), "phone": mask_phone(t["phone"]),
             "item": names.get(t["item_id"], t["item_id"]), "reason": CALLBACK_REASONS.get(t["reason"], t["reason"]),
             "kiosk": t["kiosk_id"] or "—", "created_at": t["created_at"]} for t in tasks]


@router.get("/callbacks")
def callbacks_page(request: Request) -> Response:
    session = dashboard._current(request)
    if session is None:
        return dashboard.redirect("/admin/login")
    return dashboard.render("callbacks.html", session=session, refresh=dashboard.REFRESH_S,
                            rows=task_rows(request.app.state.db))


def _task(db, task_no: str) -> dict | None:
    with db.read() as conn:
        row = conn.execute(sa.select(callback_tasks).where(callback_tasks.c.task_no == task_no[:40])).mappings().first()
    return None if row is None else dict(row)


@router.post("/callbacks/{task_no}/phone")
def callback_phone(request: Request, task_no: str, csrf: str = Form("")) -> Response:
    """The full number, to phone the citizen; the look is on the administrators' record."""
    session = dashboard._current(request)
    refused = dashboard._check_post(request, session, csrf)
    if refused is not None or session is None:
        return refused or dashboard._refused(None, "未登录或登录已过期，请重新登录。", 401)
    task = _task(request.app.state.db, task_no)
    if task is None or task["status"] != "open":
        return dashboard._refused(session, "没有这个待回访任务。", 404)
    dashboard._admins(request).record_action(session.admin, "callback_phone", task["task_no"])
    log.info("call-back task %s: %s looked up the phone number", task["task_no"], dashboard._loggable(session.admin))
    return dashboard.render("callback_phone.html", session=session, task=task, name=mask_name(task["name"]))


@router.post("/callbacks/{task_no}/done")
def callback_done(request: Request, task_no: str, csrf: str = Form("")) -> Response:
    session = dashboard._current(request)
    refused = dashboard._check_post(request, session, csrf)
    if refused is not None or session is None:
        return refused or dashboard._refused(None, "未登录或登录已过期，请重新登录。", 401)
    db = request.app.state.db
    with db.write() as conn:
        closed = close_callback(conn, task_no[:40])
    admins = dashboard._admins(request)
    if not closed:
        admins.set_flash(session, "这个任务已处理过或不存在。")
        return dashboard.redirect("/admin/callbacks")
    admins.record_action(session.admin, "callback_done", task_no[:40])
    log.info("call-back task %s marked done by %s", task_no[:40], dashboard._loggable(session.admin))
    admins.set_flash(session, f"已标记回访：{task_no[:40]}")
    return dashboard.redirect("/admin/callbacks")
