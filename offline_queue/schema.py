"""The outbox's SQLite schema and connection settings, and how a damaged database is recognised.

WAL with ``synchronous=FULL``: a COMMIT that returns is on the disk. Per-state counts and bytes are
kept by triggers so that ``status()`` and the quota check cost the same with 10 or 100,000 items.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from offline_queue.durable import open_durable_sqlite

SQLITE_HEADER = b"SQLite format 3\x00"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,                    -- a random UUID, also the Idempotency-Key of every attempt;
                                         -- no index: the hot paths use seq, and an index costs puts
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    envelope BLOB,                       -- sealed request body and file names; NULL once done
    file_count INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL,              -- sealed bytes held on disk for this item
    state TEXT NOT NULL CHECK (state IN ('pending', 'inflight', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_token TEXT,
    lease_expires_at REAL,
    created_at REAL NOT NULL,
    done_at REAL,
    last_status INTEGER,
    last_error TEXT,
    last_error_kind TEXT CHECK (last_error_kind IN ('network', 'http', 'local'))
);
-- One index serves claiming (oldest due first), the oldest-pending age, reclaiming and pruning.
CREATE INDEX IF NOT EXISTS items_by_state ON items (state, created_at);
-- Per-state counts and bytes kept by triggers, so status() and the quota check cost O(1).
CREATE TABLE IF NOT EXISTS totals (
    state TEXT PRIMARY KEY, items INTEGER NOT NULL, bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals VALUES ('pending', 0, 0), ('inflight', 0, 0), ('done', 0, 0), ('dead', 0, 0);
CREATE TRIGGER IF NOT EXISTS items_counted_in AFTER INSERT ON items BEGIN
    UPDATE totals SET items = items + 1, bytes = bytes + NEW.bytes WHERE state = NEW.state;
END;
CREATE TRIGGER IF NOT EXISTS items_counted_out AFTER DELETE ON items BEGIN
    UPDATE totals SET items = items - 1, bytes = bytes - OLD.bytes WHERE state = OLD.state;
END;
CREATE TRIGGER IF NOT EXISTS items_recounted AFTER UPDATE OF state, bytes ON items BEGIN
    UPDATE totals SET items = items - 1, bytes = bytes - OLD.bytes WHERE state = OLD.state;
    UPDATE totals SET items = items + 1, bytes = bytes + NEW.bytes WHERE state = NEW.state;
END;
"""

RECLAIM_SQL = ("UPDATE items SET state = 'pending', lease_token = NULL, lease_expires_at = NULL"
               " WHERE state = 'inflight' AND lease_expires_at <= ?")

LEASE_SQL = """
UPDATE items SET state = 'inflight', lease_token = :token, lease_expires_at = :expires
WHERE seq IN (
    SELECT seq FROM items
    WHERE state = 'pending' AND next_attempt_at <= :now
    ORDER BY created_at, seq
    LIMIT :limit)
RETURNING seq, id, method, path, attempts, created_at
"""


def connect(path: Path) -> sqlite3.Connection:
    """Autocommit connection (we say BEGIN IMMEDIATE ourselves), WAL, FULL sync, a patient busy wait."""
    return open_durable_sqlite(path, timeout=30.0)


def means_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """Damage, as opposed to busy, locked, I/O or permission errors, which must not move data aside."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:  # raised by the sqlite3 module itself, not by SQLite
        return "not a database" in str(exc) or "malformed" in str(exc)
    return code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def header_problem(path: Path) -> str | None:
    """What is wrong with the first 100 bytes of the database file, if anything."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
    except FileNotFoundError:
        return None
    if not header:
        return None  # an empty file is a database not yet written
    if len(header) < 100 or not header.startswith(SQLITE_HEADER):
        return "is not an SQLite database (bad header)"
    return None


def statements(script: str) -> list[str]:
    """Split the schema into statements (trigger bodies contain ';', so split on complete statements)."""
    found, buffer = [], ""
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            found.append(buffer.strip())
            buffer = ""
    return found
