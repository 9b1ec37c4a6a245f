"""The platform's fleet records (SQLite or PostgreSQL, through :class:`backend.db.Database`).

A dashboard reads these tables; only ``backend.fleet`` writes them. All times are UTC.

``fleet_settings`` (key → value)
    ``fleet_dir``: the fleet directory (TUF repository + online key); ``mqtt_url``: the notice broker
    (``mqtt://host:port``, empty: none); ``tick_s``: the controller's period (5);
    ``heartbeat_days``: how long heartbeat history is kept (30).

``kiosks`` (the platform's existing table) gives each kiosk its id and its town: ``fleet_group``.
A kiosk's scopes are ``county`` (every kiosk), ``town/<fleet_group>`` and ``kiosk/<id>``.

``fleet_kiosk_status`` — one row per kiosk that ever sent a fleet heartbeat: the latest values.
    kiosk_id (PK), last_heartbeat_at, online (bool, MQTT presence or a heartbeat within 3 minutes),
    presence_at, software_version, config_applied (JSON {scope: version}), config_staged (JSON),
    devices (JSON {device: "ok"|"fault"|...}), healthy (bool: every device ok and not rolled back),
    outbox_backlog, disk_free_mb, paper_left_m (receipt paper estimate in metres), uptime_s,
    clock_offset_ms.

``fleet_heartbeats`` — history, one row per heartbeat (same fields as above, plus id and
    received_at); indexed by (kiosk_id, received_at) for a kiosk's chart; rows older than
    ``heartbeat_days`` are deleted by the controller.

``fleet_documents`` — every published document: id, scope, version (unique together), sha256,
    size, note, target_path, published_at.

``fleet_rollouts`` — one per publish: id, document_id, scope, version, previous_version (what the
    scope's kiosks ran before: where an abort returns them), state (``running`` | ``paused`` |
    ``halted`` | ``aborted`` | ``completed`` | ``superseded``), plan (JSON: canary, percents,
    soak_s, halt_threshold, min_applied), current_wave (index), reason (why it last changed state),
    created_at, updated_at.

``fleet_waves`` — the waves of a rollout: (rollout_id, index) PK, percent (cumulative share of the
    scope's kiosks; the canary wave is index 0 with percent 0), size, state (``pending`` |
    ``active`` | ``passed`` | ``halted``), started_at, passed_at.

``fleet_wave_members`` — (rollout_id, kiosk_id) PK, wave_index: the wave in which a kiosk gets the
    rollout's version.

``fleet_reports`` — what kiosks said happened: id, kiosk_id, at, kind (``applied`` |
    ``rolled_back`` | ``refused``), scope, version, from_version, reason. Rollbacks with their
    reasons are the rows of kind ``rolled_back``.

``fleet_rollout_events`` — the controller's log: id, rollout_id, at, message (advanced to wave N,
    halted because ..., paused by the administrator, ...).
"""
from __future__ import annotations

import sqlalchemy as sa

fleet_metadata = sa.MetaData()

fleet_settings = sa.Table(
    "fleet_settings", fleet_metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

_STATUS_COLUMNS = (
    ("software_version", sa.String(64)),
    ("config_applied", sa.JSON),
    ("config_staged", sa.JSON),
    ("devices", sa.JSON),
    ("healthy", sa.Boolean),
    ("outbox_backlog", sa.Integer),
    ("disk_free_mb", sa.Integer),
    ("paper_left_m", sa.Float),
    ("uptime_s", sa.Integer),
    ("clock_offset_ms", sa.Integer),
)

fleet_kiosk_status = sa.Table(
    "fleet_kiosk_status", fleet_metadata,
    sa.Column("kiosk_id", sa.String(64), primary_key=True),
    sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("online", sa.Boolean, nullable=False, default=False),
    sa.Column("presence_at", sa.DateTime(timezone=True), nullable=True),
    *(sa.Column(name, kind, nullable=True) for name, kind in _STATUS_COLUMNS),
)

fleet_heartbeats = sa.Table(
    "fleet_heartbeats", fleet_metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    *(sa.Column(name, kind, nullable=True) for name, kind in _STATUS_COLUMNS),
    sa.Index("ix_fleet_heartbeats_kiosk_time", "kiosk_id", "received_at"),
)

fleet_documents = sa.Table(
    "fleet_documents", fleet_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scope", sa.String(80), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("target_path", sa.String(160), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("scope", "version", name="uq_fleet_documents_scope_version"),
)

fleet_rollouts = sa.Table(
    "fleet_rollouts", fleet_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("document_id", sa.Integer, sa.ForeignKey("fleet_documents.id"), nullable=False),
    sa.Column("scope", sa.String(80), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("previous_version", sa.Integer, nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("plan", sa.JSON, nullable=False),
    sa.Column("current_wave", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

fleet_waves = sa.Table(
    "fleet_waves", fleet_metadata,
    sa.Column("rollout_id", sa.Integer, sa.ForeignKey("fleet_rollouts.id"), primary_key=True),
    sa.Column("index", sa.Integer, primary_key=True),
    sa.Column("percent", sa.Integer, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("passed_at", sa.DateTime(timezone=True), nullable=True),
)

fleet_wave_members = sa.Table(
    "fleet_wave_members", fleet_metadata,
    sa.Column("rollout_id", sa.Integer, sa.ForeignKey("fleet_rollouts.id"), primary_key=True),
    sa.Column("kiosk_id", sa.String(64), primary_key=True),
    sa.Column("wave_index", sa.Integer, nullable=False),
)

fleet_reports = sa.Table(
    "fleet_reports", fleet_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("scope", sa.String(80), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("from_version", sa.Integer, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
)

fleet_rollout_events = sa.Table(
    "fleet_rollout_events", fleet_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rollout_id", sa.Integer, sa.ForeignKey("fleet_rollouts.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)
