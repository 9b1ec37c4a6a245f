"""The kiosk's fleet agent: fetch signed documents, stage, apply between visits, health gate, roll back.

Plain Python in a background thread (no Kivy). The app talks to it through :class:`Probes`:

* ``session_active()`` — is a citizen in session now? Documents apply only when it says no.
* ``apply_config(cfg)`` — take this configuration now (reopen devices, redraw). Called from the
  agent's thread; the app hands the work to its UI thread and returns.
* ``ui_drawing()``, ``device_health()`` — the health gate's probes after an apply.
* ``outbox_backlog()``, ``paper_left_m()`` — heartbeat figures (None when unknown).

State lives in ``<data_dir>/fleet/``: ``state.json`` (which documents are active, last good,
staged, refused, an open health gate) and ``docs/<sha256>.toml`` (the verified documents, named
by content). Every file is written atomically and a document is written before the state that
names it, so a power cut at any moment leaves the old state or the new one. On start,
:func:`startup_config` gives the configuration that last passed its health gate.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import requests

from kiosk.config import Config, load_config
from kiosk.errors import ConfigError, UsageError
from kiosk.fleet import document as fleet_document
from kiosk.fleet import trust
from kiosk.fleet.storage import atomic_write, read_json, write_json

log = logging.getLogger(__name__)

MAX_GATE_ATTEMPTS = 2  # restarts during an open health gate before its documents are refused
HEARTBEAT_S = 60.0
_START = time.monotonic()


def _software_version() -> str:
    try:
        from importlib.metadata import version

        return version("kiosk")
    except Exception:
        return "0+unknown"


@dataclass
class Probes:
    """What the app tells the agent; every default is the harmless answer."""
    session_active: Callable[[], bool] = lambda: False
    apply_config: Callable[[Config], None] = lambda cfg: None
    ui_drawing: Callable[[], bool] = lambda: True
    device_health: Callable[[], dict[str, bool]] = dict
    outbox_backlog: Callable[[], int | None] = lambda: None
    paper_left_m: Callable[[], float | None] = lambda: None


@dataclass
class AgentSettings:
    """Where and how often; from the site file's ``[fleet]`` and ``[platform]`` sections by default."""
    kiosk_id: str
    data_dir: Path
    site_path: str | None
    repository_url: str
    trusted_root: Path
    platform_url: str = ""
    token: str = ""
    town: str = ""
    mqtt_url: str = ""
    poll_interval_s: float = 300.0
    health_window_s: float = 60.0
    heartbeat_s: float = HEARTBEAT_S
    settle_s: float | None = None  # checks must pass at least this long after an apply

    @classmethod
    def from_config(cls, cfg: Config, site_path: str | None, **overrides: Any) -> "AgentSettings":
        values = dict(kiosk_id=cfg.kiosk.id, data_dir=cfg.paths.data_dir, site_path=site_path,
                      repository_url=cfg.fleet.repository_url, trusted_root=Path(cfg.fleet.trusted_root or "/"),
                      platform_url=cfg.platform.base_url, token=cfg.platform.token, town=cfg.fleet.town,
                      mqtt_url=cfg.fleet.mqtt_url, poll_interval_s=cfg.fleet.poll_interval_s,
                      health_window_s=cfg.fleet.health_window_s)
        values.update(overrides)
        return cls(**values)

    @property
    def scopes(self) -> list[str]:
        return fleet_document.scopes_for(self.kiosk_id, self.town)

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "fleet"


# -- state on disk --------------------------------------------------------------------------------

def _empty_state() -> dict:
    return {"active": {}, "last_good": {}, "staged": None, "gate": None, "refused": {}, "revision": 0,
            "reported": [], "pending_reports": [], "history": []}


class Store:
    """``state.json`` and the content-named documents beside it."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.path = state_dir / "state.json"
        self.docs = state_dir / "docs"

    def load(self) -> dict:
        try:
            state = read_json(self.path, None)
        except (ValueError, OSError):
            log.error("fleet state %s unreadable: starting from the site file alone", self.path)
            state = None
        base = _empty_state()
        if isinstance(state, dict):
            base.update(state)
        return base

    def save(self, state: dict) -> None:
        write_json(self.path, state)

    def put_document(self, doc: fleet_document.Document) -> dict:
        digest = hashlib.sha256(doc.raw).hexdigest()
        path = self.docs / f"{digest}.toml"
        if not path.is_file():
            atomic_write(path, doc.raw)
        return {"version": doc.version, "sha256": digest}

    def documents(self, layer: dict) -> list[fleet_document.Document]:
        """The documents a state layer names ({scope: {version, sha256}}), in scope order."""
        docs = []
        for scope in sorted(layer, key=_scope_order):
            entry = layer[scope]
            raw = (self.docs / f"{entry['sha256']}.toml").read_bytes()
            if hashlib.sha256(raw).hexdigest() != entry["sha256"]:
                raise ConfigError(f"{scope}: stored document is damaged")
            docs.append(fleet_document.parse(raw, fleet_document.target_path(scope, entry["version"])))
        return docs

    def prune(self, state: dict) -> None:
        keep = {e["sha256"] for name in ("active", "last_good") for e in (state.get(name) or {}).values()}
        keep |= {e["sha256"] for e in ((state.get("staged") or {}).get("layer") or {}).values()}
        if self.docs.is_dir():
            for path in self.docs.iterdir():
                if path.suffix == ".toml" and path.stem not in keep:
                    path.unlink(missing_ok=True)


def _scope_order(scope: str) -> tuple[int, str]:
    return (0 if scope == "county" else 1 if scope.startswith("town/") else 2, scope)


def _versions(layer: dict) -> dict[str, int]:
    return {scope: entry["version"] for scope, entry in (layer or {}).items()}


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def startup_config(site_path: str | None, data_dir: Path | None = None) -> Config:
    """The configuration to start with: the site file plus the documents that last passed the gate.

    An apply that a power cut or a crash interrupted is undone here: its health gate never passed.
    """
    base = load_config(site_path)
    store = Store((data_dir or base.paths.data_dir) / "fleet")
    state = store.load()
    if state.get("gate"):
        gate = state["gate"]
        attempts = gate.get("attempts", 1)
        state["active"] = state["last_good"]
        state["gate"] = None
        if attempts >= MAX_GATE_ATTEMPTS:
            _refuse(state, gate["changed"], "the kiosk restarted before the health gate passed, twice")
            state["pending_reports"].extend(
                _report("rolled_back", scope, version, _versions(gate["before"]).get(scope),
                        "the kiosk restarted before the health gate passed, twice")
                for scope, version in gate["changed"].items())
        else:
            state["staged"] = {"layer": gate["after"], "attempts": attempts}
        store.save(state)
    try:
        docs = store.documents(state["last_good"])
        return fleet_document.effective_config(site_path, docs)
    except (ConfigError, OSError, KeyError) as exc:
        log.error("fleet documents unusable at start (%s): running the site file alone", exc)
        return base


def _refuse(state: dict, changed: dict[str, int], _reason: str) -> None:
    for scope, version in changed.items():
        refused = state["refused"].setdefault(scope, [])
        if version not in refused:
            refused.append(version)


def _report(kind: str, scope: str, version: int, from_version: int | None, reason: str) -> dict:
    return {"kind": kind, "scope": scope, "version": version, "from_version": from_version,
            "reason": reason[:1000], "at": _now_iso()}


# -- the agent ---------------------------------------------------------------------------------------

class AgentBusy(UsageError):
    """Another agent (the touch app's or ``kiosk fleet agent``) already runs for this data folder."""


def _take_agent_lock(state_dir: Path) -> int:
    """One agent per kiosk: an exclusive lock on ``agent.lock``, held while the agent runs."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / "agent.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AgentBusy(f"another fleet agent runs for this kiosk ({state_dir}): "
                        "the touch app runs its own; stop kiosk-fleet.service on a kiosk with the touch UI") from None
    return fd


@dataclass
class GateResult:
    passed: bool
    reason: str = ""


class FleetAgent:
    """One kiosk's agent. ``start()`` runs it in a daemon thread; ``stop()`` ends it."""

    def __init__(self, settings: AgentSettings, probes: Probes | None = None,
                 http: requests.Session | None = None) -> None:
        self.s = settings
        self.probes = probes or Probes()
        self.store = Store(settings.state_dir)
        self.http = http or requests.Session()
        if settings.token:
            self.http.headers.update({"Authorization": f"Bearer {settings.token}", "X-Kiosk-Id": settings.kiosk_id})
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._refresh_asked = threading.Event()
        self._diagnostics_asked = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()
        self._clock_offset_ms: int | None = None
        self.last_error: str | None = None
        self.notice_revision = 0
        self.listener = None
        self._lock_fd: int | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "FleetAgent":
        self._lock_fd = _take_agent_lock(self.s.state_dir)  # AgentBusy when another agent runs
        if self.s.mqtt_url:
            from kiosk.fleet.push import NoticeListener

            self.listener = NoticeListener(self.s.mqtt_url, self.s.kiosk_id, self.s.scopes, self)
            self.listener.start()
        self._thread = threading.Thread(target=self._run, name="fleet-agent", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(15)
        if self.listener is not None:
            self.listener.stop()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- what MQTT asks for (from the listener's thread) -------------------------------------------

    def on_notice(self, revision: int) -> None:
        """A notice said revision N exists: refresh if we have not seen it."""
        self.notice_revision = max(self.notice_revision, revision)
        if revision > self.store.load().get("revision", 0):
            self.request_refresh()

    def request_refresh(self) -> None:
        self._refresh_asked.set()
        self._wake.set()

    def request_diagnostics(self) -> None:
        self._diagnostics_asked.set()
        self._wake.set()

    # -- main loop ---------------------------------------------------------------------------------

    def _run(self) -> None:
        next_poll = 0.0
        next_heartbeat = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                if now >= next_poll or self._refresh_asked.is_set():
                    self._refresh_asked.clear()
                    self.refresh()
                    next_poll = time.monotonic() + self.s.poll_interval_s
                if self.try_apply():
                    next_heartbeat = 0.0  # say at once what we now run
                if time.monotonic() >= next_heartbeat or self._diagnostics_asked.is_set():
                    self.heartbeat(diagnostics=self._diagnostics_asked.is_set())
                    self._diagnostics_asked.clear()
                    next_heartbeat = time.monotonic() + self.s.heartbeat_s
            except Exception:  # the agent must outlive any one bad cycle
                log.exception("fleet agent cycle failed")
            wait = min(next_poll, next_heartbeat) - time.monotonic()
            if self.store.load().get("staged"):
                wait = min(wait, 1.0)  # staged: look for a moment between visits every second
            self._wake.wait(max(0.05, wait))
            self._wake.clear()

    # -- refresh: TUF → staged -----------------------------------------------------------------------

    def refresh(self) -> bool:
        """Fetch and verify; stage a changed set of documents. True when something new was staged."""
        try:
            result = trust.fetch(self.s.state_dir, self.s.repository_url, self.s.trusted_root,
                                 self.s.kiosk_id, self.s.scopes)
        except trust.TrustError as exc:
            self.last_error = str(exc)
            log.warning("fleet refresh: %s", exc)
            return False
        self.last_error = None
        with self._lock:
            state = self.store.load()
            state["revision"] = max(state.get("revision", 0), result.revision)
            for refusal in result.refusals:
                self._note_refusal(state, refusal.scope, refusal.version, refusal.reason)
            staged = self._stage(state, result)
            self.store.save(state)
            self.store.prune(state)
        if state["pending_reports"]:
            self.flush_reports()
        return staged

    def _note_refusal(self, state: dict, scope: str, version: int, reason: str) -> None:
        key = f"{scope}@{version}"
        if key in state["reported"]:
            return
        log.warning("fleet: refused %s version %d: %s", scope, version, reason)
        state["reported"] = (state["reported"] + [key])[-200:]
        current = state["active"].get(scope, {}).get("version")
        state["pending_reports"].append(_report("refused", scope, version, current, reason))
        _refuse(state, {scope: version}, reason)

    def _stage(self, state: dict, result: trust.FetchResult) -> bool:
        wanted: dict[str, dict] = {}
        docs: dict[str, fleet_document.Document] = {}
        failed = {r.scope for r in result.refusals}  # pointed at something unusable: keep what runs
        for scope in self.s.scopes:
            doc = result.documents.get(scope)
            refused = (doc is not None and doc.version in state["refused"].get(scope, [])) or \
                (doc is None and scope in failed)
            if doc is not None and not refused:
                docs[scope] = doc
                wanted[scope] = {"version": doc.version, "sha256": hashlib.sha256(doc.raw).hexdigest()}
            elif refused and scope in state["active"]:
                wanted[scope] = state["active"][scope]  # keep what runs; that version is refused
            elif refused:
                continue
        base = state["gate"]["after"] if state.get("gate") else state["active"]
        if wanted == base:
            if state.get("staged") and not state.get("gate"):
                state["staged"] = None
            return False
        if state.get("staged") and state["staged"]["layer"] == wanted:
            return False
        changed = {s: e["version"] for s, e in wanted.items() if base.get(s) != e}
        # The candidate must pass this kiosk's own configuration checks over its site file.
        try:
            for scope, doc in docs.items():
                self.store.put_document(doc)
            self._effective(wanted)
        except ConfigError as exc:
            blamed = self._blame(state["active"], wanted, changed) or changed
            for scope, version in blamed.items():
                self._note_refusal(state, scope, version, str(exc))
            return False
        state["staged"] = {"layer": wanted, "attempts": 0}
        log.info("fleet: staged %s", _versions(wanted))
        return True

    def _blame(self, active: dict, wanted: dict, changed: dict[str, int]) -> dict[str, int]:
        blamed = {}
        for scope, version in changed.items():
            alone = dict(active)
            alone[scope] = wanted[scope]
            try:
                self._effective(alone)
            except ConfigError:
                blamed[scope] = version
        return blamed

    def _effective(self, layer: dict) -> Config:
        return fleet_document.effective_config(self.s.site_path, self.store.documents(layer))

    # -- apply and health gate ------------------------------------------------------------------------

    def _quiet_now(self, cfg: Config) -> bool:
        hours = cfg.policy.quiet_hours
        if not hours:
            return True
        start, end = hours.split("-")
        now = datetime.now().strftime("%H:%M")
        return start <= now < end if start <= end else (now >= start or now < end)

    def try_apply(self) -> bool:
        """Apply the staged documents if no citizen is in session; run the health gate. True if applied."""
        with self._lock:
            state = self.store.load()
            staged = state.get("staged")
            if not staged or state.get("gate"):
                return False
            try:
                current_cfg = self._effective(state["active"])
            except (ConfigError, OSError):
                current_cfg = load_config(self.s.site_path)
            if not self._quiet_now(current_cfg):
                return False
            if self.probes.session_active():
                return False
            try:
                new_cfg = self._effective(staged["layer"])
            except (ConfigError, OSError) as exc:
                state["staged"] = None
                self.store.save(state)
                log.error("fleet: staged documents unusable: %s", exc)
                return False
            before = state["active"]
            changed = {s: e["version"] for s, e in staged["layer"].items() if before.get(s) != e}
            removed = {s: 0 for s in before if s not in staged["layer"]}
            devices_before = _safe(self.probes.device_health, {})
            state["gate"] = {"before": before, "after": staged["layer"], "changed": {**changed, **removed},
                             "devices_before": devices_before, "started_at": _now_iso(),
                             "attempts": staged.get("attempts", 0) + 1}
            state["active"] = staged["layer"]
            state["staged"] = None
            self.store.save(state)  # from here a crash is undone by startup_config()
        log.info("fleet: applying %s (was %s)", _versions(staged["layer"]), _versions(before))
        try:
            self.probes.apply_config(new_cfg)
            result = self.health_gate(devices_before)
        except Exception as exc:  # noqa: BLE001 - whatever the app raised is the reason
            result = GateResult(False, f"applying failed: {type(exc).__name__}: {exc}")
        self._finish_gate(result)
        return True

    def health_gate(self, devices_before: dict[str, bool]) -> GateResult:
        """Within the window: the UI draws, devices healthy before still are, the platform answers."""
        window = self.s.health_window_s
        settle = self.s.settle_s if self.s.settle_s is not None else min(5.0, window / 2)
        started = time.monotonic()
        reason = "no check ran"
        while True:
            elapsed = time.monotonic() - started
            reason = self._check_health(devices_before)
            if reason is None and elapsed >= settle:
                return GateResult(True)
            if elapsed >= window or self._stop.is_set():
                return GateResult(False, reason or "stopped before the health gate passed")
            time.sleep(min(0.5, max(0.05, settle - elapsed if reason is None else 0.5)))

    def _check_health(self, devices_before: dict[str, bool]) -> str | None:
        if not _safe(self.probes.ui_drawing, False):
            return "the screen stopped drawing"
        now = _safe(self.probes.device_health, {})
        lost = sorted(name for name, ok in devices_before.items() if ok and not now.get(name, False))
        if lost:
            return f"device not healthy after the change: {', '.join(lost)}"
        if self.s.platform_url and not self.platform_answers():
            return "the platform does not answer"
        return None

    def platform_answers(self) -> bool:
        try:
            return self.http.get(self.s.platform_url.rstrip("/") + "/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def _finish_gate(self, result: GateResult) -> None:
        with self._lock:
            state = self.store.load()
            gate = state.get("gate")
            if gate is None:
                return
            before_versions = _versions(gate["before"])
            if result.passed:
                state["last_good"] = gate["after"]
                for scope, version in gate["changed"].items():
                    state["pending_reports"].append(
                        _report("applied", scope, version, before_versions.get(scope), "health gate passed"))
                outcome = "applied"
            else:
                state["active"] = gate["before"]
                _refuse(state, {s: v for s, v in gate["changed"].items() if v}, result.reason)
                for scope, version in gate["changed"].items():
                    if version:
                        state["pending_reports"].append(
                            _report("rolled_back", scope, version, before_versions.get(scope), result.reason))
                outcome = f"rolled back: {result.reason}"
            state["history"] = (state["history"] + [{
                "at": _now_iso(), "before": before_versions, "after": _versions(gate["after"]),
                "result": outcome}])[-20:]
            state["gate"] = None
            self.store.save(state)
            self.store.prune(state)
        if not result.passed:
            log.warning("fleet: %s", outcome)
            try:
                self.probes.apply_config(self._effective(gate["before"]))
            except Exception:
                log.exception("fleet: returning to the last good configuration failed")
        else:
            log.info("fleet: %s", outcome)
        self.flush_reports()

    # -- talking to the platform ---------------------------------------------------------------------

    def flush_reports(self) -> None:
        if not self.s.platform_url:
            return
        with self._lock:
            state = self.store.load()
            pending = list(state["pending_reports"])
        sent = 0
        for report in pending:
            body = {k: v for k, v in report.items() if k != "at"}
            try:
                response = self.http.post(self.s.platform_url.rstrip("/") + "/api/v1/fleet/reports",
                                          json=body, timeout=10)
            except requests.RequestException:
                break
            if response.status_code >= 500:
                break
            sent += 1  # 2xx, or a 4xx that retrying will not fix
        if sent:
            with self._lock:
                state = self.store.load()
                state["pending_reports"] = state["pending_reports"][sent:]
                self.store.save(state)

    def heartbeat_body(self, diagnostics: bool = False) -> dict:
        state = self.store.load()
        devices = _safe(self.probes.device_health, {})
        recent_bad = bool(state["history"]) and state["history"][-1]["result"].startswith("rolled back")
        body = {
            "software_version": _software_version(),
            "config_applied": _versions(state["active"]),
            "config_staged": _versions((state.get("staged") or {}).get("layer") or {}),
            "devices": {name: "ok" if ok else "fault" for name, ok in devices.items()},
            "healthy": all(devices.values()) and not recent_bad and state.get("gate") is None,
            "outbox_backlog": _safe(self.probes.outbox_backlog, None),
            "disk_free_mb": _disk_free_mb(self.s.data_dir),
            "paper_left_m": _safe(self.probes.paper_left_m, None),
            "uptime_s": int(time.monotonic() - _START),
            "clock_offset_ms": self._clock_offset_ms,
        }
        if diagnostics:
            body["diagnostics"] = {"history": state["history"][-5:], "refused": state["refused"],
                                   "revision": state["revision"], "last_error": self.last_error}
        return {k: v for k, v in body.items() if v is not None}

    def heartbeat(self, diagnostics: bool = False) -> bool:
        if not self.s.platform_url:
            return False
        body = self.heartbeat_body(diagnostics)
        url = f"{self.s.platform_url.rstrip('/')}/api/v1/kiosks/{self.s.kiosk_id}/heartbeat"
        sent_at = time.time()
        try:
            response = self.http.post(url, json=body, timeout=10)
        except requests.RequestException as exc:
            log.info("fleet heartbeat not sent: %s", type(exc).__name__)
            return False
        received = time.time()
        if response.status_code == 200:
            try:
                server = datetime.fromisoformat(response.json()["received_at"]).timestamp()
                self._clock_offset_ms = int((server - (sent_at + received) / 2) * 1000)
            except (ValueError, KeyError, TypeError):
                pass
            if self.store.load()["pending_reports"]:
                self.flush_reports()
            return True
        log.warning("fleet heartbeat refused: HTTP %d", response.status_code)
        return False

    def status(self) -> dict:
        """What the agent runs and holds, for the app's service screen and for tests."""
        state = self.store.load()
        return {"active": _versions(state["active"]), "last_good": _versions(state["last_good"]),
                "staged": _versions((state.get("staged") or {}).get("layer") or {}),
                "gate_open": state.get("gate") is not None, "refused": state["refused"],
                "revision": state["revision"], "history": state["history"], "last_error": self.last_error}


def _safe(probe: Callable[[], Any], default: Any) -> Any:
    try:
        return probe()
    except Exception:
        log.warning("fleet probe %s failed", getattr(probe, "__name__", probe), exc_info=True)
        return default


def _disk_free_mb(path: Path) -> int | None:
    try:
        target = path if path.exists() else Path(os.sep)
        return shutil.disk_usage(target).free // (1024 * 1024)
    except OSError:
        return None


def start_agent(cfg: Config, site_path: str | None, probes: Probes, **overrides: Any) -> FleetAgent | None:
    """Start the agent for a kiosk whose site file names a fleet repository; None otherwise."""
    if not cfg.fleet.repository_url and "repository_url" not in overrides:
        return None
    return FleetAgent(AgentSettings.from_config(cfg, site_path, **overrides), probes).start()
