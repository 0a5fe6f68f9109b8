"""Reading the store: the request log, usage totals, metrics, the audit log."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from hackkit.errors import ConfigError
from hackkit.server.store.records import NANO, KeyRecord, key_from_row
from hackkit.server.store.sql import KEY_COLUMNS, LOG_COLUMNS, SQLBase


class ReportsMixin(SQLBase):
    def logs(self, *, after: int = 0, team: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Log rows with id > ``after``, oldest first (``after=0`` and a limit: the newest ``limit``)."""
        where, args = ["id > ?"], [after]  # type: list[str], list[Any]
        if team is not None:
            where.append("team = ?")
            args.append(team)
        columns = f"id, {', '.join(c for c in LOG_COLUMNS if c != 'payload')}, payload"
        if after:
            sql = f"SELECT {columns} FROM requests WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
            return self.rows(sql, (*args, limit))
        sql = f"SELECT {columns} FROM requests WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?"
        return list(reversed(self.rows(sql, (*args, limit))))

    def usage(self, by: str = "team", since: float | None = None) -> list[dict[str, Any]]:
        """Requests, errors, tokens and cost grouped by ``team``, ``model`` or ``day``."""
        groups = {"team": "team", "model": "model_asked", "day": self.day_expression()}
        if by not in groups:
            raise ConfigError(f"Usage cannot be grouped by {by!r}.", hint="use team, model or day")
        where = "WHERE ts >= ?" if since else ""
        sql = (
            f"SELECT {groups[by]} AS {by}, COUNT(*) AS requests, "
            "SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END) AS errors, "
            "COALESCE(SUM(input_tokens), 0) AS input_tokens, COALESCE(SUM(output_tokens), 0) AS output_tokens, "
            f"CAST(COALESCE(SUM(cost_nano), 0) AS BIGINT) AS cost_nano FROM requests {where} "
            f"GROUP BY {groups[by]} ORDER BY {groups[by]}"
        )
        rows = self.rows(sql, (since,) if since else ())
        for row in rows:
            row["cost_usd"] = int(row.pop("cost_nano")) / NANO
        return rows

    def day_expression(self) -> str:
        raise NotImplementedError

    def metric_totals(self) -> list[dict[str, Any]]:
        """Totals by team, model and status, for /metrics."""
        return self.rows(
            "SELECT team, model_asked AS model, status, COUNT(*) AS requests, "
            "COALESCE(SUM(input_tokens), 0) AS input_tokens, COALESCE(SUM(output_tokens), 0) AS output_tokens, "
            "CAST(COALESCE(SUM(cost_nano), 0) AS BIGINT) AS cost_nano FROM requests GROUP BY team, model_asked, status"
        )

    def latency_buckets(self, column: str, bounds: Sequence[float]) -> tuple[list[int], float, int]:
        """Cumulative counts of ``column`` (latency_ms or ttft_ms) at or under each bound, its sum and count."""
        if column not in ("latency_ms", "ttft_ms"):
            raise ValueError(column)
        cases = ", ".join(f"SUM(CASE WHEN {column} <= {float(b)} THEN 1 ELSE 0 END)" for b in bounds)
        row = self.one(f"SELECT {cases}, COALESCE(SUM({column}), 0), COUNT({column}) FROM requests")
        return [int(v or 0) for v in row[: len(bounds)]], float(row[-2]), int(row[-1])

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        return self.rows("SELECT ts, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,))

    def record_audit(self, actor: str, action: str, target: str | None, detail: dict[str, Any]) -> None:
        """An entry in the audit log, in a transaction of its own."""
        with self.transaction():
            self._audit(actor, action, target, detail)

    # -- feedback -------------------------------------------------------------------------

    def add_feedback(self, request_id: str, key_id: str, score: float, comment: str | None, admin: bool = False) -> int:
        """Feedback on a call the key made (the admin key may rate any); the feedback's id."""
        from hackkit.server.errors import ApiError

        row = self.one("SELECT key_id FROM requests WHERE request_id = ?", (request_id,))
        if row is None or (not admin and row[0] != key_id):
            raise ApiError(404, f"No call {request_id!r} of this key is in the log.", code="request_not_found")
        with self.transaction():
            self.execute(
                "INSERT INTO feedback (request_id, key_id, ts, score, comment) VALUES (?, ?, ?, ?, ?)",
                (request_id, key_id, time.time(), score, comment),
            )
            found = self.one("SELECT MAX(id) FROM feedback WHERE request_id = ?", (request_id,))
        return int(found[0])

    def prompt_versions(self, since: float | None = None) -> list[dict[str, Any]]:
        """Per prompt and version: calls, errors, tokens, cost, and the feedback's count and mean score."""
        where = "WHERE r.prompt_name IS NOT NULL" + (" AND r.ts >= ?" if since else "")
        return self.rows(
            "SELECT r.prompt_name AS prompt, r.prompt_version AS version, COUNT(DISTINCT r.request_id) AS calls, "
            "SUM(CASE WHEN r.status = 'ok' THEN 0 ELSE 1 END) AS errors, COUNT(f.id) AS feedback, "
            "AVG(f.score) AS mean_score FROM requests r LEFT JOIN feedback f ON f.request_id = r.request_id "
            f"{where} GROUP BY r.prompt_name, r.prompt_version ORDER BY r.prompt_name, r.prompt_version",
            (since,) if since else (),
        )

    # -- what the catalog and the dashboard read ------------------------------------------

    def call_points(self, since: float, until: float) -> list[tuple[float, float | None, bool]]:
        """(ts, latency_ms, ok) of every logged call in [since, until), oldest first: for percentiles over time."""
        rows = self.execute(
            "SELECT ts, latency_ms, status FROM requests WHERE ts >= ? AND ts < ? ORDER BY ts", (since, until)
        ).fetchall()
        return [
            (float(ts), None if latency is None else float(latency), status == "ok") for ts, latency, status in rows
        ]

    def key_by_hash(self, key_hash: str) -> KeyRecord | None:
        """The key with this hash, whatever its status (a page says why a key cannot log in)."""
        row = self.one(f"SELECT {KEY_COLUMNS} FROM keys WHERE hash = ?", (key_hash,))
        return key_from_row(row) if row else None

    def hash_of_key(self, key_id: str) -> str | None:
        """The stored hash of a key, for choosing its version of a prompt (it never leaves the server)."""
        row = self.one("SELECT hash FROM keys WHERE id = ?", (key_id,))
        return None if row is None else str(row[0])

    def key_usage(self, key_id: str) -> dict[str, Any]:
        """One key's requests, errors, tokens and cost over its whole log."""
        row = self.rows(
            "SELECT COUNT(*) AS requests, COALESCE(SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END), 0) AS errors, "
            "COALESCE(SUM(input_tokens), 0) AS input_tokens, COALESCE(SUM(output_tokens), 0) AS output_tokens, "
            "CAST(COALESCE(SUM(cost_nano), 0) AS BIGINT) AS cost_nano FROM requests WHERE key_id = ?",
            (key_id,),
        )[0]
        return {**{k: int(v) for k, v in row.items() if k != "cost_nano"}, "cost_usd": int(row["cost_nano"]) / NANO}

    def key_logs(self, key_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """A key's newest calls, newest first (no payloads)."""
        columns = ", ".join(c for c in LOG_COLUMNS if c != "payload")
        return self.rows(
            f"SELECT id, {columns} FROM requests WHERE key_id = ? ORDER BY id DESC LIMIT ?", (key_id, limit)
        )
