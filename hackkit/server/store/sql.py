"""SQL plumbing shared by both databases: one connection per thread, locking transactions, dialects."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

LOG_COLUMNS = (
    "request_id",
    "ts",
    "team",
    "key_id",
    "route",
    "model_asked",
    "model_used",
    "provider",
    "input_tokens",
    "output_tokens",
    "cost_nano",
    "latency_ms",
    "ttft_ms",
    "status",
    "http_status",
    "error_class",
    "error",
    "stream",
    "fallback",
    "payload",
    "prompt_name",
    "prompt_version",
)
KEY_COLUMNS = (
    "id, team, prefix, status, budget_nano, spent_nano, rpm, tpm, max_tokens, models, created_at, "
    "expires_at, revoked_at, note, contact, reason, decision, decided_at"
)


def log_values(row: dict[str, Any]) -> list[Any]:
    """A request log row's values, in ``LOG_COLUMNS`` order (a flag left out is 0, anything else NULL)."""
    return [row.get(column, 0 if column in ("stream", "fallback") else None) for column in LOG_COLUMNS]


@dataclass(frozen=True)
class Dialect:
    name: str
    placeholder: str  # "?" or "%s"
    begin: str  # the statement that starts a locking write transaction
    for_update: str  # "" or " FOR UPDATE"
    real: str  # floating point column type
    serial: str  # an auto-incrementing integer primary key
    big: str  # a 64-bit integer


class SQLBase:
    """The rules; a subclass gives the connection and the dialect.

    Every method is synchronous and short; the server calls them from its own threads (see
    ``hackkit.server.app``), never on the event loop.
    """

    dialect: Dialect
    url: str

    def __init__(self) -> None:
        self._local = threading.local()

    # -- connections, what a subclass gives -------------------------------------------------

    def connect(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    @property
    def db(self) -> Any:
        """This thread's connection (each thread has its own); a new one when the last one broke."""
        db = getattr(self._local, "db", None)
        if db is None or getattr(db, "broken", False):  # PostgreSQL restarted, or the backend was terminated
            db = self._local.db = self.connect()
        return db

    def _sql(self, sql: str) -> str:
        return sql if self.dialect.placeholder == "?" else sql.replace("?", "%s")

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self.db.execute(self._sql(sql), tuple(args))

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.execute(sql, args)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self.execute(sql, args).fetchone()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction that holds its lock from the start."""
        self.execute(self.dialect.begin)
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    # -- schema ---------------------------------------------------------------------------

    def _reserved(self, key_id: str, now: float) -> int:
        row = self.one(
            "SELECT COALESCE(SUM(amount_nano), 0) FROM reservations WHERE key_id = ? AND expires_at > ?", (key_id, now)
        )
        return int(row[0])

    def _lock_migrations(self) -> None:
        """Hold other migrating processes back (SQLite's BEGIN IMMEDIATE already does)."""

    def lock_name(self, name: str) -> None:
        """Serialise transactions about ``name`` that have no row to lock (SQLite's lock is database-wide)."""

    def ping(self) -> bool:
        return self.one("SELECT 1")[0] == 1

    def _audit(self, actor: str, action: str, target: str | None, detail: dict[str, Any]) -> None:
        self.execute(
            "INSERT INTO audit (ts, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (time.time(), actor, action, target, json.dumps(detail, ensure_ascii=False)),
        )
