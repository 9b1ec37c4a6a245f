"""The county administrator's fleet dashboard: server-rendered pages under ``/admin/``.

It reads the fleet tables (``backend.fleet.tables``) and steers rollouts only through
:meth:`backend.fleet.service.Fleet.control`, the operation ``kiosk fleet pause|resume|abort`` uses.
Publishing is not offered here: a document is signed with the targets key, which the administrator
keeps offline, so it is published with ``kiosk fleet publish`` on the machine that holds the key.

Security: accounts and sessions are in ``backend.fleet.admins``. The session cookie is HttpOnly,
SameSite=Strict, scoped to ``/admin`` and Secure over HTTPS; every POST carries the session's form
token (the sign-in form a cookie-bound one) and a cross-site ``Origin``/``Sec-Fetch-Site`` is
refused. Everything a kiosk sends (ids, versions, device names, reasons) is escaped by the
templates' autoescaping and by :func:`escape` in the charts; the Content-Security-Policy allows
no script at all.
"""
from __future__ import annotations

import functools
import hmac
import html
import logging
import re
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.db import Database, as_utc, kiosks
from backend.fleet import tables as t
from backend.fleet.admins import Admins, Session
from backend.fleet.service import ONLINE_AFTER, FleetError

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_COOKIE = "kiosk_admin_session"
LOGIN_COOKIE = "kiosk_admin_login"
COOKIE_PATH = "/admin"
HEARTBEAT_POINTS = 288  # a day of heartbeats at one every five minutes
REFRESH_S = 30  # pages that show the fleet reload themselves (no script: a meta refresh)
BEIJING = timezone(timedelta(hours=8), "北京时间")

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")

ROLLOUT_STATES = {"running": "进行中", "paused": "已暂停", "halted": "已自动停止", "aborted": "已中止",
                  "completed": "已完成", "superseded": "已被新版本取代"}
WAVE_STATES = {"pending": "未开始", "active": "进行中", "passed": "已通过", "halted": "已停止"}
REPORT_KINDS = {"applied": "已应用", "rolled_back": "已回滚", "refused": "已拒绝"}
DEVICE_NAMES = {"receipt_printer": "小票打印机", "printer": "小票打印机", "a4_printer": "A4 打印机",
                "docprinter": "A4 打印机", "idcard": "身份证阅读器", "camera": "高拍仪", "qr": "扫码器",
                "platform": "平台连接", "ui": "界面"}
ACTIONS = {"pause": "暂停", "resume": "继续", "abort": "中止"}
ACTION_ALLOWED = {"pause": ("running",), "resume": ("paused", "halted"), "abort": ("running", "paused", "halted")}

# Members of a rollout, by what became of them (drawn in this order, with these colours).
CATEGORIES = (("healthy", "已应用且健康", "#2e7d32"), ("unhealthy", "已应用但异常", "#ef6c00"),
              ("rolled_back", "已回滚", "#c62828"), ("refused", "已拒绝", "#6a1b9a"),
              ("waiting", "等待应用", "#90caf9"), ("not_open", "未开放", "#e0e0e0"))


# -- formatting ------------------------------------------------------------------------------------

def local_time(value: datetime | None, with_date: bool = True) -> str:
    if value is None:
        return "—"
    local = as_utc(value).astimezone(BEIJING)
    return local.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%m-%d %H:%M")


def age(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "从未"
    seconds = int((now - as_utc(value)).total_seconds())
    if seconds < 60:
        return "刚刚"
    if seconds < 3600:
        return f"{seconds // 60} 分钟前"
    if seconds < 86400:
        return f"{seconds // 3600} 小时前"
    return f"{seconds // 86400} 天前"


def versions(value: Any) -> str:
    """``{scope: version}`` as ``county=3, town/pingan=2``."""
    if not isinstance(value, dict) or not value:
        return "—"
    return ", ".join(f"{scope}={version}" for scope, version in sorted(value.items(), key=lambda kv: str(kv[0])))


# The controller's reasons and log lines (English, as ``kiosk fleet status`` prints them) in Chinese;
# a line that matches none is shown as it is.
_EXPLAINED = (
    (re.compile(r"^published$"), lambda m: "已发布"),
    (re.compile(r"^published (\S+); wave 0 opened$"), lambda m: f"已发布 {m[1]}；金丝雀波次开始"),
    (re.compile(r"^(pause|resume|abort) by the administrator$"),
     lambda m: f"管理员{ACTIONS[m[1]]}"),
    (re.compile(r"^superseded by version (\d+)$"), lambda m: f"被版本 {m[1]} 取代"),
    (re.compile(r"^every wave applied healthy$"), lambda m: "所有波次均已健康应用"),
    (re.compile(r"^(\d+) of (\d+) kiosks unhealthy or rolled back \(more than (\d+)%\)$"),
     lambda m: f"{m[2]} 台中有 {m[1]} 台异常或已回滚（超过 {m[3]}%）"),
    (re.compile(r"^wave (\d+) passed \((\d+)/(\d+) applied healthy\); wave (\d+) opened$"),
     lambda m: f"第 {m[1]} 波通过（{m[2]}/{m[3]} 台健康应用）；第 {m[4]} 波开始"),
)


def explain(text: str) -> str:
    """A controller reason or log line in Chinese (``state: reason`` lines too)."""
    head, sep, rest = text.partition(": ")
    if sep and head in ROLLOUT_STATES:
        return f"{ROLLOUT_STATES[head]}：{explain(rest)}"
    for pattern, words in _EXPLAINED:
        match = pattern.match(text)
        if match:
            return words(match)
    return text


def device_name(name: str) -> str:
    return DEVICE_NAMES.get(name, name)


DEVICE_STATES = {"ok": "正常", "fault": "故障", "missing": "未连接", "offline": "离线", "busy": "忙",
                 "paper_low": "纸将用尽", "paper_out": "缺纸", "unknown": "未知"}


def device_state(state: Any) -> str:
    return DEVICE_STATES.get(state, str(state)) if isinstance(state, str) else str(state)


def path_segment(value: Any) -> str:
    return quote(str(value), safe="")


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    """The templates (Jinja2, autoescaping every value), loaded on the first page served."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(local_time=local_time, versions=versions, device_name=device_name,
                       device_state=device_state, seg=path_segment, explain=explain)
    env.globals.update(ROLLOUT_STATES=ROLLOUT_STATES, WAVE_STATES=WAVE_STATES, REPORT_KINDS=REPORT_KINDS,
                       ACTIONS=ACTIONS, ACTION_ALLOWED=ACTION_ALLOWED, CATEGORIES=CATEGORIES)
    return env


class Markup(str):
    """Finished HTML (a chart): the templates insert it as it is (the ``__html__`` protocol)."""

    def __html__(self) -> str:
        return str(self)


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


# -- charts (inline SVG, drawn here) ---------------------------------------------------------------

def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def _num(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def line_chart(series: list[tuple[datetime, float | None]], title: str, unit: str, chart_id: str,
               width: int = 720, height: int = 170) -> Markup:
    """A time series as an SVG line with its points; gaps (None) break the line."""
    left, right, top, bottom = 64, 12, 26, 26
    w, h = width - left - right, height - top - bottom
    known = [(at, v) for at, v in series if v is not None]
    parts = [f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" data-points="{len(known)}" xmlns="http://www.w3.org/2000/svg">',
             f'<title>{escape(title)}</title>',
             f'<text x="{left}" y="16" class="chart-title">{escape(title)}（{escape(unit)}）</text>',
             f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="#fafafa" stroke="#bbb"/>']
    if not known:
        parts.append(f'<text x="{left + w / 2}" y="{top + h / 2}" text-anchor="middle" fill="#777">无数据</text>')
        parts.append("</svg>")
        return Markup("".join(parts))
    t0, t1 = as_utc(series[0][0]), as_utc(series[-1][0])
    span = (t1 - t0).total_seconds()
    top_value = _nice_max(max(v for _, v in known))
    low_value = min(0.0, min(v for _, v in known))
    value_span = top_value - low_value or 1.0

    def xy(at: datetime, v: float) -> tuple[float, float]:
        x = left + (w / 2 if span <= 0 else (as_utc(at) - t0).total_seconds() / span * w)
        y = top + h - (v - low_value) / value_span * h
        return round(x, 1), round(y, 1)

    for fraction in (0, 0.5, 1):
        value = low_value + value_span * fraction
        y = top + h - fraction * h
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y}" y2="{y}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" class="tick">{_num(value)}</text>')
    parts.append(f'<text x="{left}" y="{height - 6}" class="tick">{escape(local_time(t0))}</text>')
    parts.append(f'<text x="{left + w}" y="{height - 6}" text-anchor="end" class="tick">{escape(local_time(t1))}</text>')
    segment: list[str] = []
    segments: list[list[str]] = []
    for at, v in series:
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        x, y = xy(at, v)
        segment.append(f"{x},{y}")
    if segment:
        segments.append(segment)
    for points in segments:
        parts.append(f'<polyline fill="none" stroke="#1565c0" stroke-width="2" points="{" ".join(points)}"/>')
    if len(known) <= 120:
        for at, v in known:
            x, y = xy(at, v)
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="#1565c0">'
                         f'<title>{escape(local_time(at))}：{_num(v)} {escape(unit)}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


def health_strip(series: list[tuple[datetime, bool | None]], chart_id: str, width: int = 720) -> Markup:
    """One mark per heartbeat: green healthy, red not, grey unknown."""
    left, right, height = 64, 12, 46
    w = width - left - right
    parts = [f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" data-points="{len(series)}" xmlns="http://www.w3.org/2000/svg">',
             '<title>每次心跳的健康状态</title>',
             '<text x="0" y="30" class="tick">健康</text>',
             f'<rect x="{left}" y="14" width="{w}" height="24" fill="#fafafa" stroke="#bbb"/>']
    if series:
        t0, t1 = as_utc(series[0][0]), as_utc(series[-1][0])
        span = (t1 - t0).total_seconds()
        mark = max(2.0, min(12.0, w / max(len(series), 1)))
        for at, healthy in series:
            x = left + (w / 2 if span <= 0 else (as_utc(at) - t0).total_seconds() / span * (w - mark))
            colour, word = ("#2e7d32", "健康") if healthy else (("#c62828", "异常") if healthy is False else ("#9e9e9e", "未知"))
            parts.append(f'<rect x="{round(x, 1)}" y="16" width="{mark:.1f}" height="20" fill="{colour}">'
                         f'<title>{escape(local_time(at))}：{word}</title></rect>')
    parts.append("</svg>")
    return Markup("".join(parts))


def waves_chart(waves: list[dict], chart_id: str, width: int = 760) -> Markup:
    """Each wave as a bar split by what became of its kiosks, with the wave's state and counts."""
    label_w, count_w, row_h, top = 190, 110, 30, 8
    bar_w = width - label_w - count_w
    legend_y = top + row_h * len(waves) + 14
    height = legend_y + 20
    parts = [f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" data-waves="{len(waves)}" xmlns="http://www.w3.org/2000/svg">',
             '<title>各波次进度</title>']
    for row, wave in enumerate(waves):
        y = top + row * row_h
        name = "金丝雀" if wave["index"] == 0 else f"第 {wave['index']} 波（{wave['percent']}%）"
        parts.append(f'<text x="0" y="{y + 19}" class="wave-label">{escape(name)} · '
                     f'{escape(WAVE_STATES.get(wave["state"], wave["state"]))}</text>')
        x = float(label_w)
        size = max(wave["size"], 1)
        for key, word, colour in CATEGORIES:
            count = wave["counts"].get(key, 0)
            if not count:
                continue
            seg = bar_w * count / size
            parts.append(f'<rect class="seg-{key}" x="{round(x, 1)}" y="{y + 4}" width="{round(seg, 1)}" '
                         f'height="{row_h - 10}" fill="{colour}"><title>{escape(name)}：{word} {count}</title></rect>')
            x += seg
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="{row_h - 10}" fill="none" stroke="#888"/>')
        done = wave["counts"].get("healthy", 0)
        parts.append(f'<text x="{width - 4}" y="{y + 19}" text-anchor="end" class="tick">'
                     f'{done}/{wave["size"]} 健康</text>')
    x = 0
    for _key, word, colour in CATEGORIES:
        parts.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="{legend_y}" class="tick">{word}</text>')
        x += 24 + 13 * len(word)
    parts.append("</svg>")
    return Markup("".join(parts))


# -- reading the fleet's records --------------------------------------------------------------------

def _online(row: Any, now: datetime) -> bool:
    seen = as_utc(row.last_heartbeat_at) if row.last_heartbeat_at else None
    return bool(row.online) and (row.presence_at is not None or (seen is not None and now - seen < ONLINE_AFTER))


def towns(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(sa.select(kiosks.c.fleet_group).where(kiosks.c.fleet_group.is_not(None))
                                 .distinct().order_by(kiosks.c.fleet_group)).scalars())


def kiosk_rows(db: Database, town: str | None) -> list[dict]:
    """Every kiosk (of one town, when given) with its latest fleet status and last report."""
    now = db.clock()
    last = (sa.select(sa.func.max(t.fleet_reports.c.id).label("id"))
            .group_by(t.fleet_reports.c.kiosk_id).subquery())
    s = t.fleet_kiosk_status
    query = (sa.select(kiosks.c.id.label("kiosk_id"), kiosks.c.fleet_group, s.c.last_heartbeat_at, s.c.online,
                       s.c.presence_at, *(s.c[name] for name, _ in t._STATUS_COLUMNS))
             .select_from(kiosks.outerjoin(s, s.c.kiosk_id == kiosks.c.id)).order_by(kiosks.c.id))
    if town is not None:
        query = query.where(kiosks.c.fleet_group == town)
    with db.read() as conn:
        rows = conn.execute(query).all()
        reports = {r.kiosk_id: r for r in conn.execute(
            sa.select(t.fleet_reports).join(last, last.c.id == t.fleet_reports.c.id))}
    result = []
    for row in rows:
        m = dict(row._mapping)
        m["is_online"] = _online(row, now)
        m["age"] = age(row.last_heartbeat_at, now)
        m["last_report"] = reports.get(row.kiosk_id)
        result.append(m)
    return result


def needs_a_look(row: dict) -> bool:
    """Offline, unhealthy, or its last report was not an application."""
    report = row["last_report"]
    return not row["is_online"] or row["healthy"] is False or (report is not None and report.kind != "applied")


def halted_rollouts(db: Database) -> list[Any]:
    """Rollouts the controller halted by itself: they wait for the administrator."""
    with db.read() as conn:
        return conn.execute(sa.select(t.fleet_rollouts.c.id, t.fleet_rollouts.c.scope, t.fleet_rollouts.c.version,
                                      t.fleet_rollouts.c.reason)
                            .where(t.fleet_rollouts.c.state == "halted").order_by(t.fleet_rollouts.c.id)).all()


def kiosk_detail(db: Database, kiosk_id: str) -> dict | None:
    now = db.clock()
    with db.read() as conn:
        kiosk = conn.execute(sa.select(kiosks.c.id, kiosks.c.fleet_group).where(kiosks.c.id == kiosk_id)).first()
        if kiosk is None:
            return None
        status = conn.execute(sa.select(t.fleet_kiosk_status)
                              .where(t.fleet_kiosk_status.c.kiosk_id == kiosk_id)).first()
        beats = conn.execute(sa.select(t.fleet_heartbeats).where(t.fleet_heartbeats.c.kiosk_id == kiosk_id)
                             .order_by(t.fleet_heartbeats.c.received_at.desc(), t.fleet_heartbeats.c.id.desc())
                             .limit(HEARTBEAT_POINTS)).all()[::-1]
        reports = conn.execute(sa.select(t.fleet_reports).where(t.fleet_reports.c.kiosk_id == kiosk_id)
                               .order_by(t.fleet_reports.c.id.desc()).limit(100)).all()
    return {"id": kiosk.id, "town": kiosk.fleet_group, "status": status,
            "is_online": status is not None and _online(status, now),
            "age": age(status.last_heartbeat_at if status else None, now),
            "heartbeats": beats, "reports": reports}


def _rollout_waves(conn: sa.Connection, rollout: Any) -> list[dict]:
    """The rollout's waves, each with its members counted by category (see :data:`CATEGORIES`)."""
    waves = [dict(w._mapping) for w in conn.execute(
        sa.select(t.fleet_waves).where(t.fleet_waves.c.rollout_id == rollout.id).order_by(t.fleet_waves.c.index))]
    members = conn.execute(
        sa.select(t.fleet_wave_members.c.kiosk_id, t.fleet_wave_members.c.wave_index,
                  t.fleet_kiosk_status.c.config_applied, t.fleet_kiosk_status.c.healthy)
        .select_from(t.fleet_wave_members.outerjoin(
            t.fleet_kiosk_status, t.fleet_kiosk_status.c.kiosk_id == t.fleet_wave_members.c.kiosk_id))
        .where(t.fleet_wave_members.c.rollout_id == rollout.id)).all()
    said: dict[str, str] = {}
    for kiosk_id, kind in conn.execute(
            sa.select(t.fleet_reports.c.kiosk_id, t.fleet_reports.c.kind).where(
                t.fleet_reports.c.scope == rollout.scope, t.fleet_reports.c.version == rollout.version,
                t.fleet_reports.c.at >= rollout.created_at).order_by(t.fleet_reports.c.id)):
        said[kiosk_id] = kind
    by_index = {w["index"]: w for w in waves}
    for w in waves:
        w["counts"] = {}
        w["members"] = []
    for m in members:
        applied = isinstance(m.config_applied, dict) and m.config_applied.get(rollout.scope) == rollout.version
        kind = said.get(m.kiosk_id)
        if kind in ("rolled_back", "refused"):
            category = kind
        elif applied:
            category = "unhealthy" if m.healthy is False else "healthy"
        elif m.wave_index <= rollout.current_wave and rollout.state not in ("aborted", "superseded"):
            category = "waiting"
        else:
            category = "not_open"
        wave = by_index.get(m.wave_index)
        if wave is not None:
            wave["counts"][category] = wave["counts"].get(category, 0) + 1
            wave["members"].append((m.kiosk_id, category))
    for w in waves:
        w["members"].sort()
    return waves


def rollout_list(db: Database) -> list[dict]:
    with db.read() as conn:
        rollouts = conn.execute(sa.select(t.fleet_rollouts).order_by(t.fleet_rollouts.c.id.desc()).limit(50)).all()
        return [{"r": r, "waves": _rollout_waves(conn, r)} for r in rollouts]


def rollout_detail(db: Database, rollout_id: int) -> dict | None:
    with db.read() as conn:
        rollout = conn.execute(sa.select(t.fleet_rollouts).where(t.fleet_rollouts.c.id == rollout_id)).first()
        if rollout is None:
            return None
        document = conn.execute(sa.select(t.fleet_documents)
                                .where(t.fleet_documents.c.id == rollout.document_id)).first()
        events = conn.execute(sa.select(t.fleet_rollout_events).where(t.fleet_rollout_events.c.rollout_id == rollout_id)
                              .order_by(t.fleet_rollout_events.c.id.desc()).limit(200)).all()
        return {"r": rollout, "document": document, "events": events, "waves": _rollout_waves(conn, rollout)}


# -- HTTP -------------------------------------------------------------------------------------------

router = APIRouter(prefix="/admin", include_in_schema=False)


def _admins(request: Request) -> Admins:
    return request.app.state.fleet_admins


def _db(request: Request) -> Database:
    return request.app.state.db


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return _headers(HTMLResponse(_environment().get_template(template).render(**context), status_code=status))


def redirect(url: str) -> Response:
    return _headers(RedirectResponse(url, status_code=303))


def _remote(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _loggable(name: str) -> str:
    return repr(name[:64])


def _cross_site(request: Request) -> bool:
    """A POST that a browser says did not come from one of our own pages.

    Browsers that send ``Sec-Fetch-Site`` are believed; for others a present ``Origin`` must be ours.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site != "same-origin"
    origin = request.headers.get("origin")
    # Host only: behind a TLS proxy the page is https while this server sees http.
    return origin is not None and urlsplit(origin).netloc != request.headers.get("host", "")


def _current(request: Request) -> Session | None:
    return _admins(request).session(request.cookies.get(SESSION_COOKIE))


def _refused(session: Session | None, message: str, status: int = 403) -> HTMLResponse:
    return render("error.html", status=status, session=session, message=message)


def _check_post(request: Request, session: Session | None, csrf: str) -> HTMLResponse | None:
    """None when the POST may go ahead; else the page that refuses it."""
    if session is None:
        return _refused(None, "未登录或登录已过期，请重新登录。", 401)
    if _cross_site(request) or not csrf or not hmac.compare_digest(csrf.encode(), session.csrf.encode()):
        log.warning("fleet dashboard: refused a POST to %s without a valid form token (admin %s, from %s)",
                    request.url.path, _loggable(session.admin), _remote(request))
        return _refused(session, "请求无效：表单校验失败（可能来自其他网站或页面已过期）。请返回刷新后重试。")
    return None


def _login_page(request: Request, error: str = "", status: int = 200, name: str = "") -> HTMLResponse:
    nonce = secrets.token_urlsafe(24)
    response = render("login.html", status=status, session=None, error=error, nonce=nonce, name=name)
    response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, path=COOKIE_PATH, httponly=True, samesite="strict",
                        secure=_secure(request))
    return response


@router.get("")
@router.get("/")
def home(request: Request) -> Response:
    return redirect("/admin/kiosks")


@router.get("/dashboard.css")
def stylesheet() -> Response:
    response = Response((HERE / "static" / "dashboard.css").read_bytes(), media_type="text/css")
    response.headers["Cache-Control"] = "max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    if _current(request) is not None:
        return redirect("/admin/kiosks")
    return _login_page(request)


@router.post("/login")
def login(request: Request, name: str = Form(""), password: str = Form(""), nonce: str = Form("")) -> Response:
    admins = _admins(request)
    remote = _remote(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if _cross_site(request) or not nonce or not expected or not hmac.compare_digest(nonce.encode(), expected.encode()):
        log.warning("fleet dashboard: sign-in form without a valid form token from %s", remote)
        return _login_page(request, "登录表单已过期，请重新输入。", 403)
    name = name.strip()
    if not name or not password:
        return _login_page(request, "请输入用户名和密码。", 400, name=name[:64])
    wait = admins.throttled(name, remote)
    if wait is not None:
        minutes = max(1, int(wait.total_seconds() + 59) // 60)
        log.warning("fleet dashboard: sign-in for %s from %s refused: too many failures", _loggable(name), remote)
        return _login_page(request, f"尝试次数过多，请 {minutes} 分钟后再试。", 429, name=name[:64])
    if not admins.authenticate(name, password, remote):
        log.warning("fleet dashboard: failed sign-in for %s from %s", _loggable(name), remote)
        return _login_page(request, "用户名或密码错误。", 401, name=name[:64])
    token, _session = admins.open_session(name)
    log.info("fleet dashboard: %s signed in from %s", _loggable(name), remote)
    response = redirect("/admin/kiosks")
    response.set_cookie(SESSION_COOKIE, token, max_age=int(8 * 3600), path=COOKIE_PATH, httponly=True,
                        samesite="strict", secure=_secure(request))
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    session = _current(request)
    if session is None:
        return redirect("/admin/login")
    refused = _check_post(request, session, csrf)
    if refused is not None:
        return refused
    _admins(request).close_session(session)
    response = redirect("/admin/login")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


@router.get("/kiosks")
def kiosk_table(request: Request, town: str = "", problems: str = "") -> Response:
    """The kiosk table, of one town when asked; ``problems=1`` keeps the kiosks that need a look."""
    session = _current(request)
    if session is None:
        return redirect("/admin/login")
    db = _db(request)
    town = town[:64]
    rows = kiosk_rows(db, town or None)
    summary = {"total": len(rows), "online": sum(r["is_online"] for r in rows),
               "unhealthy": sum(r["healthy"] is False for r in rows)}
    if problems:
        rows = [r for r in rows if needs_a_look(r)]
    return render("kiosks.html", session=session, refresh=REFRESH_S, rows=rows, towns=towns(db), town=town,
                  problems=bool(problems), summary=summary, halted=halted_rollouts(db))


@router.get("/kiosks/{kiosk_id}")
def kiosk_page(request: Request, kiosk_id: str) -> Response:
    session = _current(request)
    if session is None:
        return redirect("/admin/login")
    detail = kiosk_detail(_db(request), kiosk_id[:64])
    if detail is None:
        return _refused(session, "没有这台终端。", 404)
    beats = detail["heartbeats"]
    charts = [
        health_strip([(b.received_at, b.healthy) for b in beats], "chart-health"),
        line_chart([(b.received_at, b.outbox_backlog) for b in beats], "待发送件数", "件", "chart-backlog"),
        line_chart([(b.received_at, b.paper_left_m) for b in beats], "小票纸余量", "米", "chart-paper"),
        line_chart([(b.received_at, b.disk_free_mb) for b in beats], "磁盘剩余", "MB", "chart-disk"),
        line_chart([(b.received_at, b.clock_offset_ms) for b in beats], "时钟偏差", "毫秒", "chart-clock"),
    ]
    return render("kiosk.html", session=session, refresh=REFRESH_S, k=detail, charts=charts)


@router.get("/rollouts")
def rollouts_page(request: Request) -> Response:
    session = _current(request)
    if session is None:
        return redirect("/admin/login")
    items = rollout_list(_db(request))
    for item in items:
        item["chart"] = waves_chart(item["waves"], f"chart-rollout-{item['r'].id}")
    return render("rollouts.html", session=session, refresh=REFRESH_S, items=items)


@router.get("/rollouts/{rollout_id}")
def rollout_page(request: Request, rollout_id: int) -> Response:
    session = _current(request)
    if session is None:
        return redirect("/admin/login")
    detail = rollout_detail(_db(request), rollout_id)
    if detail is None:
        return _refused(session, "没有这个发布批次。", 404)
    detail["chart"] = waves_chart(detail["waves"], "chart-waves")
    return render("rollout.html", session=session, refresh=REFRESH_S, d=detail)


@router.post("/rollouts/{rollout_id}/{action}")
def rollout_control(request: Request, rollout_id: int, action: str, csrf: str = Form(""),
                    confirm: str = Form("")) -> Response:
    session = _current(request)
    refused = _check_post(request, session, csrf)
    if refused is not None or session is None:
        return refused or _refused(None, "未登录或登录已过期，请重新登录。", 401)
    if action not in ACTIONS:
        return _refused(session, "未知的操作。", 404)
    back = f"/admin/rollouts/{rollout_id}"
    admins = _admins(request)
    if action == "abort" and confirm != "yes":
        admins.set_flash(session, "中止前请勾选“确认中止”。")
        return redirect(back)
    try:
        result = request.app.state.fleet.control(rollout_id, action)
    except FleetError as exc:
        log.info("fleet dashboard: %s could not %s rollout %d: %s", _loggable(session.admin), action, rollout_id, exc)
        detail = rollout_detail(_db(request), rollout_id)
        if detail is None:
            return _refused(session, "没有这个发布批次。", 404)
        state = ROLLOUT_STATES.get(detail["r"].state, detail["r"].state)
        admins.set_flash(session, f"未能{ACTIONS[action]}：该批次当前状态为“{state}”。")
        return redirect(back)
    admins.record_action(session.admin, action, f"rollout {rollout_id}")
    log.info("fleet dashboard: %s: %s rollout %d -> %s", _loggable(session.admin), action, rollout_id, result["state"])
    admins.set_flash(session, f"已{ACTIONS[action]}：批次 {rollout_id} 现为“{ROLLOUT_STATES.get(result['state'], result['state'])}”。")
    return redirect(back)


def install(app: FastAPI, db: Database) -> None:
    """Mount the dashboard on the platform app (after ``backend.fleet.install``)."""
    app.state.fleet_admins = Admins(db)
    app.include_router(router)

