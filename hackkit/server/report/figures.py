"""The figures, computed from the store: a :class:`Report` of plain dataclasses."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from hackkit.server.store import KeyRecord, SQLStore

BUCKET_SIZES = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800)
MAX_BUCKETS = 48


@dataclass
class Bucket:
    start: float
    requests: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None


@dataclass
class TeamSpend:
    team: str
    keys: int  # live keys: active, or pending and already spending on open models
    spent_usd: float
    budget_usd: float | None  # None: no live key, or one without a budget
    requests: int = 0  # in the window
    errors: int = 0

    @property
    def used(self) -> float | None:
        """The share of the budget spent (0 to 1, or more), or None without a budget."""
        if self.budget_usd is None:
            return None
        return self.spent_usd / self.budget_usd if self.budget_usd else (1.0 if self.spent_usd else 0.0)


@dataclass
class ModelUse:
    model: str
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    spend_usd: float


@dataclass
class PromptUse:
    prompt: str
    version: str
    calls: int
    errors: int
    feedback: int
    mean_score: float | None


@dataclass
class Totals:
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    spend_usd: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None


@dataclass
class Report:
    since: float
    until: float
    bucket_s: int
    totals: Totals
    teams: list[TeamSpend] = field(default_factory=list)
    series: list[Bucket] = field(default_factory=list)
    models: list[ModelUse] = field(default_factory=list)
    prompts: list[PromptUse] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """A report as ``to_dict`` (or ``GET /dashboard/report.json``) gave it."""
        return cls(
            since=data["since"],
            until=data["until"],
            bucket_s=data["bucket_s"],
            totals=Totals(**data["totals"]),
            teams=[TeamSpend(**row) for row in data["teams"]],
            series=[Bucket(**row) for row in data["series"]],
            models=[ModelUse(**row) for row in data["models"]],
            prompts=[PromptUse(**row) for row in data["prompts"]],
        )


def build(store: SQLStore, window_s: float, now: float | None = None) -> Report:
    """The report of the last ``window_s`` seconds, from the store (synchronous: run it in the store's threads)."""
    until = time.time() if now is None else now
    since = until - window_s
    size = bucket_size(window_s)
    points = store.call_points(since, until)
    usage = store.usage("model", since)
    report = Report(since, until, size, totals(points, usage))
    report.teams = team_spend(store.list_keys(), store.usage("team", since))
    report.series = series(points, since, until, size)
    report.models = top_models(usage)
    report.prompts = [PromptUse(**_prompt_row(row)) for row in store.prompt_versions(since)]
    return report


def bucket_size(window_s: float) -> int:
    """The smallest of BUCKET_SIZES that cuts the window into at most MAX_BUCKETS buckets."""
    for size in BUCKET_SIZES:
        if window_s / size <= MAX_BUCKETS:
            return size
    return BUCKET_SIZES[-1]


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile of ``values`` (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def series(points: list[tuple[float, float | None, bool]], since: float, until: float, size: int) -> list[Bucket]:
    """Requests, errors, p50 and p95 latency per bucket of ``size`` seconds (aligned to UTC), empty ones too."""
    first = math.floor(since / size) * size
    buckets = [Bucket(float(start)) for start in range(int(first), int(until) + 1, size) if start < until]
    latencies: list[list[float]] = [[] for _ in buckets]
    for ts, latency, ok in points:
        n = min(len(buckets) - 1, int((ts - first) // size))
        buckets[n].requests += 1
        buckets[n].errors += 0 if ok else 1
        if latency is not None:
            latencies[n].append(latency)
    for bucket, values in zip(buckets, latencies, strict=True):
        bucket.p50_ms, bucket.p95_ms = percentile(values, 50), percentile(values, 95)
    return buckets


def totals(points: list[tuple[float, float | None, bool]], usage: list[dict[str, Any]]) -> Totals:
    latencies = [latency for _, latency, _ in points if latency is not None]
    return Totals(
        requests=len(points),
        errors=sum(1 for _, _, ok in points if not ok),
        input_tokens=sum(int(row["input_tokens"]) for row in usage),
        output_tokens=sum(int(row["output_tokens"]) for row in usage),
        spend_usd=round(sum(row["cost_usd"] for row in usage), 9),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
    )


def team_spend(keys: list[KeyRecord], usage: list[dict[str, Any]]) -> list[TeamSpend]:
    """One row per team with a live key or some spend, by spend (highest first).

    A team's spend is every one of its keys' (revoked ones too); its budget is the sum of its live
    keys' budgets: active ones, and pending ones already spending on open models.
    """
    spent: dict[str, float] = {}
    budgets: dict[str, list[float | None]] = {}
    for key in keys:
        live = key.status == "active" or (key.status == "pending" and key.spent_nano > 0)
        if live or key.spent_nano:
            spent[key.team] = round(spent.get(key.team, 0.0) + key.spent_usd, 9)
            budgets.setdefault(key.team, [])
        if live:
            budgets[key.team].append(key.budget_usd)
    calls = {row["team"]: row for row in usage}
    rows = []
    for team, amount in spent.items():
        live_budgets = budgets[team]
        budget = None if not live_budgets or None in live_budgets else round(sum(b or 0.0 for b in live_budgets), 9)
        row = TeamSpend(team, len(live_budgets), amount, budget)
        row.requests, row.errors = (
            int(calls.get(team, {}).get("requests", 0)),
            int(calls.get(team, {}).get("errors", 0)),
        )
        rows.append(row)
    return sorted(rows, key=lambda row: (-row.spent_usd, row.team))


def top_models(usage: list[dict[str, Any]]) -> list[ModelUse]:
    """The models by requests (calls refused before naming a model count in the totals only)."""
    rows = [
        ModelUse(
            row["model"],
            int(row["requests"]),
            int(row["errors"]),
            int(row["input_tokens"]),
            int(row["output_tokens"]),
            round(row["cost_usd"], 9),
        )
        for row in usage
        if row["model"]
    ]
    return sorted(rows, key=lambda row: (-row.requests, row.model))


def _prompt_row(row: dict[str, Any]) -> dict[str, Any]:
    score = row["mean_score"]
    return {
        "prompt": row["prompt"],
        "version": str(row["version"]),
        "calls": int(row["calls"]),
        "errors": int(row["errors"]),
        "feedback": int(row["feedback"]),
        "mean_score": None if score is None else round(float(score), 4),
    }
