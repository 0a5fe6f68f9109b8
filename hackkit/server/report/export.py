"""How the figures read: money and milliseconds as text, the terminal's tables, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from typing import Any

from hackkit.server.report.figures import Report

CSV_COLUMNS = (
    "section",
    "name",
    "version",
    "start",
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "spend_usd",
    "budget_usd",
    "p50_ms",
    "p95_ms",
    "feedback",
    "mean_score",
)


def money(usd: float | None) -> str:
    """``$0.0123``: four decimals, more for a cheap amount; ``-`` for none."""
    if usd is None:
        return "-"
    if usd and abs(usd) < 0.01:
        return "$" + f"{usd:.6f}".rstrip("0").rstrip(".")
    return f"${usd:,.4f}".rstrip("0").rstrip(".") if usd else "$0"


def millis(ms: float | None) -> str:
    return "-" if ms is None else (f"{ms:,.0f} ms" if ms >= 10 else f"{ms:.1f} ms")


def when(ts: float, size: int = 3600) -> str:
    """A bucket's start, in UTC: the date only for day buckets."""
    moment = datetime.fromtimestamp(ts, timezone.utc)
    return moment.strftime("%Y-%m-%d" if size >= 86400 else "%Y-%m-%d %H:%M")


def duration(seconds: float) -> str:
    for unit, span in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= span and seconds % span == 0:
            return f"{int(seconds // span)}{unit}"
    return f"{seconds:g}s"


def share(errors: int, requests: int) -> str:
    return f"{errors / requests:.1%}" if requests else "-"


# -- exports --------------------------------------------------------------------------------


def csv_text(report: Report) -> str:
    """Every figure as one CSV table; ``section`` says which (total, team, model, prompt, bucket)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(report):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def csv_rows(report: Report) -> list[dict[str, Any]]:
    t = report.totals
    rows: list[dict[str, Any]] = [
        {"section": "total", "name": duration(report.until - report.since), "start": _iso(report.since)}
        | {"requests": t.requests, "errors": t.errors, "input_tokens": t.input_tokens}
        | {"output_tokens": t.output_tokens, "spend_usd": t.spend_usd, "p50_ms": t.p50_ms, "p95_ms": t.p95_ms}
    ]
    for team in report.teams:
        rows.append({"section": "team", "name": team.team, "requests": team.requests, "errors": team.errors})
        rows[-1] |= {"spend_usd": team.spent_usd, "budget_usd": team.budget_usd}
    for model in report.models:
        rows.append({"section": "model", "name": model.model, "requests": model.requests, "errors": model.errors})
        rows[-1] |= {"input_tokens": model.input_tokens, "output_tokens": model.output_tokens}
        rows[-1] |= {"spend_usd": model.spend_usd}
    for prompt in report.prompts:
        rows.append({"section": "prompt", "name": prompt.prompt, "version": prompt.version})
        rows[-1] |= {"requests": prompt.calls, "errors": prompt.errors, "feedback": prompt.feedback}
        rows[-1] |= {"mean_score": prompt.mean_score}
    for bucket in report.series:
        rows.append({"section": "bucket", "start": _iso(bucket.start), "requests": bucket.requests})
        rows[-1] |= {"errors": bucket.errors, "p50_ms": bucket.p50_ms, "p95_ms": bucket.p95_ms}
    return rows


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def text_tables(report: Report) -> list[tuple[str, list[list[str]]]]:
    """The report as titled tables of text, for the terminal."""
    teams = [["team", "keys", "spent", "budget", "used", "requests", "errors"]]
    for t in report.teams:
        used = "-" if t.used is None else f"{t.used:.0%}"
        teams.append(
            [t.team, str(t.keys), money(t.spent_usd), money(t.budget_usd), used, str(t.requests), str(t.errors)]
        )
    over_time = [["start (UTC)", "requests", "errors", "p50", "p95"]]
    over_time += [
        [when(b.start, report.bucket_s), str(b.requests), str(b.errors), millis(b.p50_ms), millis(b.p95_ms)]
        for b in report.series
    ]
    models = [["model", "requests", "errors", "tokens in", "tokens out", "spend"]]
    models += [
        [m.model, str(m.requests), str(m.errors), str(m.input_tokens), str(m.output_tokens), money(m.spend_usd)]
        for m in report.models
    ]
    prompts = [["prompt", "version", "calls", "errors", "feedback", "mean score"]]
    prompts += [
        [p.prompt, p.version, str(p.calls), str(p.errors), str(p.feedback), _score(p.mean_score)]
        for p in report.prompts
    ]
    return [("Spend against budget", teams), ("Over time", over_time), ("Models", models), ("Prompt versions", prompts)]


def headline(report: Report) -> str:
    t = report.totals
    return (
        f"Last {duration(report.until - report.since)} ({when(report.since, 60)} to {when(report.until, 60)} UTC): "
        f"{t.requests} requests, {t.errors} error{'' if t.errors == 1 else 's'} ({share(t.errors, t.requests)}), "
        f"{money(t.spend_usd)} spent, "
        f"latency p50 {millis(t.p50_ms)}, p95 {millis(t.p95_ms)}"
    )


def _score(score: float | None) -> str:
    return "-" if score is None else f"{score:.2f}"
