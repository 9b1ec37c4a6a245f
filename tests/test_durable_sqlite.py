"""One way to open the kiosk's durable SQLite files (outbox, counters, receipt book, service audit)."""
from __future__ import annotations

import sqlite3
import stat

import pytest

from kiosk.counters import Counters
from offline_queue.durable import open_durable_sqlite


def test_a_new_database_is_owner_only_in_wal_with_full_sync(tmp_path):
    db = open_durable_sqlite(tmp_path / "x.sqlite3", timeout=5)
    assert stat.S_IMODE((tmp_path / "x.sqlite3").stat().st_mode) == 0o600
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    db.close()


def test_a_database_that_cannot_use_wal_is_refused():
    with pytest.raises(sqlite3.DatabaseError, match="WAL"):
        open_durable_sqlite(":memory:")


def test_the_counters_use_it(tmp_path):
    counters = Counters(tmp_path)
    assert stat.S_IMODE(counters.path.stat().st_mode) == 0o600
    assert counters._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    counters.close()
