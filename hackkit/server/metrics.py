"""``/metrics`` in Prometheus's text format, computed from the store.

Counting in the store rather than in each worker's memory means every worker, and every gateway
machine sharing one PostgreSQL, reports the same exact totals: requests, errors, tokens and spend
by team and model, and histograms of latency and time to first token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hackkit.server.store import SQLStore
from hackkit.server.store.base import NANO

LATENCY_BOUNDS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)


class StoreCollector:
    def __init__(self, store: SQLStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        labels = ["team", "model"]
        requests = CounterMetricFamily(
            "hackkit_gateway_requests", "Requests by team, model and status", labels=[*labels, "status"]
        )
        errors = CounterMetricFamily("hackkit_gateway_errors", "Requests that did not succeed", labels=labels)
        tokens = CounterMetricFamily("hackkit_gateway_tokens", "Tokens by direction", labels=[*labels, "direction"])
        spend = CounterMetricFamily("hackkit_gateway_spend_usd", "Spend in USD", labels=labels)
        for row in self.store.metric_totals():
            team, model = row["team"] or "", row["model"] or ""
            requests.add_metric([team, model, row["status"]], row["requests"])
            if row["status"] != "ok":
                errors.add_metric([team, model], row["requests"])
            tokens.add_metric([team, model, "input"], row["input_tokens"])
            tokens.add_metric([team, model, "output"], row["output_tokens"])
            spend.add_metric([team, model], int(row["cost_nano"]) / NANO)
        yield from (requests, errors, tokens, spend)
        for column, name, what in (
            ("latency_ms", "hackkit_gateway_request_seconds", "Time from request to its last byte"),
            ("ttft_ms", "hackkit_gateway_first_token_seconds", "Time from request to a stream's first token"),
        ):
            counts, total_ms, count = self.store.latency_buckets(column, LATENCY_BOUNDS_MS)
            buckets = [(str(bound / 1000), value) for bound, value in zip(LATENCY_BOUNDS_MS, counts, strict=True)]
            yield HistogramMetricFamily(name, what, buckets=[*buckets, ("+Inf", count)], sum_value=total_ms / 1000)
        budget = GaugeMetricFamily("hackkit_gateway_budget_left_usd", "Budget left per key", labels=["team", "key"])
        for key in self.store.list_keys():
            if key.budget_nano is not None:
                left = (key.budget_nano - key.spent_nano - key.reserved_nano) / NANO
                budget.add_metric([key.team, key.id], left)
        yield budget


def render(store: SQLStore) -> tuple[bytes, str]:
    """(body, content type) for one scrape."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store))  # type: ignore[arg-type]
    return generate_latest(registry), CONTENT_TYPE_LATEST
