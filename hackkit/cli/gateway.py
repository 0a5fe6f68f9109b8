"""``hackkit gateway``: serve a room's OpenAI-compatible gateway, and manage its keys and logs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

URL_HELP = "Act on a running gateway at this URL (admin key in $HACKKIT_GATEWAY_ADMIN_KEY), not this folder's store."
DB_HELP = "The store: a SQLite path or a postgresql:// URL (default [gateway] db, then .hackkit/gateway.sqlite)."


def _settings() -> Any:
    from hackkit.config import load_settings

    return load_settings()


def _control(url: str | None, db: str | None, *, anonymous: bool = False) -> Any:
    from hackkit.server.control import control

    return control(_settings(), url, db, anonymous=anonymous)


@click.group()
def gateway() -> None:
    """The workshop gateway: one OpenAI-compatible server, a key, budget and limits per team."""


@gateway.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="0.0.0.0 to serve the room's network.")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Processes sharing the store."
)
@click.option("--db", help=DB_HELP)
def serve(host: str, port: int, workers: int, db: str | None) -> None:
    """Serve the models of [gateway.models] (or those whose keys are set) to the teams' keys."""
    from hackkit.server.serve import gateway_root, prepare, run

    settings = _settings()
    banner = prepare(settings, host, port, workers, db)
    for line in banner.lines():
        click.echo(line, err=True)
    run(gateway_root(settings), host, port, workers, db)


@gateway.group()
def keys() -> None:
    """Create, list, revoke and rotate team keys."""


@keys.command("create")
@click.option("--team", help="The team's name (any text).")
@click.option("--budget", type=click.FloatRange(min=0), help="USD this key may spend; default [gateway.keys] budget.")
@click.option("--rpm", type=click.IntRange(min=1), help="Requests per minute.")
@click.option("--tpm", type=click.IntRange(min=1), help="Tokens per minute.")
@click.option("--models", help="Comma-separated model names this key may use; default: all.")
@click.option("--max-tokens", type=click.IntRange(min=1), help="An answer's cap when a request sets none.")
@click.option("--expires", help="When the key stops working: 48h, 7d, 30m.")
@click.option("--from", "from_csv", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="teams.csv")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Where --from writes the handouts.")
@click.option("--gateway-url", help="The URL teams use, for the handouts (default http://HOST:8787/v1).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (with the key) per key.")
@click.option("--url", help=URL_HELP)
@click.option("--db", help=DB_HELP)
def keys_create(
    team: str | None,
    budget: float | None,
    rpm: int | None,
    tpm: int | None,
    models: str | None,
    max_tokens: int | None,
    expires: str | None,
    from_csv: Path | None,
    out: Path | None,
    gateway_url: str | None,
    as_json: bool,
    url: str | None,
    db: str | None,
) -> None:
    """A key for one team (shown once), or one per row of --from teams.csv, with printable handouts."""
    from hackkit.server.keys import KeySpec, read_teams

    settings = _settings()
    defaults = settings.gateway.keys
    if from_csv is not None:
        specs = read_teams(from_csv, defaults)
    elif team:
        model_list = [m.strip() for m in models.split(",") if m.strip()] if models else None
        specs = [KeySpec(team, budget, rpm, tpm, model_list, max_tokens, expires).with_defaults(defaults)]
    else:
        raise click.UsageError("Pass --team NAME, or --from teams.csv.")
    backend = _control(url, db)
    try:
        created = [backend.create_key(spec) for spec in specs]
    finally:
        backend.close()
    if from_csv is not None:
        _handouts(created, out or from_csv.parent / "handouts", gateway_url or url, as_json)
        return
    for key in created:
        if as_json:
            click.echo(json.dumps(key))
        else:
            click.echo(f"{key['key']}")
            click.echo(f"  team {key['team']}, id {key['id']}, {_limits(key)}. Shown once: hand it over now.", err=True)


def _handouts(created: list[dict[str, Any]], out: Path, url: str | None, as_json: bool) -> None:
    from hackkit.server.handout import write_handouts

    written = write_handouts(created, out, url)
    if as_json:
        for key in created:
            click.echo(json.dumps(key))
    click.echo(f"{len(created)} keys created; handouts (mode 0600): " + ", ".join(map(str, written)), err=True)


def _limits(key: dict[str, Any]) -> str:
    budget = f"${key['budget_usd']:g} budget" if key.get("budget_usd") is not None else "no budget"
    parts = [budget, f"{key['rpm']} rpm" if key.get("rpm") else "", f"{key['tpm']} tpm" if key.get("tpm") else ""]
    if key.get("models"):
        parts.append("models " + ",".join(key["models"]))
    return ", ".join(p for p in parts if p)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--url", help=URL_HELP)
@click.option("--db", help=DB_HELP)
def keys_list(as_json: bool, url: str | None, db: str | None) -> None:
    """Every key: team, status, spend against budget, limits."""
    backend = _control(url, db)
    try:
        rows = backend.list_keys()
    finally:
        backend.close()
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("No keys yet: hackkit gateway keys create --team NAME")
        return
    table = [["id", "team", "status", "spent", "budget", "rpm", "tpm", "models"]]
    for row in rows:
        budget = f"${row['budget_usd']:.2f}" if row["budget_usd"] is not None else "-"
        models = ",".join(row["models"]) if row["models"] else "all"
        rpm, tpm = row["rpm"] or "-", row["tpm"] or "-"
        table.append([row["id"], row["team"], row["status"], f"${row['spent_usd']:.4f}", budget, rpm, tpm, models])
    _print_table(table)


@keys.command("revoke")
@click.argument("key_id")
@click.option("--url", help=URL_HELP)
@click.option("--db", help=DB_HELP)
def keys_revoke(key_id: str, url: str | None, db: str | None) -> None:
    """Stop KEY_ID at once, on every worker."""
    backend = _control(url, db)
    try:
        key = backend.revoke(key_id)
    finally:
        backend.close()
    click.echo(f"Revoked {key['id']} ({key['team']}).")


@keys.command("rotate")
@click.argument("key_id")
@click.option("--json", "as_json", is_flag=True)
@click.option("--url", help=URL_HELP)
@click.option("--db", help=DB_HELP)
def keys_rotate(key_id: str, as_json: bool, url: str | None, db: str | None) -> None:
    """A new secret for KEY_ID (same budget, spend and limits); the old one stops working."""
    backend = _control(url, db)
    try:
        key = backend.rotate(key_id)
    finally:
        backend.close()
    click.echo(json.dumps(key) if as_json else key["key"])


@keys.command("request")
@click.option("--team", required=True, help="Your team's name (any text).")
@click.option("--contact", required=True, help="An email or a name the organisers can reach.")
@click.option("--reason", help="What you need it for.")
@click.option("--models", help="Comma-separated model names you need; default: what the organisers grant.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--url", help="The gateway's URL (as on your handout).")
@click.option("--db", help=DB_HELP)
def keys_request(
    team: str, contact: str, reason: str | None, models: str | None, as_json: bool, url: str | None, db: str | None
) -> None:
    """Ask for a key: you get it at once, and it works once a mentor approves it."""
    backend = _control(url, db, anonymous=True)
    try:
        model_list = [m.strip() for m in models.split(",") if m.strip()] if models else None
        key = backend.request_key(team, contact, reason, model_list)
    finally:
        backend.close()
    if as_json:
        click.echo(json.dumps(key))
        return
    click.echo(key["key"])
    click.echo(f"  request {key['id']} for {key['team']}: waiting for approval by the organisers.", err=True)


@keys.command("pending")
@click.option("--json", "as_json", is_flag=True)
@click.option("--url", help=URL_HELP)
@click.option("--db", help=DB_HELP)
def keys_pending(as_json: bool, url: str | None, db: str | None) -> None:
    """Key requests waiting for a decision."""
    backend = _control(url, db)
    try:
        rows = backend.pending()
    finally:
        backend.close()
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("No key requests waiting.")
        return
    table = [["id", "team", "contact", "models", "reason"]]
    for row in rows:
        models = ",".join(row["models"]) if row["models"] else "all"
        table.append([row["id"], row["team"], row["contact"] or "", models, (row["reason"] or "")[:60]])
    _print_table(table)


@keys.command("approve")
@click.argument("key_id")
@click.option("--budget", type=click.FloatRange(min=0), help="USD; default the key's ([gateway.keys] budget).")
@click.option("--rpm", type=click.IntRange(min=1))
@click.option("--tpm", type=click.IntRange(min=1))
@click.option("--models", help="Comma-separated model names; without it, every model.")
@click.option("--url", help=URL_HELP)
@click.option("--db", help=DB_HELP)
def keys_approve(
    key_id: str,
    budget: float | None,
    rpm: int | None,
    tpm: int | None,
    models: str | None,
    url: str | None,
    db: str | None,
) -> None:
    """Approve a key request: the team's key works at once."""
    limits: dict[str, Any] = {"models": [m.strip() for m in models.split(",") if m.strip()] if models else None}
    limits |= {k: v for k, v in (("budget_usd", budget), ("rpm", rpm), ("tpm", tpm)) if v is not None}
    backend = _control(url, db)
    try:
        key = backend.approve(key_id, limits)
    finally:
        backend.close()
    click.echo(f"Approved {key['id']} ({key['team']}): {_limits(key)}.")


@keys.command("deny")
@click.argument("key_id")
@click.option("--reason", required=True, help="Shown to the team on every call.")
@click.option("--url", help=URL_HELP)
@click.option("--db", help=DB_HELP)
def keys_deny(key_id: str, reason: str, url: str | None, db: str | None) -> None:
    """Deny a key request (or stop an active key) with a reason the team sees."""
    backend = _control(url, db)
    try:
        key = backend.deny(key_id, reason)
    finally:
        backend.close()
    click.echo(f"Denied {key['id']} ({key['team']}): {reason}")


@gateway.command()
@click.option("--team", help="Only this team's calls.")
@click.option("-n", "--count", default=20, show_default=True, help="How many of the newest calls.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing calls as they arrive (Ctrl+C stops).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--url", help=URL_HELP)
@click.option("--db", help=DB_HELP)
def logs(team: str | None, count: int, follow: bool, as_json: bool, url: str | None, db: str | None) -> None:
    """One line per call: time, team, model, tokens, cost, status."""
    backend = _control(url, db)
    try:
        rows = backend.logs(team=team, limit=count)
        last = _print_logs(rows, as_json)
        while follow:
            time.sleep(1.0)
            last = max(last, _print_logs(backend.logs(after=last, team=team, limit=1000), as_json))
    except KeyboardInterrupt:
        pass
    finally:
        backend.close()


def _print_logs(rows: list[dict[str, Any]], as_json: bool) -> int:
    for row in rows:
        if as_json:
            click.echo(json.dumps({k: v for k, v in row.items() if k != "payload" or v is not None}))
            continue
        when = time.strftime("%H:%M:%S", time.localtime(row["ts"]))
        cost = f"${(row['cost_nano'] or 0) / 1e9:.6f}"
        tokens = f"{row['input_tokens'] or 0}→{row['output_tokens'] or 0}"
        colour = "green" if row["status"] == "ok" else ("yellow" if row["status"] == "cancelled" else "red")
        status = click.style(f"{row['status']} {row['http_status']}", fg=colour)
        used = f" ({row['model_used']})" if row["model_used"] and row["model_used"] != row["model_asked"] else ""
        line = f"{when} {row['team'] or '-':<16} {row['model_asked'] or '-'}{used} {tokens} {cost} {status}"
        click.echo(line + (f"  {row['error']}" if row["error"] else ""))
    return max((int(row["id"]) for row in rows), default=0)


@gateway.command()
@click.option("--by", type=click.Choice(["team", "model", "day"]), default="team", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--url", help=URL_HELP)
@click.option("--db", help=DB_HELP)
def usage(by: str, as_json: bool, url: str | None, db: str | None) -> None:
    """Requests, errors, tokens and spend, by team, model or day."""
    backend = _control(url, db)
    try:
        rows = backend.usage(by)
    finally:
        backend.close()
    if as_json:
        click.echo(json.dumps(rows))
        return
    table = [[by, "requests", "errors", "tokens in", "tokens out", "spend USD"]]
    table += [
        [str(r[by]), r["requests"], r["errors"], r["input_tokens"], r["output_tokens"], f"{r['cost_usd']:.6f}"]
        for r in rows
    ]
    _print_table(table)


@gateway.command()
@click.option("--since", default="24h", show_default=True, help="The window: 30m, 24h, 7d.")
@click.option("--csv", "as_csv", is_flag=True, help="Every figure as one CSV table; its section column says which.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--url", help=URL_HELP)
@click.option("--db", help=DB_HELP)
def report(since: str, as_csv: bool, as_json: bool, url: str | None, db: str | None) -> None:
    """The dashboard's figures: spend per team, requests, errors and latency over time, models, prompts."""
    from hackkit.server import report as figures
    from hackkit.server.serve import ADMIN_KEY_VARIABLE

    settings = _settings()
    if url:
        result = figures.remote_report(url, settings.env(ADMIN_KEY_VARIABLE), since)
    else:
        result = figures.local_report(settings, since, db)
    if as_csv or as_json:
        click.echo(figures.csv_text(result) if as_csv else json.dumps(result.to_dict()), nl=not as_csv)
        return
    click.echo(figures.headline(result))
    for title, table in figures.text_tables(result):
        click.echo(f"\n{title}")
        if len(table) == 1:
            click.echo("  none")
            continue
        _print_table(table)


def _print_table(table: list[list[Any]]) -> None:
    cells = [[str(cell) for cell in row] for row in table]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    for row in cells:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


COMMANDS = [gateway]
