"""The outbox: a durable, encrypted store of HTTP requests waiting for the platform.

One SQLite database (WAL, ``synchronous=FULL``) holds one row per request; attached files live
beside it, sealed, one file each. ``put`` returns only after COMMIT, and every file is written to a
temporary name, fsynced, renamed and its directory fsynced before that COMMIT, so an acknowledged
item survives a power cut. Senders claim items with ``UPDATE … RETURNING`` under ``BEGIN IMMEDIATE``
and a lease (renewed while an attempt runs, outcomes recorded only under it); a sender that dies
leaves a lease that expires and is reclaimed. Nothing is deleted unseen: undeliverable items go to
``dead`` and stay until a person retries them. ``load`` reads on a second connection, so senders'
workers read while another thread commits.

Files are written while holding the database write lock. That serialises writers across processes,
and it is what makes the orphan sweep at open safe: no other process can be between "file renamed"
and "row committed" while the sweep looks.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from offline_queue.durable import folder_lock, fsync_dir, unlink_quietly, write_file_durably
from offline_queue.errors import InvalidItem, ItemNotFound, OutboxError, OutboxFull, UndeliverableItem
from offline_queue.items import (Attachment, ErrorKind, FileSpec, ItemInfo, ItemState, LeasedItem,
                                 Outcome, StoredRequest, check_method, check_path, encode_json, read_attachments)
from offline_queue.schema import (LEASE_SQL, RECLAIM_SQL, SCHEMA, SCHEMA_VERSION, connect, header_problem,
                                  means_corrupt, statements)
from offline_queue.sealing import ItemSealer, load_or_create_key

log = logging.getLogger(__name__)

DB_NAME = "outbox.db"
FILES_DIR = "files"
DEFAULT_QUOTA_BYTES = 512 * 1024 * 1024
DEFAULT_RETENTION_S = 7 * 24 * 3600
DEFAULT_MIN_FREE_BYTES = 16 * 1024 * 1024
DEFAULT_LEASE_S = 300.0


class Outbox:
    """Durable, encrypted store-and-forward queue of platform requests (see the module docstring).

    ``files`` given to ``put`` are paths (sent under their base name) or ``(name, bytes)`` /
    ``(name, bytes, content_type)`` tuples. ``clock`` returns wall-clock seconds; inject one to
    test leases, backoff and retention without sleeping. Safe to share between threads; several
    processes may open the same data folder.
    """

    def __init__(self, data_dir: str | os.PathLike, *, key_file: str | os.PathLike,
                 quota_bytes: int = DEFAULT_QUOTA_BYTES, retention_s: float = DEFAULT_RETENTION_S,
                 min_free_bytes: int = DEFAULT_MIN_FREE_BYTES, clock: Callable[[], float] = time.time) -> None:
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.quota_bytes = int(quota_bytes)
        self.retention_s = float(retention_s)
        self.min_free_bytes = int(min_free_bytes)
        self.clock = clock
        self.recovered_from: Path | None = None  # where a corrupt database was moved at open
        self.recovery_reason: str | None = None
        self._lock = threading.RLock()
        self._read_lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None  # for load(), beside the writing connection
        self._listeners: list[Callable[[dict], None]] = []
        self._db: sqlite3.Connection | None = None
        self._free_bytes, self._free_checked_at = 0, float("-inf")
        self._seen_data_version: int | None = None
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._sealer = ItemSealer(load_or_create_key(Path(key_file), self.data_dir))
        self._files = self.data_dir / FILES_DIR
        with folder_lock(self.data_dir / ".open.lock"):
            self._db = self._open_checked_db()
            try:
                self._files.mkdir(exist_ok=True, mode=0o700)
                fsync_dir(self.data_dir)
                self._prepare()
            except BaseException:
                self.close()
                raise

    # ----------------------------------------------------------------- opening

    def _open_checked_db(self) -> sqlite3.Connection:
        path = self.data_dir / DB_NAME
        problem = header_problem(path)
        if problem is None:
            db = None
            try:
                db = connect(path)
                rows = db.execute("PRAGMA quick_check").fetchall()
                if rows != [("ok",)]:
                    problem = "integrity check failed: " + "; ".join(str(r[0]) for r in rows[:3])
            except sqlite3.DatabaseError as exc:
                if db is not None:
                    db.close()
                if not means_corrupt(exc):
                    raise  # busy, locked, I/O, permissions: a problem to report, not a reason to move data
                problem, db = f"cannot be read: {exc}", None
            if problem is None:
                return db
            if db is not None:
                db.close()
        self._move_aside(problem)
        return connect(path)

    def _move_aside(self, problem: str) -> None:
        """Keep the damaged database and its files for a technician; start afresh beside them."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.clock()))
        target = self.data_dir / f"corrupt-{stamp}"
        n = 1
        while target.exists():
            n += 1
            target = self.data_dir / f"corrupt-{stamp}-{n}"
        target.mkdir(mode=0o700)
        for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", FILES_DIR):
            if (self.data_dir / name).exists():
                os.replace(self.data_dir / name, target / name)
        fsync_dir(target)
        fsync_dir(self.data_dir)
        self.recovered_from, self.recovery_reason = target, problem
        log.error("outbox database %s %s; moved aside to %s, starting a fresh one",
                  self.data_dir / DB_NAME, problem, target)

    def _prepare(self) -> None:
        db = self._db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise OutboxError(f"outbox database {self.data_dir / DB_NAME} is from a newer version "
                              f"(schema {version}); upgrade the kiosk software")
        with self._write() as db:
            for statement in statements(SCHEMA):  # not executescript: it would COMMIT our transaction
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            now = self.clock()
            reclaimed = db.execute(RECLAIM_SQL, (now,)).rowcount
            pruned = db.execute("DELETE FROM items WHERE state = 'done' AND done_at < ?",
                                (now - self.retention_s,)).rowcount
            swept = self._sweep_orphan_files(db)
        if reclaimed or swept:
            log.info("outbox opened: %d expired leases back to pending, %d orphan files removed", reclaimed, swept)
        if pruned:
            log.info("outbox opened: %d delivered items older than the retention period pruned", pruned)

    def _sweep_orphan_files(self, db: sqlite3.Connection) -> int:
        """Remove temp files and files of rows that never committed or are done (crash leftovers)."""
        names = os.listdir(self._files)
        if not names:
            return 0
        live = {row[0] for row in db.execute(
            "SELECT id FROM items WHERE state != 'done' AND file_count > 0")}
        removed = 0
        for name in names:
            if name.startswith(".tmp-") or name.split(".", 1)[0] not in live:
                unlink_quietly(self._files / name)
                removed += 1
        return removed

    # ----------------------------------------------------------------- writing

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._require_open()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
                    raise OutboxFull(f"the disk of {self.data_dir} is full; nothing was changed ({exc})") from exc
                raise

    def _reading(self) -> sqlite3.Connection:
        """The connection ``load`` reads with (under ``_read_lock``): WAL lets it read while the other writes."""
        self._require_open()
        if self._reader is None:
            self._reader = connect(self.data_dir / DB_NAME)
        return self._reader

    def _require_open(self) -> sqlite3.Connection:
        if self._db is None:
            raise OutboxError("the outbox is closed")
        return self._db

    def put(self, method: str, path: str, json: Any = None, files: Iterable[FileSpec] = ()) -> str:
        """Store one request durably and return its id; the item is safe once this returns.

        Raises ``InvalidItem`` (bad JSON, missing file, bad method or path) or ``OutboxFull``
        (quota or disk) having written nothing; any OS error (failed fsync, full disk) propagates.
        """
        method, path = check_method(method), check_path(path)
        json_text = encode_json(json)
        attachments = read_attachments(files)
        item_id = str(uuid.uuid4())  # the item's id and its Idempotency-Key, for every attempt
        envelope = _envelope(json_text, attachments)
        sealed_envelope = self._sealer.seal(item_id, "envelope", envelope)
        sealed_files = [self._sealer.seal(item_id, f"file:{i}", a.data) for i, a in enumerate(attachments)]
        size = len(sealed_envelope) + sum(len(b) for b in sealed_files)
        written: list[Path] = []
        try:
            with self._write() as db:
                self._check_room(db, size)
                for index, blob in enumerate(sealed_files):
                    written.append(write_file_durably(self._files, f"{item_id}.{index}", blob))
                if written:
                    fsync_dir(self._files)
                now = self.clock()
                db.execute("INSERT INTO items (id, method, path, envelope, file_count, bytes,"
                           " state, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                           (item_id, method, path, sealed_envelope, len(sealed_files), size, now, now))
        except BaseException:
            for file in written:
                unlink_quietly(file)
            raise
        log.info("outbox: stored %s %s as %s (%d files, %d bytes)", method, path, item_id, len(written), size)
        self._notify()
        return item_id

    def _check_room(self, db: sqlite3.Connection, size: int) -> None:
        used = db.execute("SELECT SUM(bytes) FROM totals").fetchone()[0] or 0
        if used + size > self.quota_bytes:
            raise OutboxFull(f"outbox quota of {_mb(self.quota_bytes)} would be exceeded "
                             f"({_mb(used)} stored, this item needs {_mb(size)}); item not stored")
        # statvfs costs as much as the rest of a small put; ask the disk again only every second or
        # when this item could use a good part of what was free then.
        if time.monotonic() - self._free_checked_at > 1.0 or size * 4 > self._free_bytes - self.min_free_bytes:
            self._free_bytes = shutil.disk_usage(self.data_dir).free
            self._free_checked_at = time.monotonic()
        if self._free_bytes < size + self.min_free_bytes:
            raise OutboxFull(f"only {_mb(self._free_bytes)} free on the disk of {self.data_dir}; item not stored")
        self._free_bytes -= size

    # ----------------------------------------------------------------- sending side

    def lease(self, limit: int = 1, lease_s: float = DEFAULT_LEASE_S, *,
              settle: Iterable[Outcome] = ()) -> list[LeasedItem]:
        """Claim up to ``limit`` due items (oldest first) for ``lease_s`` seconds.

        Items whose lease has expired (their sender died) are claimed again, keeping their
        Idempotency-Key, so the platform sees a retry, never a second submission. ``settle``:
        outcomes to record first, in the same transaction (one commit, one fsync, for both).
        """
        outcomes = list(settle)
        now = self.clock()
        token = uuid.uuid4().hex
        with self._write() as db:
            done = self._record(db, outcomes, now)
            db.execute(RECLAIM_SQL, (now,))  # their sender died: claim them again, same key
            rows = db.execute(LEASE_SQL, {"token": token, "expires": now + lease_s, "now": now,
                                          "limit": int(limit)}).fetchall()
        if outcomes:
            self._recorded(done)
        rows.sort()
        return [LeasedItem(seq=r[0], id=r[1], idempotency_key=r[1], method=r[2], path=r[3], attempts=r[4],
                           created_at=r[5], lease_token=token, lease_expires_at=now + lease_s) for r in rows]

    def load(self, item: LeasedItem) -> StoredRequest:
        """Decrypt a leased item's request; ``UndeliverableItem`` if it cannot be read back."""
        with self._read_lock:  # its own connection: senders read while another thread commits
            row = self._reading().execute(
                "SELECT envelope, file_count FROM items WHERE seq = ? AND id = ?", (item.seq, item.id)).fetchone()
        if row is None or row[0] is None:
            raise UndeliverableItem(f"item {item.id} has no stored request")
        try:
            header, _, body = self._sealer.open(item.id, "envelope", row[0]).partition(b"\n")
            header = json.loads(header)
            described = header["files"]
            json_text = body.decode("utf-8") if header["body"] else None
        except (ValueError, KeyError, TypeError) as exc:
            raise UndeliverableItem(f"item {item.id}: stored request is damaged ({exc})") from None
        if len(described) != row[1]:
            raise UndeliverableItem(f"item {item.id}: stored request lists {len(described)} files, row says {row[1]}")
        files = []
        for index, meta in enumerate(described):
            try:
                blob = (self._files / f"{item.id}.{index}").read_bytes()
            except FileNotFoundError:
                raise UndeliverableItem(f"item {item.id}: stored file {index} is missing") from None
            files.append(Attachment(meta["name"], meta["type"], self._sealer.open(item.id, f"file:{index}", blob)))
        return StoredRequest(item.id, item.idempotency_key, item.method, item.path, json_text, tuple(files))

    def mark_done(self, item: LeasedItem, status: int | None = None) -> bool:
        """The platform has it: forget the body, delete the files, keep the row until retention ends."""
        return self.mark_done_many([(item, status)]) == 1

    def mark_done_many(self, delivered: Iterable[tuple[LeasedItem, int | None]]) -> int:
        """``mark_done`` for several items in one transaction (one fsync for a sender's whole batch)."""
        return self.settle([Outcome(item, ItemState.DONE, status) for item, status in delivered])

    def mark_retry(self, item: LeasedItem, delay_s: float, error: str, kind: ErrorKind,
                   status: int | None = None) -> bool:
        """Back to pending, due again in ``delay_s`` seconds."""
        outcome = Outcome(item, ItemState.PENDING, status, error, ErrorKind(kind), self.clock() + max(0.0, delay_s))
        return self.settle([outcome]) == 1

    def mark_dead(self, item: LeasedItem, error: str, kind: ErrorKind = ErrorKind.HTTP,
                  status: int | None = None) -> bool:
        """Undeliverable as it stands: kept, visible, and only retried when a person says so."""
        return self.settle([Outcome(item, ItemState.DEAD, status, error, ErrorKind(kind))]) == 1

    def settle(self, outcomes: Iterable[Outcome]) -> int:
        """Record what attempts came to (done, pending again, dead) in one transaction; returns how
        many were recorded. An outcome whose lease was lost (expired and claimed again) is skipped
        with a warning: the item's current holder decides."""
        outcomes = list(outcomes)
        if not outcomes:
            return 0
        with self._write() as db:
            done = self._record(db, outcomes, self.clock())
        return self._recorded(done)

    def _record(self, db: sqlite3.Connection, outcomes: list[Outcome], now: float) -> list[tuple[Outcome, int]]:
        """The writes of ``settle``, inside the caller's transaction; returns the recorded outcomes with
        the item's file count (their files are deleted after COMMIT, for items done)."""
        recorded = []
        for o in outcomes:
            where = (o.item.seq, o.item.lease_token)
            file_count = 0
            if o.state is ItemState.DONE:
                row = db.execute(
                    "UPDATE items SET state = 'done', done_at = ?, envelope = NULL, bytes = 0,"
                    " attempts = attempts + 1, lease_token = NULL, lease_expires_at = NULL, last_status = ?,"
                    " last_error = NULL, last_error_kind = NULL"
                    " WHERE seq = ? AND state = 'inflight' AND lease_token = ? RETURNING file_count",
                    (now, o.status, *where)).fetchone()
                changed = row is not None
                file_count = row[0] if changed else 0
            elif o.state is ItemState.PENDING:
                changed = db.execute(
                    "UPDATE items SET state = 'pending', next_attempt_at = ?, attempts = attempts + 1,"
                    " lease_token = NULL, lease_expires_at = NULL, last_status = ?, last_error = ?,"
                    " last_error_kind = ? WHERE seq = ? AND state = 'inflight' AND lease_token = ?",
                    (now if o.due_at is None else o.due_at, o.status, o.error,
                     ErrorKind(o.kind or ErrorKind.HTTP).value, *where)).rowcount > 0
            elif o.state is ItemState.DEAD:
                changed = db.execute(
                    "UPDATE items SET state = 'dead', attempts = attempts + 1, lease_token = NULL,"
                    " lease_expires_at = NULL, last_status = ?, last_error = ?, last_error_kind = ?"
                    " WHERE seq = ? AND state = 'inflight' AND lease_token = ?",
                    (o.status, o.error, ErrorKind(o.kind or ErrorKind.HTTP).value, *where)).rowcount > 0
            else:
                raise ValueError(f"an attempt cannot leave an item {o.state.value}")
            if changed:
                recorded.append((o, file_count))
            else:
                label = {"done": "done", "pending": "retry", "dead": "dead"}[o.state.value]
                log.warning("outbox: lease on %s was lost before it could be marked %s", o.item.id, label)
        return recorded

    def _recorded(self, recorded: list[tuple[Outcome, int]]) -> int:
        """After COMMIT: delete the files of items done, report dead ones, tell the listeners."""
        for o, file_count in recorded:
            if o.state is ItemState.DEAD:
                log.warning("outbox: item %s is dead: %s", o.item.id, o.error)
            for index in range(file_count):
                unlink_quietly(self._files / f"{o.item.id}.{index}")
        self._notify()
        return len(recorded)

    def extend(self, items: Iterable[LeasedItem], lease_s: float = DEFAULT_LEASE_S) -> tuple[float, set[int]]:
        """Hold leased items ``lease_s`` seconds from now (their attempt is still running, e.g. a large
        upload on a thin link); returns the new expiry and the ``seq`` of those still held."""
        until = self.clock() + lease_s
        with self._write() as db:
            held = {item.seq for item in items if db.execute(
                "UPDATE items SET lease_expires_at = ? WHERE seq = ? AND state = 'inflight' AND lease_token = ?",
                (until, item.seq, item.lease_token)).rowcount}
        return until, held

    def release(self, items: Iterable[LeasedItem]) -> int:
        """Give leased items back untried (the network went down before their turn)."""
        items = list(items)
        if not items:
            return 0
        with self._write() as db:
            released = sum(db.execute(
                "UPDATE items SET state = 'pending', lease_token = NULL, lease_expires_at = NULL"
                " WHERE seq = ? AND state = 'inflight' AND lease_token = ?",
                (item.seq, item.lease_token)).rowcount for item in items)
        self._notify()
        return released

    def expedite_network_failures(self) -> int:
        """Make items that failed only because the network was down due now (the network is back)."""
        now = self.clock()
        with self._write() as db:
            return db.execute("UPDATE items SET next_attempt_at = ? WHERE state = 'pending'"
                              " AND last_error_kind = 'network' AND next_attempt_at > ?", (now, now)).rowcount

    def changed_elsewhere(self) -> bool:
        """True if another connection (another process) committed since the last call."""
        with self._lock:
            version = self._require_open().execute("PRAGMA data_version").fetchone()[0]
        changed = self._seen_data_version is not None and version != self._seen_data_version
        self._seen_data_version = version
        return changed

    def next_due_in(self) -> float | None:
        """Seconds until an item is due (a pending retry or an expired lease); None when nothing waits."""
        with self._lock:
            db = self._require_open()
            due = [db.execute("SELECT MIN(next_attempt_at) FROM items WHERE state = 'pending'").fetchone()[0],
                   db.execute("SELECT MIN(lease_expires_at) FROM items WHERE state = 'inflight'").fetchone()[0]]
        due = [t for t in due if t is not None]
        return max(0.0, min(due) - self.clock()) if due else None

    # ----------------------------------------------------------------- maintenance

    def retry(self, item_id: str) -> None:
        """Make a dead (or waiting) item due now; ``ItemNotFound`` for an unknown id."""
        with self._write() as db:
            row = db.execute("SELECT state FROM items WHERE id = ?", (item_id,)).fetchone()
            if row is None:
                raise ItemNotFound(f"no outbox item with id {item_id}")
            if row[0] in (ItemState.DONE.value, ItemState.INFLIGHT.value):
                raise InvalidItem(f"item {item_id} is {row[0]}; only dead or pending items can be retried")
            db.execute("UPDATE items SET state = 'pending', next_attempt_at = ? WHERE id = ?",
                       (self.clock(), item_id))
        self._notify()

    def retry_dead(self) -> int:
        with self._write() as db:
            count = db.execute("UPDATE items SET state = 'pending', next_attempt_at = ? WHERE state = 'dead'",
                               (self.clock(),)).rowcount
        self._notify()
        return count

    def purge_done(self, older_than_s: float | None = None) -> int:
        """Delete delivered rows (all of them, or those delivered more than ``older_than_s`` ago)."""
        cutoff = float("inf") if older_than_s is None else self.clock() - older_than_s
        with self._write() as db:
            count = db.execute("DELETE FROM items WHERE state = 'done' AND done_at < ?", (cutoff,)).rowcount
        self._notify()
        return count

    def prune_expired(self) -> int:
        """Delete delivered rows older than the retention period."""
        return self.purge_done(self.retention_s)

    # ----------------------------------------------------------------- reading

    def status(self) -> dict:
        """Counts per state, the age of the oldest undelivered item (pending or inflight), stored bytes."""
        with self._lock:
            db = self._require_open()
            totals = {state: (n, b) for state, n, b in db.execute("SELECT state, items, bytes FROM totals")}
            oldest = db.execute("SELECT MIN(created_at) FROM items WHERE state IN ('pending', 'inflight')").fetchone()[0]
        result: dict[str, Any] = {s.value: totals.get(s.value, (0, 0))[0] for s in ItemState}
        result["oldest_pending_age_s"] = None if oldest is None else max(0.0, round(self.clock() - oldest, 3))
        result["bytes"] = sum(b for _, b in totals.values())
        return result

    def list(self, states: Iterable[ItemState | str] | None = None, limit: int | None = None) -> list[ItemInfo]:
        where, params = "", []
        if states is not None:
            wanted = [ItemState(s).value for s in states]
            where = f" WHERE state IN ({', '.join('?' * len(wanted))})"
            params = wanted
        sql = ("SELECT id, state, method, path, attempts, file_count, bytes, created_at, next_attempt_at, done_at,"
               f" last_status, last_error FROM items{where} ORDER BY seq")
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._require_open().execute(sql, params).fetchall()
        return [ItemInfo(id=r[0], state=ItemState(r[1]), method=r[2], path=r[3], attempts=r[4], file_count=r[5],
                         bytes=r[6], created_at=r[7], next_attempt_at=r[8] if r[1] == "pending" else None,
                         done_at=r[9], last_status=r[10], last_error=r[11]) for r in rows]

    # ----------------------------------------------------------------- observers and lifetime

    def subscribe(self, callback: Callable[[dict], None]) -> Callable[[], None]:
        """Call ``callback(status())`` after every change made through this object; returns an unsubscriber.

        Called on the thread that made the change (the sender's, or the caller of ``put``); a UI
        must move it to its own thread.
        """
        with self._lock:
            self._listeners.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)
        return unsubscribe

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        if not listeners or self._db is None:
            return
        snapshot = self.status()
        for callback in listeners:
            try:
                callback(snapshot)
            except Exception:  # a broken observer must not break delivery
                log.exception("outbox: status listener failed")

    def close(self) -> None:
        with self._lock, self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> "Outbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------- helpers

def _envelope(json_text: str | None, attachments: list[Attachment]) -> bytes:
    """What gets sealed into the row: a JSON header line (file names and types), then the body as is."""
    header = {"body": json_text is not None,
              "files": [{"name": a.name, "type": a.content_type} for a in attachments]}
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return head + b"\n" + (json_text or "").encode("utf-8")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"
