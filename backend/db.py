"""The backend's tables and its one way into the database: short transactions from :class:`Database`.

SQLite is the default and gets WAL, ``synchronous=FULL`` (an acknowledged write must survive power
loss: the kiosk deletes its copy once we answer) and a busy timeout. Writes on SQLite start with
``BEGIN IMMEDIATE`` so two writers queue on the lock instead of failing on an upgrade from a read
lock; on PostgreSQL the unique constraints do the arbitration (see ``idempotency``).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from backend.catalogue import ITEM_FIELDS, validate_item
from backend.clock import as_utc, utc_now
from backend.tokens import MAX_KIOSK_NUMBER, KioskRegistration, check_token

__all__ = ["Database", "DatabaseURLError", "DatabaseUnavailable", "as_utc", "utc_now", "token_digest"]

metadata = sa.MetaData()

catalogue_items = sa.Table(
    "catalogue_items",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("department", sa.Text, nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("conditions", sa.Text, nullable=False),
    sa.Column("materials", sa.JSON, nullable=False),
    sa.Column("steps", sa.JSON, nullable=False),
    sa.Column("time_limit_days", sa.Integer, nullable=False),
    sa.Column("fees", sa.Text, nullable=False),
    sa.Column("fee_basis", sa.Text, nullable=False),
    sa.Column("legal_basis", sa.Text, nullable=False),
    sa.Column("phone", sa.String(32), nullable=False),
    sa.Column("supervision_phone", sa.String(32), nullable=False),
    sa.Column("kiosk_submittable", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("en", sa.JSON, nullable=True),  # the item's own text in English, when the platform has it
)

# The catalogue's other parts, one JSON document each: "places" (where items are done, hours) and
# "forms" (the forms a kiosk prints). Validated by backend.catalogue before they are stored.
catalogue_documents = sa.Table(
    "catalogue_documents",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

kiosks = sa.Table(
    "kiosks",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    # Only the sha256 of the bearer token is kept: a leaked database does not leak tokens.
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("fleet_group", sa.String(64), nullable=True),
    # 1-9999, in every receipt number the kiosk issues (see ``backend.numbers``); 0 is the platform's.
    sa.Column("number", sa.Integer, nullable=True, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_state", sa.JSON, nullable=True),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(255), nullable=False, unique=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("path", sa.String(512), nullable=False),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    # The exact bytes first sent, so a replay is byte-identical.
    sa.Column("response_body", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

echoes = sa.Table(
    "echoes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=False),
    sa.Column("body", sa.JSON, nullable=True),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

backend_meta = sa.Table(
    "backend_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# -- applications (办件) and what came with them --------------------------------------------------
# Personal data is kept in clear here on purpose: this is the platform, the system of record. It
# never goes to logs (see ``hide_parameters`` below) and is masked in every answer that a stranger
# holding a receipt could see.

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("receipt_no", sa.String(40), nullable=False, unique=True),
    sa.Column("item_id", sa.String(32), nullable=False),
    # The item's name and time limit as they were when the application was received.
    sa.Column("item_name", sa.Text, nullable=False),
    sa.Column("department", sa.Text, nullable=False),
    sa.Column("time_limit_days", sa.Integer, nullable=False),
    sa.Column("kiosk_id", sa.String(64), nullable=True),
    sa.Column("applicant_name", sa.Text, nullable=False),
    sa.Column("applicant_id_number", sa.String(18), nullable=False, index=True),
    sa.Column("applicant_phone", sa.String(32), nullable=False),
    sa.Column("delivery", sa.JSON, nullable=False),
    sa.Column("materials", sa.JSON, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deadline", sa.Date, nullable=False),
)

application_events = sa.Table(
    "application_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("application_id", sa.Integer, sa.ForeignKey("applications.id"), nullable=False, index=True),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

submission_files = sa.Table(
    "submission_files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("application_id", sa.Integer, sa.ForeignKey("applications.id"), nullable=False, index=True),
    sa.Column("material", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("content_type", sa.String(32), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

certificates = sa.Table(
    "certificates",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("holder_name", sa.Text, nullable=False),
    sa.Column("holder_id_number", sa.String(18), nullable=False, index=True),
    sa.Column("paragraphs", sa.JSON, nullable=False),
    sa.Column("table_rows", sa.JSON, nullable=True),
    sa.Column("department", sa.Text, nullable=False),
    sa.Column("issued_on", sa.Date, nullable=False),
    sa.Column("valid_until", sa.Date, nullable=True),
    sa.Column("verification_code", sa.String(19), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(32), nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("receipt_no", sa.String(40), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("callback_phone", sa.String(20), nullable=True),   # an unhappy citizen asked to be called
)

service_requests = sa.Table(
    "service_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_no", sa.String(40), nullable=False, unique=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("item_id", sa.String(32), nullable=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("phone", sa.String(32), nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("preferred_time", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# -- who looked at whose personal records ------------------------------------------------------------

subject_access = sa.Table(
    "subject_access",
    metadata,
    # One row per listing or download of a person's certificates or applications by a kiosk: the
    # audit trail, the per-kiosk limit on distinct people per hour, and the proof that a document
    # follows a listing. ``subject_key`` is a keyed hash of the ID number (to count and match);
    # ``subject_masked`` is what an auditor reads.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kiosk_id", sa.String(64), nullable=False, index=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("subject_key", sa.String(64), nullable=False),
    sa.Column("subject_masked", sa.String(32), nullable=False),
    sa.Column("target", sa.String(64), nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
)

alerts = sa.Table(
    "alerts",
    metadata,
    # Things an operator must look at (a kiosk asking for too many people): kept until handled.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("kiosk_id", sa.String(64), nullable=True),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

# -- appointments, payments and links to the phone (``backend.appointments``, ``backend.payments``,
# ``backend.mobile_links``) ------------------------------------------------------------------------

appointment_slots = sa.Table(
    "appointment_slots",
    metadata,
    # A time at a service centre for one item: ``kind`` window, after_hours (opened on request) or
    # home_visit (staff go to ``village``). ``booked`` never exceeds ``capacity``.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("centre", sa.Text, nullable=False),
    sa.Column("item_id", sa.String(32), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("village", sa.Text, nullable=True),
    sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("booked", sa.Integer, nullable=False),
)

appointments = sa.Table(
    "appointments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("booking_no", sa.String(40), nullable=False, unique=True),
    sa.Column("slot_id", sa.Integer, sa.ForeignKey("appointment_slots.id"), nullable=False, index=True),
    sa.Column("item_id", sa.String(32), nullable=False),
    sa.Column("kiosk_id", sa.String(64), nullable=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("id_number", sa.String(18), nullable=False, index=True),
    sa.Column("phone", sa.String(32), nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
)

callback_tasks = sa.Table(
    "callback_tasks",
    metadata,
    # Someone staff must phone back (a slot taken while they were booking), kept until handled.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task_no", sa.String(40), nullable=False, unique=True),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("kiosk_id", sa.String(64), nullable=True),
    sa.Column("item_id", sa.String(32), nullable=False),
    sa.Column("slot_id", sa.Integer, nullable=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("phone", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

item_fees = sa.Table(
    "item_fees",
    metadata,
    # What an item costs, in fen (0.01 yuan); an item without a row takes no payment.
    sa.Column("item_id", sa.String(32), primary_key=True),
    sa.Column("amount_fen", sa.Integer, nullable=False),
    sa.Column("label", sa.Text, nullable=False),
)

payment_orders = sa.Table(
    "payment_orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_no", sa.String(40), nullable=False, unique=True),
    sa.Column("item_id", sa.String(32), nullable=False),
    sa.Column("item_name", sa.Text, nullable=False),
    sa.Column("amount_fen", sa.Integer, nullable=False),
    sa.Column("kiosk_id", sa.String(64), nullable=True),
    sa.Column("receipt_no", sa.String(40), nullable=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("provider_ref", sa.String(64), nullable=False, unique=True),
    sa.Column("qr_content", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("paid_transaction", sa.String(64), nullable=True),
    sa.Column("paid_late", sa.Boolean, nullable=False),
    sa.Column("refund_due_fen", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
)

payment_events = sa.Table(
    "payment_events",
    metadata,
    # Every notification from the payment provider, once per (order, event, transaction).
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_no", sa.String(40), nullable=False, index=True),
    sa.Column("event", sa.String(16), nullable=False),
    sa.Column("transaction_id", sa.String(64), nullable=False),
    sa.Column("amount_fen", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(24), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("order_no", "event", "transaction_id"),
)

mobile_links = sa.Table(
    "mobile_links",
    metadata,
    # A page on the phone: only the sha256 of the link's random token is kept.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("target", sa.String(40), nullable=False),
    sa.Column("kiosk_id", sa.String(64), nullable=True),
    sa.Column("form_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

# -- divisions and courier shipments (``backend.divisions``, ``backend.courier``) ----------------------

divisions = sa.Table(
    "divisions",
    metadata,
    # Administrative divisions the platform serves, for addresses chosen from lists.
    sa.Column("code", sa.String(12), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("parent", sa.String(12), nullable=True, index=True),
)

shipments = sa.Table(
    "shipments",
    metadata,
    # One parcel with the courier: a result or certificate to the citizen (``deliver``) or their
    # originals picked up from home (``pickup``). Linked to an application's receipt number or to
    # a certificate order's number (``order_no``).
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tracking_no", sa.String(40), nullable=False, unique=True),
    sa.Column("courier", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("receipt_no", sa.String(40), nullable=True, index=True),
    sa.Column("order_no", sa.String(40), nullable=True, index=True),
    sa.Column("certificate_id", sa.String(32), nullable=True),
    sa.Column("kiosk_id", sa.String(64), nullable=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("phone", sa.String(32), nullable=False),
    sa.Column("division", sa.String(12), nullable=False),
    sa.Column("house", sa.String(32), nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("pickup_from", sa.DateTime(timezone=True), nullable=True),
    sa.Column("pickup_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

shipment_steps = sa.Table(
    "shipment_steps",
    metadata,
    # What the courier reported, once per (shipment, step).
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("shipment_id", sa.Integer, sa.ForeignKey("shipments.id"), nullable=False, index=True),
    sa.Column("step", sa.String(24), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("shipment_id", "step"),
)

appointment_requests = sa.Table(
    "appointment_requests",
    metadata,
    # A booking a kiosk queued while the platform was out of reach, under the kiosk's own number:
    # what became of it (``booked`` with its booking, or ``slot_taken`` with its call-back task).
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_no", sa.String(40), nullable=False, unique=True),
    sa.Column("kiosk_id", sa.String(64), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("booking_no", sa.String(40), nullable=True),
    sa.Column("callback_no", sa.String(40), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# -- electronic licences (电子证照) and submissions left unfinished (``backend.licences``) ------------

electronic_licences = sa.Table(
    "electronic_licences",
    metadata,
    # A licence the platform holds for a person (household register, marriage certificate, business
    # licence, ...): it stands for the paper in a submission by its holder while it is valid.
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("licence_type", sa.String(32), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("holder_name", sa.Text, nullable=False),
    sa.Column("holder_id_number", sa.String(18), nullable=False, index=True),
    sa.Column("licence_no", sa.String(40), nullable=False),
    sa.Column("issuer", sa.Text, nullable=False),
    sa.Column("issued_on", sa.Date, nullable=False),
    sa.Column("valid_until", sa.Date, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

unfinished_submissions = sa.Table(
    "unfinished_submissions",
    metadata,
    # What a citizen still had to bring when they left a submission at a kiosk (手机继续办): the
    # item and the materials' names, nothing personal; a mobile link (kind ``unfinished``) opens it.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("number", sa.String(40), nullable=False, unique=True),
    sa.Column("item_id", sa.String(32), nullable=False),
    sa.Column("missing", sa.JSON, nullable=False),
    sa.Column("from_licences", sa.JSON, nullable=False),
    sa.Column("kiosk_id", sa.String(64), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

SCHEMA_VERSION = "2"


class DatabaseURLError(ValueError):
    """The database URL cannot be used: unparseable, unknown dialect, driver missing, bad path."""


class DatabaseUnavailable(RuntimeError):
    """The database URL is fine but the database cannot be reached or opened."""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook emit BEGIN so we choose DEFERRED or IMMEDIATE ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: sa.Connection) -> None:
    mode = "IMMEDIATE" if connection.get_execution_options().get("for_write") else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """One engine and short transactions on it: ``with db.read() as conn`` / ``with db.write() as conn``.

    Constructing it checks the URL and the driver but does not connect; :meth:`initialise` creates
    the tables (``backend.seed`` adds data, for the demo and tests).
    """

    def __init__(self, url: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        try:
            parsed = sa.engine.make_url(url)
        except sa_exc.ArgumentError:
            raise DatabaseURLError(f"cannot parse database URL {url!r}") from None
        self.url = parsed
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        # Statement parameters carry names and ID numbers: keep them out of SQL logging and out
        # of the text of database errors (which end up in the error log).
        options: dict[str, Any] = {"hide_parameters": True}
        if self.is_sqlite:
            database = parsed.database or ""
            if database in ("", ":memory:") or database.startswith("file:"):
                raise DatabaseURLError("in-memory SQLite is not supported: give a file, sqlite:///PATH")
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise DatabaseURLError(f"folder {parent} for the SQLite database does not exist")
            options["connect_args"] = {"timeout": 15, "check_same_thread": False}
        else:
            options["pool_pre_ping"] = True
        try:
            self.engine = sa.create_engine(parsed, **options)
        except sa_exc.NoSuchModuleError:
            raise DatabaseURLError(
                f"unsupported database URL {self.display_url()!r}: no SQLAlchemy dialect "
                f"{parsed.drivername!r}"
            ) from None
        except ImportError as exc:
            raise DatabaseURLError(
                f"the database driver for {parsed.drivername!r} is not installed ({exc.name})"
            ) from None
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_on_connect)
            sa.event.listen(self.engine, "begin", _sqlite_on_begin)

    def display_url(self) -> str:
        """The URL with any password hidden, for messages and logs."""
        return self.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(for_write=True)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()

    # -- set-up -------------------------------------------------------------------------------

    def initialise(self) -> None:
        """Create missing tables and bring older databases up to date; never adds any data.

        A SQLite file is created readable by its owner only (0600), and an existing one is made
        so: it holds names, ID numbers, scans and the certificate signing secret. Seeding is a
        separate step (``backend.seed``).
        """
        try:
            if self.is_sqlite:
                self._protect_sqlite_files()
            metadata.create_all(self.engine)
            self._migrate()
        except sa_exc.DatabaseError as exc:  # includes OperationalError (cannot connect/open)
            raise DatabaseUnavailable(
                f"cannot open database {self.display_url()}: {exc.orig or exc}".splitlines()[0]
            ) from None

    def _protect_sqlite_files(self) -> None:
        path = Path(self.url.database or "").expanduser()
        if not path.exists():
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass
            except OSError as exc:
                raise DatabaseUnavailable(f"cannot create {path}: {exc.strerror}") from None
        # SQLite gives its -wal and -shm files the main file's permissions; fix older ones too.
        for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            with contextlib.suppress(FileNotFoundError, PermissionError):
                if candidate.stat().st_mode & 0o077:
                    candidate.chmod(0o600)

    def _migrate(self) -> None:
        """Schema 1 → 2: kiosks get a number; existing kiosks are numbered in order of creation."""
        columns = {column["name"] for column in sa.inspect(self.engine).get_columns("kiosks")}
        rating_columns = {column["name"] for column in sa.inspect(self.engine).get_columns("ratings")}
        item_columns = {column["name"] for column in sa.inspect(self.engine).get_columns("catalogue_items")}
        with self.write() as conn:
            if "en" not in item_columns:
                conn.exec_driver_sql("ALTER TABLE catalogue_items ADD COLUMN en JSON")
            if "callback_phone" not in rating_columns:
                conn.exec_driver_sql("ALTER TABLE ratings ADD COLUMN callback_phone VARCHAR(20)")
            if "number" not in columns:
                conn.exec_driver_sql("ALTER TABLE kiosks ADD COLUMN number INTEGER")
                conn.exec_driver_sql("CREATE UNIQUE INDEX IF NOT EXISTS ix_kiosks_number ON kiosks (number)")
            unnumbered = conn.execute(sa.select(kiosks.c.id).where(kiosks.c.number.is_(None))
                                      .order_by(kiosks.c.created_at, kiosks.c.id)).scalars().all()
            for kiosk_id in unnumbered:
                conn.execute(sa.update(kiosks).where(kiosks.c.id == kiosk_id)
                             .values(number=self._free_number(conn)))
            version = conn.execute(sa.select(backend_meta.c.value)
                                   .where(backend_meta.c.key == "schema_version")).scalar()
            if version is None:
                conn.execute(sa.insert(backend_meta).values(key="schema_version", value=SCHEMA_VERSION))
            elif version != SCHEMA_VERSION:
                conn.execute(sa.update(backend_meta).where(backend_meta.c.key == "schema_version")
                             .values(value=SCHEMA_VERSION))

    def meta(self, key: str) -> str | None:
        with self.read() as conn:
            return conn.execute(sa.select(backend_meta.c.value).where(backend_meta.c.key == key)).scalar()

    # -- kiosks ---------------------------------------------------------------------------------

    @staticmethod
    def _free_number(conn: sa.Connection) -> int:
        highest = conn.execute(sa.select(sa.func.max(kiosks.c.number))).scalar() or 0
        if highest < MAX_KIOSK_NUMBER:
            return highest + 1
        used = set(conn.execute(sa.select(kiosks.c.number).where(kiosks.c.number.is_not(None))).scalars())
        for number in range(1, MAX_KIOSK_NUMBER + 1):
            if number not in used:
                return number
        raise ValueError(f"all {MAX_KIOSK_NUMBER} kiosk numbers are in use")

    def register_kiosks(self, entries: Iterable[KioskRegistration] | dict[str, str],
                        group: str | None = None, *, allow_weak: bool = False) -> None:
        """Add kiosks or give existing ones a new token (and number, when given), in one transaction.

        A plain ``{id: token}`` keeps each kiosk's number or gives a new kiosk the next free one.
        Every token must carry 128 bits (``backend.tokens.check_token``; ``allow_weak`` only for
        the demo), else :class:`~backend.tokens.TokenError`, a ``ValueError``. The operator's word wins: a
        token or number given here that another kiosk holds is taken from it (a kiosk that loses
        its token is locked out until it gets a new one), so a token or number never names two
        kiosks.
        """
        if isinstance(entries, dict):
            entries = [KioskRegistration(kiosk_id, None, token) for kiosk_id, token in entries.items()]
        entries = list(entries)
        for entry in entries:
            check_token(entry.kiosk_id, entry.token, allow_weak=allow_weak)
        digests = {entry.kiosk_id: token_digest(entry.token) for entry in entries}
        if len(digests) != len(entries):
            raise ValueError("a kiosk is listed twice")
        if len(set(digests.values())) != len(digests):
            raise ValueError("two kiosks were given the same token")
        wanted = [entry.number for entry in entries if entry.number is not None]
        if len(set(wanted)) != len(wanted):
            raise ValueError("two kiosks were given the same number")
        for number in wanted:
            if not 1 <= number <= MAX_KIOSK_NUMBER:
                raise ValueError(f"kiosk numbers are 1-{MAX_KIOSK_NUMBER}, not {number}")
        with self.write() as conn:
            for entry in entries:
                # Park the affected rows on placeholders first so swaps and transfers never
                # collide with the unique constraints half-way.
                digest = digests[entry.kiosk_id]
                conn.execute(sa.update(kiosks)
                             .where(sa.or_(kiosks.c.id == entry.kiosk_id, kiosks.c.token_sha256 == digest))
                             .values(token_sha256=sa.literal("revoked:") + kiosks.c.id))
                if entry.number is not None:
                    conn.execute(sa.update(kiosks).where(kiosks.c.number == entry.number)
                                 .values(number=None))
            for entry in entries:
                digest = digests[entry.kiosk_id]
                exists = conn.execute(sa.select(kiosks.c.id).where(kiosks.c.id == entry.kiosk_id)).scalar()
                if exists is None:
                    conn.execute(sa.insert(kiosks).values(
                        id=entry.kiosk_id, token_sha256=digest, fleet_group=group,
                        number=entry.number if entry.number is not None else self._free_number(conn),
                        created_at=self.clock()))
                else:
                    values: dict[str, Any] = {"token_sha256": digest}
                    if group is not None:
                        values["fleet_group"] = group
                    if entry.number is not None:
                        values["number"] = entry.number
                    conn.execute(sa.update(kiosks).where(kiosks.c.id == entry.kiosk_id).values(**values))
            # a kiosk whose number was given to another gets a free one
            for kiosk_id in conn.execute(sa.select(kiosks.c.id).where(kiosks.c.number.is_(None))).scalars().all():
                conn.execute(sa.update(kiosks).where(kiosks.c.id == kiosk_id)
                             .values(number=self._free_number(conn)))

    def revoke_token(self, token: str) -> list[str]:
        """Take ``token`` from whichever kiosk holds it; return the kiosks locked out."""
        with self.write() as conn:
            holders = conn.execute(sa.select(kiosks.c.id)
                                   .where(kiosks.c.token_sha256 == token_digest(token))).scalars().all()
            conn.execute(sa.update(kiosks).where(kiosks.c.token_sha256 == token_digest(token))
                         .values(token_sha256=sa.literal("revoked:") + kiosks.c.id))
        return list(holders)

    def active_kiosk_count(self) -> int:
        """Kiosks holding a token (a revoked one holds a placeholder that no token hashes to)."""
        with self.read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(kiosks)
                                .where(~kiosks.c.token_sha256.startswith("revoked:"))).scalar()

    def kiosk_for_token(self, token: str) -> sa.Row | None:
        with self.read() as conn:
            return conn.execute(
                sa.select(kiosks.c.id, kiosks.c.fleet_group, kiosks.c.number)
                .where(kiosks.c.token_sha256 == token_digest(token))
            ).first()

    # -- catalogue ------------------------------------------------------------------------------

    def catalogue(self) -> list[dict]:
        """Every item, in catalogue order, with exactly the API's fields."""
        query = (sa.select(*(catalogue_items.c[f] for f in ITEM_FIELDS))
                 .order_by(catalogue_items.c.position, catalogue_items.c.id))
        with self.read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def catalogue_item(self, item_id: str) -> dict | None:
        query = (sa.select(*(catalogue_items.c[f] for f in ITEM_FIELDS))
                 .where(catalogue_items.c.id == item_id))
        with self.read() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else dict(row)

    def catalogue_document(self, name: str) -> list[dict]:
        """The catalogue's ``places`` or ``forms`` (empty when the platform has none)."""
        with self.read() as conn:
            found = conn.execute(sa.select(catalogue_documents.c.document)
                                 .where(catalogue_documents.c.name == name)).scalar()
        return list(found or [])

    def put_catalogue_document(self, name: str, document: list[dict]) -> None:
        """Replace the catalogue's ``places`` or ``forms`` (validated by the caller)."""
        with self.write() as conn:
            conn.execute(sa.delete(catalogue_documents).where(catalogue_documents.c.name == name))
            conn.execute(sa.insert(catalogue_documents).values(name=name, document=document, updated_at=self.clock()))

    def put_catalogue_item(self, item: dict) -> None:
        """Add or replace one item after validating it; new items go to the end."""
        item = validate_item(item)
        with self.write() as conn:
            exists = conn.execute(
                sa.select(catalogue_items.c.id).where(catalogue_items.c.id == item["id"])
            ).scalar()
            if exists is None:
                last = conn.execute(sa.select(sa.func.max(catalogue_items.c.position))).scalar()
                conn.execute(sa.insert(catalogue_items).values(
                    **item, position=(last if last is not None else -1) + 1, updated_at=self.clock()))
            else:
                conn.execute(sa.update(catalogue_items).where(catalogue_items.c.id == item["id"])
                             .values(**item, updated_at=self.clock()))
