"""The ledger: one SQLite row per call, for ``hackkit logs`` and ``hackkit usage``.

Migrations are append-only: each is applied once, in order, and recorded in ``_migrations``;
a change to the schema is a new function at the end of ``MIGRATIONS``, never an edit.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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
    ts: str = field(default_factory=lambda: _now())


class Ledger:
    def __init__(self, path: Path, store_text: bool = True) -> None:
        self.path = path
        self.store_text = store_text
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            migrate(db)
            self._db = db
        return self._db

    def record(self, call: CallRecord) -> None:
        row = asdict(call)
        if not self.store_text:
            row["prompt"] = row["response"] = None
        elif row["prompt"] is not None and not isinstance(row["prompt"], str):
            row["prompt"] = json.dumps(row["prompt"], ensure_ascii=False, default=str)
        columns = ", ".join(row)
        with self._lock, self.db:
            self.db.execute(f"INSERT INTO calls ({columns}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self.db.execute("SELECT * FROM calls ORDER BY id DESC LIMIT ?", (limit,))
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def usage(self, by: str = "model", days: int | None = None) -> list[dict[str, Any]]:
        """Totals grouped by ``model``, ``day`` or both (``"day,model"``)."""
        keys = {"model": "model", "day": "substr(ts, 1, 10)", "provider": "provider"}
        groups = [keys[k.strip()] for k in by.split(",")]
        names = [k.strip() for k in by.split(",")]
        where = "WHERE ts >= date('now', ?)" if days else ""
        sql = (
            f"SELECT {', '.join(f'{g} AS {n}' for g, n in zip(groups, names, strict=True))}, COUNT(*) AS calls, "
            "SUM(status != 'ok') AS errors, COALESCE(SUM(input_tokens), 0) AS input_tokens, "
            "COALESCE(SUM(output_tokens), 0) AS output_tokens, SUM(cost_usd) AS cost_usd "
            f"FROM calls {where} GROUP BY {', '.join(groups)} ORDER BY {', '.join(groups)}"
        )
        with self._lock:
            cursor = self.db.execute(sql, (f"-{days} days",) if days else ())
            columns = [c[0] for c in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
