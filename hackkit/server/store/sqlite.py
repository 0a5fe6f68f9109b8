"""The gateway's default store: one SQLite file (WAL), shared by every worker on one machine.

``BEGIN IMMEDIATE`` takes the database's write lock at the start of each admission, so workers
admit one request at a time; each transaction is a few statements on indexed tables, well under a
millisecond. Committed rows survive the worker being killed (WAL, ``synchronous=NORMAL``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

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
BUSY_TIMEOUT_S = 30.0  # a worker waits this long for another's write before failing


class SQLiteStore(SQLStore):
    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.url = str(path)
        self._connections: list[sqlite3.Connection] = []

    def connect(self) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        self._connections.append(db)
        return db

    def close(self) -> None:
        for db in self._connections:
            db.close()
        self._connections.clear()
        self._local.__dict__.clear()

    def day_expression(self) -> str:
        return "date(ts, 'unixepoch')"
