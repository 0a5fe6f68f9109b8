"""The ledger: one SQLite row per call, for ``hackkit logs`` and ``hackkit usage``.

Migrations are append-only: each is applied once, in order, and recorded in ``_migrations``;
a change to the schema is a new function at the end of ``MIGRATIONS``, never an edit.
"""

from __future__ import annotations

import atexit
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


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


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_m001_calls, _m002_attempts]


def migrate(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    for step in MIGRATIONS:
        if step.__name__ not in done:
            with db:
                step(db)
                db.execute("INSERT INTO _migrations VALUES (?, ?)", (step.__name__, _now()))


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
    ts: float | str = field(default_factory=time.time)  # formatted as ISO 8601 UTC when written


class Ledger:
    """Writes are batched by a background thread, off the caller's path.

    ``record`` only appends to a list; the writer wakes every ``INTERVAL`` seconds, when a batch
    is full, or when a reader needs the rows: ``recent``, ``usage``, ``close`` and the
    interpreter's exit all flush first, so a row is lost only if the process is killed outright.
    """

    BATCH = 256
    INTERVAL = 0.2

    def __init__(self, path: Path, store_text: bool = True) -> None:
        self.path = path
        self.store_text = store_text
        self._lock = threading.Lock()  # the connection
        self._db: sqlite3.Connection | None = None
        self._cond = threading.Condition()  # the pending rows and counters below
        self._pending: list[dict[str, Any]] = []
        self._queued = self._written = self._flushers = 0
        self._closing = False
        self._writer: threading.Thread | None = None
        self._failed: Exception | None = None

    @property
    def db(self) -> sqlite3.Connection:
        with self._lock:
            if self._db is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                migrate(db)
                self._db = db
            return self._db

    def record(self, call: CallRecord) -> None:
        if self._failed is not None:
            raise self._failed
        with self._cond:
            self._pending.append(dict(vars(call)))  # shallow: asdict() would deep-copy the prompt
            self._queued += 1
            if len(self._pending) >= self.BATCH:
                self._cond.notify_all()
        if self._writer is None:
            self._start_writer()

    def flush(self) -> None:
        """Wait until every call recorded so far is in the database."""
        if self._writer is None:
            return
        with self._cond:
            target = self._queued
            self._flushers += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._written >= target or self._failed is not None)
            self._flushers -= 1

    def _start_writer(self) -> None:
        with self._cond:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="hackkit-ledger", daemon=True)
                self._writer.start()
                atexit.register(self.flush)

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: (
                        len(self._pending) >= self.BATCH
                        or self._closing
                        or (self._flushers > 0 and bool(self._pending))
                    ),
                    timeout=self.INTERVAL,
                )
                rows, self._pending = self._pending, []
                closing = self._closing
            try:
                self._insert([self._prepare(row) for row in rows])
            except Exception as exc:  # raised by the next record()
                self._failed = exc
            with self._cond:
                self._written += len(rows)
                self._cond.notify_all()
                if closing and not self._pending:
                    return

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        db = self.db
        sql = f"INSERT INTO calls ({', '.join(rows[0])}) VALUES ({', '.join('?' * len(rows[0]))})"
        with self._lock, db:
            db.executemany(sql, [tuple(row.values()) for row in rows])

    def _prepare(self, row: dict[str, Any]) -> dict[str, Any]:
        if isinstance(row["ts"], float):
            row["ts"] = datetime.fromtimestamp(row["ts"], timezone.utc).isoformat(timespec="milliseconds")
        if not self.store_text:
            row["prompt"] = row["response"] = None
        elif row["prompt"] is not None and not isinstance(row["prompt"], str):
            row["prompt"] = json.dumps(row["prompt"], ensure_ascii=False, default=str)
        return row

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        self.flush()
        db = self.db
        with self._lock:
            cursor = db.execute(sql, args)
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
            "SUM(status != 'ok') AS errors, COALESCE(SUM(input_tokens), 0) AS input_tokens, "
            "COALESCE(SUM(output_tokens), 0) AS output_tokens, SUM(cost_usd) AS cost_usd "
            f"FROM calls {where} GROUP BY {', '.join(groups)} ORDER BY {', '.join(groups)}"
        )
        return self._query(sql, (f"-{days} days",) if days else ())

    def close(self) -> None:
        if self._writer is not None:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            self._writer.join()
            self._writer = None
            atexit.unregister(self.flush)
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
