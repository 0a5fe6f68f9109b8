"""Reading the store: the request log, usage totals, metrics, the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hackkit.errors import ConfigError
from hackkit.server.store.records import NANO
from hackkit.server.store.sql import LOG_COLUMNS, SQLBase


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
