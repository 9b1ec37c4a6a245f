"""Fleet operations on the platform: publish, rollouts and their controller, heartbeats, reports.

:class:`Fleet` joins the database records (``backend.fleet.tables``) and the TUF repository
(``backend.fleet.repository``). The administrator's CLI and the platform's controller thread both
use it; the repository lock keeps them from interleaving signatures.

The admission file is rebuilt from the records on every change: for each scope the version of its
last completed rollout (``default``), and for kiosks in waves already opened by a running, paused
or halted rollout, that rollout's version. Abort removes a rollout's entries, so its kiosks return
to the version before it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from backend.db import Database, as_utc, kiosks
from backend.fleet import tables as t
from backend.fleet.repository import FleetRepository, RepositoryError, load_key
from kiosk.fleet import document as fleet_document

log = logging.getLogger(__name__)

ONLINE_AFTER = timedelta(minutes=3)  # a heartbeat this recent counts as online without MQTT
ACTIVE_STATES = ("running", "paused", "halted")


class FleetError(Exception):
    """A fleet operation cannot be done as asked; the message is one line for the administrator."""


@dataclass
class Plan:
    """How a published version reaches its scope's kiosks."""
    canary: str | None = None  # kiosk id for wave 0; None: the first kiosk in rollout order
    percents: list[int] = field(default_factory=lambda: [10, 50, 100])
    soak_s: int = 600
    halt_threshold: float = 0.2  # share of a rollout's opened kiosks unhealthy or rolled back
    min_applied: float = 0.9  # share of a wave that must have applied healthy before the next
    canary_wave: bool = True  # False: no canary wave, the first wave opens at once

    def check(self) -> "Plan":
        if not self.percents or any(not 1 <= p <= 100 for p in self.percents) \
                or self.percents != sorted(self.percents) or self.percents[-1] != 100:
            raise FleetError("--waves: give rising percentages ending in 100, e.g. 10,50,100")
        if not 0 <= self.soak_s <= 7 * 86400:
            raise FleetError("--soak: must be between 0 seconds and 7 days")
        if not 0 < self.halt_threshold <= 1:
            raise FleetError("--halt-at: must be a share above 0 and at most 100%")
        if not 0 < self.min_applied <= 1:
            raise FleetError("--min-applied: must be a share above 0 and at most 100%")
        return self

    def as_json(self) -> dict:
        return {"canary": self.canary, "percents": self.percents, "soak_s": self.soak_s,
                "halt_threshold": self.halt_threshold, "min_applied": self.min_applied,
                "canary_wave": self.canary_wave}


HEARTBEAT_FIELDS: dict[str, tuple[type, ...]] = {
    "software_version": (str,),
    "config_applied": (dict,),
    "config_staged": (dict,),
    "devices": (dict,),
    "healthy": (bool,),
    "outbox_backlog": (int,),
    "disk_free_mb": (int,),
    "paper_left_m": (int, float),
    "uptime_s": (int,),
    "clock_offset_ms": (int,),
}


def parse_heartbeat(body: dict) -> dict[str, Any] | None:
    """The fleet fields of a heartbeat body, checked; None when it carries none of them.

    Raises ValueError with one line naming the first wrong field.
    """
    values: dict[str, Any] = {}
    for name, kinds in HEARTBEAT_FIELDS.items():
        if name not in body or body[name] is None:
            continue
        value = body[name]
        if isinstance(value, bool) and bool not in kinds:
            raise ValueError(f"heartbeat field {name} has the wrong type")
        if not isinstance(value, kinds):
            raise ValueError(f"heartbeat field {name} has the wrong type")
        if name == "software_version" and len(value) > 64:
            raise ValueError("heartbeat field software_version is too long")
        if isinstance(value, dict):
            if len(value) > 64 or len(json.dumps(value)) > 4096:
                raise ValueError(f"heartbeat field {name} is too large")
        values[name] = value
    return values or None


def record_heartbeat(conn: sa.Connection, kiosk_id: str, body: Any, now: datetime) -> None:
    """Keep a heartbeat's fleet fields: the latest in fleet_kiosk_status, every one in history.

    Call inside the heartbeat's write transaction; a body without fleet fields changes nothing.
    """
    if not isinstance(body, dict):
        return
    values = parse_heartbeat(body)
    if values is None:
        return
    conn.execute(sa.insert(t.fleet_heartbeats).values(kiosk_id=kiosk_id, received_at=now, **values))
    row = {"last_heartbeat_at": now, "online": True, **values}
    updated = conn.execute(sa.update(t.fleet_kiosk_status)
                           .where(t.fleet_kiosk_status.c.kiosk_id == kiosk_id).values(**row)).rowcount
    if not updated:
        conn.execute(sa.insert(t.fleet_kiosk_status).values(kiosk_id=kiosk_id, **row))


def ensure_tables(db: Database) -> None:
    t.fleet_metadata.create_all(db.engine)


class Fleet:
    """The fleet of one platform database."""

    def __init__(self, db: Database, notifier: Any = None) -> None:
        self.db = db
        ensure_tables(db)
        self._notifier = notifier
        self._pruned_at: datetime | None = None

    # -- settings ---------------------------------------------------------------------------

    def settings(self) -> dict[str, str]:
        with self.db.read() as conn:
            return {r.key: r.value for r in conn.execute(sa.select(t.fleet_settings))}

    def set_setting(self, key: str, value: str) -> None:
        with self.db.write() as conn:
            if conn.execute(sa.update(t.fleet_settings).where(t.fleet_settings.c.key == key)
                            .values(value=value)).rowcount == 0:
                conn.execute(sa.insert(t.fleet_settings).values(key=key, value=value))

    def repository(self) -> FleetRepository:
        fleet_dir = self.settings().get("fleet_dir")
        if not fleet_dir:
            raise FleetError("no fleet here yet: run 'kiosk fleet init' first")
        return FleetRepository(fleet_dir)

    def configured(self) -> bool:
        return bool(self.settings().get("fleet_dir"))

    def init(self, fleet_dir: Path, keys_dir: Path, mqtt_url: str = "") -> FleetRepository:
        if self.configured():
            raise FleetError(f"this database already has a fleet in {self.settings()['fleet_dir']}")
        try:
            repo = FleetRepository.create(fleet_dir, keys_dir)
        except RepositoryError as exc:
            raise FleetError(str(exc)) from None
        self.set_setting("fleet_dir", str(Path(fleet_dir).resolve()))
        self.set_setting("mqtt_url", mqtt_url)
        return repo

    # -- notices ----------------------------------------------------------------------------

    def notify(self, scopes: set[str], revision: int) -> None:
        """Retained MQTT notices carrying only the revision; kiosks then refresh through TUF."""
        if not scopes:
            return
        from backend.fleet import mqtt

        url = self.settings().get("mqtt_url", "")
        if not url:
            return
        try:
            (self._notifier or mqtt.publish_notices)(url, scopes, revision)
        except Exception as exc:  # the broker is a convenience: kiosks also poll
            log.warning("fleet notice not sent (%s): kiosks will find revision %d by polling", exc, revision)

    # -- publishing ---------------------------------------------------------------------------

    def _scope_kiosks(self, conn: sa.Connection, scope: str) -> list[str]:
        query = sa.select(kiosks.c.id).order_by(kiosks.c.id)
        if scope.startswith("town/"):
            query = query.where(kiosks.c.fleet_group == scope[5:])
        elif scope.startswith("kiosk/"):
            query = query.where(kiosks.c.id == scope[6:])
        return list(conn.execute(query).scalars())

    def publish(self, raw: bytes, name: str, keys_dir: Path, plan: Plan) -> dict:
        """Check, sign and start rolling out a document. Returns the new rollout's summary."""
        plan.check()
        doc = fleet_document.check_for_publish(raw, name)
        repo = self.repository()
        with self.db.read() as conn:
            latest = conn.execute(sa.select(sa.func.max(t.fleet_documents.c.version))
                                  .where(t.fleet_documents.c.scope == doc.scope)).scalar()
            members = self._scope_kiosks(conn, doc.scope)
        if latest is not None and doc.version <= latest:
            raise FleetError(f"{name}: document.version: must be greater than {latest}, "
                             f"the last published for {doc.scope}")
        if not members:
            raise FleetError(f"{name}: document.scope: no kiosk is in {doc.scope}")
        if plan.canary is not None and plan.canary not in members:
            raise FleetError(f"--canary: kiosk {plan.canary!r} is not in {doc.scope}")
        try:
            signer = load_key(Path(keys_dir) / "targets.pem")
            repo.add_document(doc.target_path, raw, signer)
        except RepositoryError as exc:
            raise FleetError(str(exc)) from None
        now = self.db.clock()
        with self.db.write() as conn:
            document_id = conn.execute(sa.insert(t.fleet_documents).values(
                scope=doc.scope, version=doc.version, sha256=hashlib.sha256(raw).hexdigest(),
                size=len(raw), note=doc.note, target_path=doc.target_path, published_at=now,
            )).inserted_primary_key[0]
            previous = self._default_version(conn, doc.scope)
            for old in conn.execute(sa.select(t.fleet_rollouts.c.id).where(
                    t.fleet_rollouts.c.scope == doc.scope,
                    t.fleet_rollouts.c.state.in_(ACTIVE_STATES))).scalars():
                self._set_state(conn, old, "superseded", f"superseded by version {doc.version}", now)
            rollout_id = conn.execute(sa.insert(t.fleet_rollouts).values(
                document_id=document_id, scope=doc.scope, version=doc.version, previous_version=previous,
                state="running", plan=plan.as_json(), current_wave=0, reason="published",
                created_at=now, updated_at=now)).inserted_primary_key[0]
            self._make_waves(conn, rollout_id, members, plan, now)
            self._event(conn, rollout_id, f"published {doc.target_path}; wave 0 opened", now)
        self.reconcile()
        return {"rollout": rollout_id, "scope": doc.scope, "version": doc.version,
                "target": doc.target_path, "kiosks": len(members)}

    def _make_waves(self, conn: sa.Connection, rollout_id: int, members: list[str], plan: Plan,
                    now: datetime) -> None:
        order = sorted(members, key=lambda k: hashlib.sha256(f"{rollout_id}:{k}".encode()).hexdigest())
        waves: list[tuple[int, list[str]]] = []
        done = 0
        if plan.canary_wave:
            canary = plan.canary or order[0]
            order.remove(canary)
            order.insert(0, canary)
            waves.append((0, [canary]))
            done = 1
        total = len(order)
        for percent in plan.percents:
            upto = max(done, math.ceil(total * percent / 100))
            if upto > done:
                waves.append((percent, order[done:upto]))
                done = upto
        for index, (percent, kiosk_ids) in enumerate(waves):
            conn.execute(sa.insert(t.fleet_waves).values(
                rollout_id=rollout_id, index=index, percent=percent, size=len(kiosk_ids),
                state="active" if index == 0 else "pending", started_at=now if index == 0 else None))
            conn.execute(sa.insert(t.fleet_wave_members), [
                {"rollout_id": rollout_id, "kiosk_id": k, "wave_index": index} for k in kiosk_ids])

    def _default_version(self, conn: sa.Connection, scope: str) -> int | None:
        return conn.execute(
            sa.select(t.fleet_rollouts.c.version)
            .where(t.fleet_rollouts.c.scope == scope, t.fleet_rollouts.c.state == "completed")
            .order_by(t.fleet_rollouts.c.updated_at.desc(), t.fleet_rollouts.c.id.desc()).limit(1)
        ).scalar()

    def _event(self, conn: sa.Connection, rollout_id: int, message: str, now: datetime) -> None:
        conn.execute(sa.insert(t.fleet_rollout_events).values(rollout_id=rollout_id, at=now, message=message))

    def _set_state(self, conn: sa.Connection, rollout_id: int, state: str, reason: str, now: datetime) -> None:
        conn.execute(sa.update(t.fleet_rollouts).where(t.fleet_rollouts.c.id == rollout_id)
                     .values(state=state, reason=reason, updated_at=now))
        self._event(conn, rollout_id, f"{state}: {reason}", now)

    # -- administrator's controls ---------------------------------------------------------------

    def control(self, rollout_id: int, action: str) -> dict:
        """pause, resume or abort a rollout."""
        allowed = {"pause": ("running",), "resume": ("paused", "halted"), "abort": ACTIVE_STATES}
        now = self.db.clock()
        with self.db.write() as conn:
            row = conn.execute(sa.select(t.fleet_rollouts).where(t.fleet_rollouts.c.id == rollout_id)).first()
            if row is None:
                raise FleetError(f"no rollout {rollout_id}")
            if row.state not in allowed[action]:
                raise FleetError(f"rollout {rollout_id} is {row.state}; cannot {action} it")
            state = {"pause": "paused", "resume": "running", "abort": "aborted"}[action]
            self._set_state(conn, rollout_id, state, f"{action} by the administrator", now)
            if action == "resume":
                conn.execute(sa.update(t.fleet_waves).where(
                    t.fleet_waves.c.rollout_id == rollout_id, t.fleet_waves.c.index == row.current_wave)
                    .values(state="active", started_at=now))
        self.reconcile()
        return {"rollout": rollout_id, "state": state}

    def rotate_key(self, role: str, keys_dir: Path) -> int:
        try:
            version = self.repository().rotate(role, keys_dir)
        except RepositoryError as exc:
            raise FleetError(str(exc)) from None
        self.notify({"county"}, self.repository().revision())
        return version

    # -- the controller ---------------------------------------------------------------------------

    def _rollout_health(self, conn: sa.Connection, rollout: sa.Row) -> dict:
        """Counts over the kiosks of opened waves: applied (healthy), bad (unhealthy or rolled back)."""
        members = conn.execute(
            sa.select(t.fleet_wave_members.c.kiosk_id, t.fleet_wave_members.c.wave_index,
                      t.fleet_kiosk_status.c.config_applied, t.fleet_kiosk_status.c.healthy)
            .select_from(t.fleet_wave_members.outerjoin(
                t.fleet_kiosk_status, t.fleet_kiosk_status.c.kiosk_id == t.fleet_wave_members.c.kiosk_id))
            .where(t.fleet_wave_members.c.rollout_id == rollout.id,
                   t.fleet_wave_members.c.wave_index <= rollout.current_wave)).all()
        rolled_back = set(conn.execute(
            sa.select(t.fleet_reports.c.kiosk_id).where(
                t.fleet_reports.c.kind.in_(("rolled_back", "refused")),
                t.fleet_reports.c.scope == rollout.scope, t.fleet_reports.c.version == rollout.version,
                t.fleet_reports.c.at >= rollout.created_at)).scalars())
        opened = len(members)
        current = [m for m in members if m.wave_index == rollout.current_wave]
        applied_current = bad = 0
        for m in members:
            applied = isinstance(m.config_applied, dict) and m.config_applied.get(rollout.scope) == rollout.version
            is_bad = m.kiosk_id in rolled_back or (applied and m.healthy is False)
            bad += is_bad
            if m.wave_index == rollout.current_wave and applied and not is_bad:
                applied_current += 1
        return {"opened": opened, "bad": bad, "current_size": len(current), "applied_current": applied_current,
                "rolled_back": len(rolled_back)}

    def tick(self) -> list[str]:
        """One pass of the controller: halt or advance running rollouts, then publish the admission.

        Returns what it did, one line each (also recorded in fleet_rollout_events).
        """
        done: list[str] = []
        now = self.db.clock()
        with self.db.write() as conn:
            running = conn.execute(sa.select(t.fleet_rollouts).where(t.fleet_rollouts.c.state == "running")).all()
            for rollout in running:
                plan = rollout.plan
                health = self._rollout_health(conn, rollout)
                if health["opened"] and health["bad"] / health["opened"] > plan["halt_threshold"]:
                    reason = (f"{health['bad']} of {health['opened']} kiosks unhealthy or rolled back "
                              f"(more than {plan['halt_threshold']:.0%})")
                    self._set_state(conn, rollout.id, "halted", reason, now)
                    conn.execute(sa.update(t.fleet_waves).where(
                        t.fleet_waves.c.rollout_id == rollout.id, t.fleet_waves.c.index == rollout.current_wave)
                        .values(state="halted"))
                    done.append(f"rollout {rollout.id} halted: {reason}")
                    continue
                wave = conn.execute(sa.select(t.fleet_waves).where(
                    t.fleet_waves.c.rollout_id == rollout.id, t.fleet_waves.c.index == rollout.current_wave)).first()
                soaked = wave.started_at is not None and now - as_utc(wave.started_at) >= timedelta(seconds=plan["soak_s"])
                enough = health["current_size"] and health["applied_current"] / health["current_size"] >= plan["min_applied"]
                if not (soaked and enough):
                    continue
                conn.execute(sa.update(t.fleet_waves).where(
                    t.fleet_waves.c.rollout_id == rollout.id, t.fleet_waves.c.index == rollout.current_wave)
                    .values(state="passed", passed_at=now))
                following = conn.execute(sa.select(t.fleet_waves.c.index).where(
                    t.fleet_waves.c.rollout_id == rollout.id, t.fleet_waves.c.index > rollout.current_wave)
                    .order_by(t.fleet_waves.c.index).limit(1)).scalar()
                if following is None:
                    self._set_state(conn, rollout.id, "completed", "every wave applied healthy", now)
                    done.append(f"rollout {rollout.id} completed")
                else:
                    conn.execute(sa.update(t.fleet_rollouts).where(t.fleet_rollouts.c.id == rollout.id)
                                 .values(current_wave=following, updated_at=now))
                    conn.execute(sa.update(t.fleet_waves).where(
                        t.fleet_waves.c.rollout_id == rollout.id, t.fleet_waves.c.index == following)
                        .values(state="active", started_at=now))
                    message = (f"wave {rollout.current_wave} passed ({health['applied_current']}/"
                               f"{health['current_size']} applied healthy); wave {following} opened")
                    self._event(conn, rollout.id, message, now)
                    done.append(f"rollout {rollout.id}: {message}")
        self.reconcile()
        self.prune_history(now)
        try:
            self.repository().renew_online()
        except (FleetError, RepositoryError) as exc:
            log.warning("fleet: cannot renew online signatures: %s", exc)
        return done

    def prune_history(self, now: datetime) -> int:
        """Drop heartbeat history older than the ``heartbeat_days`` setting (30), at most hourly."""
        if self._pruned_at is not None and now - self._pruned_at < timedelta(hours=1):
            return 0
        self._pruned_at = now
        days = int(self.settings().get("heartbeat_days", "30"))
        with self.db.write() as conn:
            return conn.execute(sa.delete(t.fleet_heartbeats)
                                .where(t.fleet_heartbeats.c.received_at < now - timedelta(days=days))).rowcount

    def admission(self) -> dict:
        """The admission file the records call for (without its revision)."""
        with self.db.read() as conn:
            scopes = set(conn.execute(sa.select(t.fleet_rollouts.c.scope).distinct()).scalars())
            default = {s: v for s in sorted(scopes) if (v := self._default_version(conn, s)) is not None}
            per_kiosk: dict[str, dict[str, int]] = {}
            rows = conn.execute(
                sa.select(t.fleet_rollouts.c.scope, t.fleet_rollouts.c.version, t.fleet_wave_members.c.kiosk_id)
                .join(t.fleet_wave_members, t.fleet_wave_members.c.rollout_id == t.fleet_rollouts.c.id)
                .where(t.fleet_rollouts.c.state.in_(ACTIVE_STATES),
                       t.fleet_wave_members.c.wave_index <= t.fleet_rollouts.c.current_wave)
                .order_by(t.fleet_rollouts.c.id)).all()
            for scope, version, kiosk_id in rows:
                if default.get(scope) != version:
                    per_kiosk.setdefault(kiosk_id, {})[scope] = version
        return {"default": default, "kiosks": per_kiosk}

    def reconcile(self) -> int | None:
        """Sign a new admission file when the records call for a different one; notify its scopes."""
        repo = self.repository()
        wanted = self.admission()
        current = repo.admission()
        if {k: current.get(k) for k in ("default", "kiosks")} == wanted:
            return None
        changed = {s for s in set(wanted["default"]) | set(current.get("default", {}))
                   if wanted["default"].get(s) != current.get("default", {}).get(s)}
        old_kiosks = current.get("kiosks", {})
        for kiosk_id in set(wanted["kiosks"]) | set(old_kiosks):
            if wanted["kiosks"].get(kiosk_id) != old_kiosks.get(kiosk_id):
                changed |= {f"kiosk/{kiosk_id}"}
        revision = repo.set_admission(wanted)
        self.notify(changed, revision)
        return revision

    # -- kiosks' reports and status ---------------------------------------------------------------

    def record_report(self, kiosk_id: str, kind: str, scope: str, version: int,
                      from_version: int | None, reason: str) -> None:
        with self.db.write() as conn:
            conn.execute(sa.insert(t.fleet_reports).values(
                kiosk_id=kiosk_id, at=self.db.clock(), kind=kind, scope=scope, version=version,
                from_version=from_version, reason=reason[:500]))

    def set_presence(self, kiosk_id: str, online: bool) -> None:
        now = self.db.clock()
        with self.db.write() as conn:
            if conn.execute(sa.update(t.fleet_kiosk_status).where(t.fleet_kiosk_status.c.kiosk_id == kiosk_id)
                            .values(online=online, presence_at=now)).rowcount == 0:
                conn.execute(sa.insert(t.fleet_kiosk_status).values(kiosk_id=kiosk_id, online=online,
                                                                    presence_at=now))

    def status(self) -> dict:
        """Rollouts with their waves, and every kiosk's latest state: what ``kiosk fleet status`` shows."""
        now = self.db.clock()
        with self.db.read() as conn:
            rollouts = []
            for r in conn.execute(sa.select(t.fleet_rollouts).order_by(t.fleet_rollouts.c.id.desc()).limit(20)):
                health = self._rollout_health(conn, r)
                waves = [dict(w._mapping) for w in conn.execute(
                    sa.select(t.fleet_waves).where(t.fleet_waves.c.rollout_id == r.id).order_by(t.fleet_waves.c.index))]
                events = [e.message for e in conn.execute(
                    sa.select(t.fleet_rollout_events.c.message).where(t.fleet_rollout_events.c.rollout_id == r.id)
                    .order_by(t.fleet_rollout_events.c.id.desc()).limit(5))]
                rollouts.append({"id": r.id, "scope": r.scope, "version": r.version,
                                 "previous_version": r.previous_version, "state": r.state, "reason": r.reason,
                                 "current_wave": r.current_wave, "plan": r.plan, "health": health,
                                 "waves": [{k: _jsonable(v) for k, v in w.items()} for w in waves],
                                 "events": events[::-1]})
            kiosk_rows = conn.execute(
                sa.select(kiosks.c.id, kiosks.c.fleet_group, t.fleet_kiosk_status)
                .select_from(kiosks.outerjoin(t.fleet_kiosk_status, t.fleet_kiosk_status.c.kiosk_id == kiosks.c.id))
                .order_by(kiosks.c.id)).all()
            last_reports = {}
            for rep in conn.execute(sa.select(t.fleet_reports).order_by(t.fleet_reports.c.id)):
                last_reports[rep.kiosk_id] = rep
        kiosk_list = []
        for k in kiosk_rows:
            m = k._mapping
            seen = as_utc(m["last_heartbeat_at"]) if m["last_heartbeat_at"] else None
            online = bool(m["online"]) and (m["presence_at"] is not None or (seen is not None and now - seen < ONLINE_AFTER))
            rep = last_reports.get(k.id)
            kiosk_list.append({
                "id": k.id, "town": k.fleet_group, "online": online,
                "last_heartbeat_at": seen.isoformat() if seen else None,
                **{name: m[name] for name, _ in t._STATUS_COLUMNS},
                "last_report": None if rep is None else {
                    "kind": rep.kind, "scope": rep.scope, "version": rep.version, "reason": rep.reason,
                    "at": as_utc(rep.at).isoformat()},
            })
        return {"rollouts": rollouts, "kiosks": kiosk_list}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    return value
