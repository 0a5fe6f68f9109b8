"""The figures the dashboard shows, as plain data: for its pages, ``hackkit gateway report`` and ``--csv``.

One :func:`build` over the store gives a :class:`Report`; the dashboard renders it, the CLI prints
it, ``--csv`` and ``--json`` export it, so all of them show the same numbers:

- spend against budget per team (lifetime spend of the team's keys, against the budgets of its
  live keys: active, or pending and already spending), with the team's requests and errors in the window;
- requests, errors and latency (p50, p95, nearest rank over the log's ``latency_ms``) per time bucket;
- the models by requests, and each prompt version with its feedback (count and mean score), for A/B tests.

Errors are calls whose status is not ``ok`` (refused, failed upstream, cancelled), as in ``usage``.
"""

from __future__ import annotations

from hackkit.server.report.export import (
    CSV_COLUMNS,
    csv_rows,
    csv_text,
    duration,
    headline,
    millis,
    money,
    share,
    text_tables,
    when,
)
from hackkit.server.report.figures import (
    BUCKET_SIZES,
    MAX_BUCKETS,
    Bucket,
    ModelUse,
    PromptUse,
    Report,
    TeamSpend,
    Totals,
    bucket_size,
    build,
    percentile,
    series,
    team_spend,
    top_models,
    totals,
)
from hackkit.server.report.sources import local_report, remote_report, window_of

__all__ = [
    "BUCKET_SIZES",
    "CSV_COLUMNS",
    "MAX_BUCKETS",
    "Bucket",
    "ModelUse",
    "PromptUse",
    "Report",
    "TeamSpend",
    "Totals",
    "bucket_size",
    "build",
    "csv_rows",
    "csv_text",
    "duration",
    "headline",
    "local_report",
    "millis",
    "money",
    "percentile",
    "remote_report",
    "series",
    "share",
    "team_spend",
    "text_tables",
    "top_models",
    "totals",
    "when",
    "window_of",
]
