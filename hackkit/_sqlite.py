"""Opening a SQLite file that many processes share: WAL, a busy timeout, and a WAL switch that waits.

The busy timeout does not cover ``PRAGMA journal_mode=WAL`` on a file still in rollback mode: while
another process holds its write lock (a fresh file that a second worker is creating or migrating),
SQLite answers ``database is locked`` at once rather than risk a deadlock in the busy handler. The
switch is retried here until the timeout, so workers that open one new file together all start.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

WAL_RETRY_S = 0.01
WAL_MIN_WAIT_S = 1.0  # even a connection that never waits for a lock waits this long for the switch


def connect_wal(path: Path, timeout: float) -> sqlite3.Connection:
    """An autocommit connection in WAL mode (``synchronous=NORMAL``) that waits ``timeout`` s for locks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        _switch_to_wal(db, deadline=time.monotonic() + max(timeout, WAL_MIN_WAIT_S))
        db.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        db.close()  # not a database, a disk error, or still locked at the deadline: no connection left open
        raise
    return db


def _switch_to_wal(db: sqlite3.Connection, deadline: float) -> None:
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(WAL_RETRY_S)
