"""Exact-match response cache: the same model, messages and parameters give the stored answer."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hackkit._sqlite import connect_wal
from hackkit.llm.types import ChatResponse, ToolCall, Usage


def cache_key(model_id: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps({"model": model_id, **payload}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = connect_wal(self.path, timeout=10)
            self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, body TEXT NOT NULL)")
        return self._db

    def get(self, key: str) -> ChatResponse | None:
        with self._lock:
            row = self.db.execute("SELECT body FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        data["usage"] = Usage(**data["usage"])
        data["tool_calls"] = [ToolCall(**c) for c in data["tool_calls"]]
        return ChatResponse(**data, cached=True)

    def put(self, key: str, response: ChatResponse) -> None:
        data = asdict(response)
        for transient in ("raw", "parsed", "cached", "latency_ms", "cost_usd", "failures", "fallback", "requested"):
            data.pop(transient)
        with self._lock, self.db:
            self.db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?)", (key, json.dumps(data)))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
