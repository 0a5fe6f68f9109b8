"""The gateway's default store: one SQLite file (WAL), shared by every worker on one machine.

``BEGIN IMMEDIATE`` takes the database's write lock at the start of each admission, so workers
admit one request at a time; each transaction is a few statements on indexed tables, well under a
millisecond. Committed rows survive the worker being killed (WAL, ``synchronous=NORMAL``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hackkit._sqlite import connect_wal
from hackkit.server.store.base import Dialect, SQLStore

SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    begin="BEGIN IMMEDIATE",
    for_update="",
    real="REAL",
    serial="INTEGER PRIMARY KEY AUTOINCREMENT",
    big="INTEGER",
)
BUSY_TIMEOUT_S = 30.0  # a worker's store threads wait this long for another's write before failing
T = TypeVar("T")


class SQLiteStore(SQLStore):
    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.url = str(path)
        self._connections: list[sqlite3.Connection] = []

    def connect(self, wait: float = BUSY_TIMEOUT_S) -> Any:
        db = connect_wal(self.path, wait)
        self._connections.append(db)
        return db

    def close(self) -> None:
        for db in self._connections:
            db.close()
        self._connections.clear()
        self._local.__dict__.clear()

    def run_without_waiting(self, fn: Callable[..., T], *args: Any) -> tuple[bool, T | None]:
        """``(True, fn(*args))`` on a no-wait connection; ``(False, None)`` when another process holds the lock.

        The gateway's event loop calls the hot path this way: a transaction here takes a fraction of
        a millisecond, cheaper than a hand-off to a thread, and it never waits for another worker's
        write (it gives up at once, and the caller retries in the store's threads, which may wait).
        The thread keeps a second connection for this, with no busy timeout, and ``fn`` runs on it:
        the thread's usual connection waits up to ``BUSY_TIMEOUT_S``.
        """
        waiting = getattr(self._local, "db", None)
        no_wait = getattr(self._local, "no_wait_db", None)
        if no_wait is None:
            no_wait = self._local.no_wait_db = self.connect(wait=0.0)
        self._local.db = no_wait
        try:
            return True, fn(*args)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return False, None  # rolled back: nothing happened, run it again where waiting is allowed
            raise
        finally:
            self._local.db = waiting

    def day_expression(self) -> str:
        return "date(ts, 'unixepoch')"
