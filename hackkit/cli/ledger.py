"""``hackkit logs`` and ``hackkit usage``: what the ledger recorded."""

from __future__ import annotations

import json
from typing import Any

import click


def _ledger() -> Any:
    from hackkit.llm import default_client

    ledger = default_client().ledger
    if ledger is None:
        raise click.ClickException("The ledger is off ([llm.ledger] enabled = false, or HACKKIT_LEDGER=off).")
    return ledger


@click.command()
@click.option("-n", "--count", default=20, show_default=True, help="How many calls, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--full", is_flag=True, help="Show the whole prompt and response.")
def logs(count: int, as_json: bool, full: bool) -> None:
    """The most recent calls: model, tokens, cost, latency, status."""
    rows = _ledger().recent(count)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo('No calls recorded yet. Try: hackkit chat "hello"')
        return
    for row in reversed(rows):
        _show(row, full)


STATUS_COLOURS = {"ok": "green", "cancelled": "yellow"}


def _show(row: dict[str, Any], full: bool) -> None:
    """One call: its line, the attempts that failed before it, then its answer or error."""
    tokens = f"{row['input_tokens'] or 0}→{row['output_tokens'] or 0}"
    cost = f"${row['cost_usd']:.6f}" if row["cost_usd"] is not None else "$?"
    prompt = f" [{row['prompt_name']}@{row['prompt_version']}]" if row["prompt_name"] else ""
    status = click.style(row["status"], fg=STATUS_COLOURS.get(row["status"], "red"))
    fallback = (
        click.style(f" fallback for {row['requested']}", fg="yellow")
        if row.get("fallback") and row["requested"]
        else ""
    )
    click.echo(
        f"{row['ts'][:19]} {status} {row['model']}{fallback}{prompt} {tokens} {cost} {row['latency_ms'] or 0:.0f}ms"
        f"{' cached' if row['cached'] else ''}"
    )
    for failure in json.loads(row.get("failures") or "[]"):
        click.echo(f"    failed first: {failure['model']}: {failure['reason']}")
    text = row["error"] if row["status"] == "error" else row["response"]
    if text:
        click.echo("    " + (text if full else text.replace("\n", " ")[:100]))


@click.command()
@click.option(
    "--by", type=click.Choice(["model", "day", "day,model", "provider"]), default="day,model", show_default=True
)
@click.option("--days", type=int, help="Only the last N days.")
@click.option("--json", "as_json", is_flag=True)
def usage(by: str, days: int | None, as_json: bool) -> None:
    """Calls, tokens and cost, totalled by model and day."""
    rows = _ledger().usage(by=by, days=days)
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("No calls recorded yet.")
        return
    keys = by.split(",")
    header = [*keys, "calls", "errors", "tokens in", "tokens out", "cost USD"]
    table = [
        [str(r[k]) for k in keys]
        + [
            str(r["calls"]),
            str(r["errors"]),
            str(r["input_tokens"]),
            str(r["output_tokens"]),
            f"{r['cost_usd']:.6f}" if r["cost_usd"] is not None else "?",
        ]
        for r in rows
    ]
    total_cost = sum(r["cost_usd"] or 0 for r in rows)
    table.append(
        ["total"]
        + [""] * (len(keys) - 1)
        + [
            str(sum(r["calls"] for r in rows)),
            str(sum(r["errors"] for r in rows)),
            str(sum(r["input_tokens"] for r in rows)),
            str(sum(r["output_tokens"] for r in rows)),
            f"{total_cost:.6f}",
        ]
    )
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


COMMANDS = [logs, usage]
