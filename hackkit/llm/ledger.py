"""The ledger: one SQLite row per call, for ``hackkit logs`` and ``hackkit usage``.

The invariant: a call that returned to its caller is in the ledger, even if the process is
stopped right after (SIGTERM from Docker, Render or Spaces; SIGKILL). So each call's row is
written, in its own short transaction, before the call returns; in WAL mode with
``synchronous=NORMAL`` a committed row survives the process being killed (only a power cut can
lose the last rows). Many processes may write one ledger at once: WAL lets readers and one writer
work together, and a busy timeout makes writers queue rather than fail. Measured: a write costs
tens of microseconds, well under the network's noise (``benchmarks/client_overhead.py``).

A write that still fails (a full disk, a lock held past the busy timeout) never breaks the call:
the row is kept in memory and written with the next one, or at exit.

Migrations are append-only: each is applied once, in order, and recorded in ``_migrations``;
a change to the schema is a new function at the end of ``MIGRATIONS``, never an edit. Each runs
in an immediate transaction, so processes that open a new ledger at once apply it once.
"""

from __future__ import annotations

import atexit
import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hackkit._sqlite import connect_wal

if TYPE_CHECKING:
    from hackkit.errors import Attempt


def _m001_calls(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE calls (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'chat',
            model TEXT NOT NULL,
            provider TEXT,
            requested TEXT,
            prompt_name TEXT,
            prompt_version TEXT,
            input_tokens INTEGER,
            output_tokens INTEGER,
            cost_usd REAL,
            latency_ms REAL,
            status TEXT NOT NULL,
            error TEXT,
            prompt TEXT,
            response TEXT,
            cached INTEGER NOT NULL DEFAULT 0,
            stream INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute("CREATE INDEX calls_ts ON calls (ts)")


def _m002_attempts(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE calls ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1")


def _m003_fallbacks(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE calls ADD COLUMN fallback INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE calls ADD COLUMN failures TEXT")  # JSON: the failed attempts before this row's outcome


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_m001_calls, _m002_attempts, _m003_fallbacks]


def migrate(db: sqlite3.Connection) -> None:
    """Apply the migrations this ledger lacks; safe when several processes open it at once."""
    with _immediate(db):
        db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
    for step in MIGRATIONS:
        with _immediate(db):  # take the write lock first, then look: another process may have just applied it
            if db.execute("SELECT 1 FROM _migrations WHERE name = ?", (step.__name__,)).fetchone() is None:
                step(db)
                db.execute("INSERT INTO _migrations VALUES (?, ?)", (step.__name__, _now()))


@contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that holds the lock from its start (the connection is in autocommit mode)."""
    if db.in_transaction:
        yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode, WAL, waiting up to ``busy_timeout`` seconds for other writers."""
    return connect_wal(path, busy_timeout)


def failures_json(failures: list[Attempt]) -> str | None:
    """The failed attempts as the ledger keeps them: model, reason and error class, in order."""
    if not failures:
        return None
    return json.dumps(
        [{"model": a.model, "reason": a.reason, "error": type(a.error).__name__} for a in failures],
        ensure_ascii=False,
    )


@dataclass
class CallRecord:
    model: str
    status: str = "ok"
    kind: str = "chat"
    provider: str | None = None
    requested: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    error: str | None = None
    prompt: Any = None
    response: str | None = None
    cached: bool = False
    stream: bool = False
    attempts: int = 1
    fallback: bool = False
    failures: str | None = None  # JSON, from failures_json
    ts: float | str = field(default_factory=time.time)  # formatted as ISO 8601 UTC when written


class Ledger:
    """Rows written before ``record`` returns; reads see every row recorded, by any process.

    ``record`` never raises: a row it could not write stays in memory (``unwritten``) and goes in
    with the next write, at ``close`` or at exit. After ``close`` the ledger reopens on next use.
    """

    BUSY_TIMEOUT = 5.0  # seconds a write waits for another process's write
    MAX_UNWRITTEN = 10_000  # rows kept in memory while the database cannot be written

    def __init__(self, path: Path, store_text: bool = True) -> None:
        self.path = path
        self.store_text = store_text
        self.last_error: Exception | None = None
        self._lock = threading.Lock()  # the connection and the unwritten rows
        self._db: sqlite3.Connection | None = None
        self._unwritten: list[dict[str, Any]] = []
        self._at_exit = False

    @property
    def db(self) -> sqlite3.Connection:
        with self._lock:
            return self._connection()

    @property
    def unwritten(self) -> int:
        """How many recorded rows could not be written yet."""
        return len(self._unwritten)

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            db = connect(self.path, self.BUSY_TIMEOUT)
            try:
                migrate(db)
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    def record(self, call: CallRecord) -> bool:
        """Write ``call``'s row now; False when it could not be written yet (it is kept and retried)."""
        row = self._prepare(dict(vars(call)))  # shallow: asdict() would deep-copy the prompt
        with self._lock:
            self._unwritten.append(row)
            return self._write_unwritten()

    def flush(self) -> bool:
        """Try again to write rows that could not be written; True when none is left."""
        with self._lock:
            return self._write_unwritten()

    def _write_unwritten(self) -> bool:
        if not self._unwritten:
            return True
        try:
            db = self._connection()
            if len(self._unwritten) == 1:  # the usual case: one statement, its own transaction
                row = self._unwritten[0]
                db.execute(_insert_sql(tuple(row)), tuple(row.values()))
            else:
                with _immediate(db):
                    for row in self._unwritten:
                        db.execute(_insert_sql(tuple(row)), tuple(row.values()))
        except (sqlite3.Error, OSError) as exc:
            self.last_error = exc
            del self._unwritten[: -self.MAX_UNWRITTEN]
            self._retry_at_exit()
            return False
        self._unwritten.clear()
        self.last_error = None
        return True

    def _retry_at_exit(self) -> None:
        if not self._at_exit:
            atexit.register(self.flush)
            self._at_exit = True

    def _prepare(self, row: dict[str, Any]) -> dict[str, Any]:
        if isinstance(row["ts"], float):
            row["ts"] = datetime.fromtimestamp(row["ts"], timezone.utc).isoformat(timespec="milliseconds")
        if not self.store_text:
            row["prompt"] = row["response"] = None
        elif row["prompt"] is not None and not isinstance(row["prompt"], str):
            row["prompt"] = json.dumps(row["prompt"], ensure_ascii=False, default=str)
        return row

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            self._write_unwritten()
            cursor = self._connection().execute(sql, args)
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM calls ORDER BY id DESC LIMIT ?", (limit,))

    def usage(self, by: str = "model", days: int | None = None) -> list[dict[str, Any]]:
        """Totals grouped by ``model``, ``day``, ``provider`` or two of them (``"day,model"``)."""
        keys = {"model": "model", "day": "substr(ts, 1, 10)", "provider": "provider"}
        names = [k.strip() for k in by.split(",")]
        groups = [keys[name] for name in names]
        where = "WHERE ts >= date('now', ?)" if days else ""
        sql = (
            f"SELECT {', '.join(f'{g} AS {n}' for g, n in zip(groups, names, strict=True))}, COUNT(*) AS calls, "
            "SUM(status = 'error') AS errors, COALESCE(SUM(input_tokens), 0) AS input_tokens, "
            "COALESCE(SUM(output_tokens), 0) AS output_tokens, SUM(cost_usd) AS cost_usd "
            f"FROM calls {where} GROUP BY {', '.join(groups)} ORDER BY {', '.join(groups)}"
        )
        return self._query(sql, (f"-{days} days",) if days else ())

    def close(self) -> None:
        """Write what is left and close the connection; the next use opens it again."""
        with self._lock:
            self._write_unwritten()
            if self._db is not None:
                self._db.close()
                self._db = None


@functools.lru_cache(maxsize=8)
def _insert_sql(columns: tuple[str, ...]) -> str:
    return f"INSERT INTO calls ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
