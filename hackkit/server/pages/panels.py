"""The dashboard's panels, each a small function from plain data (a Report, keys, log rows) to HTML."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from hackkit.server.pages import html
from hackkit.server.pages.charts import latency_chart, requests_chart, score_bar, spend_meter
from hackkit.server.report import PromptUse, Report, millis, money, share
from hackkit.server.store import KeyRecord

WINDOWS = ("1h", "6h", "24h", "7d")

TAIL_SCRIPT = """
(() => {
  const rows = document.getElementById("tail-rows");
  const state = document.getElementById("tail-state");
  if (!rows) return;
  let after = Number(rows.dataset.after || 0);
  async function poll() {
    try {
      const answer = await fetch("/dashboard/tail.json?after=" + after, {credentials: "same-origin"});
      if (!answer.ok) { state.textContent = "stopped (log in again)"; return; }
      const data = await answer.json();
      for (const row of data.rows) {
        const tr = document.createElement("tr");
        if (!row.ok) tr.className = "bad";
        for (const cell of row.cells) {
          const td = document.createElement("td");
          td.textContent = cell;
          tr.appendChild(td);
        }
        rows.prepend(tr);
        after = Math.max(after, row.id);
      }
      while (rows.rows.length > 50) rows.deleteRow(-1);
      state.textContent = "live";
    } catch (error) {
      state.textContent = "reconnecting";
    }
    setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
"""


def headline(report: Report, pending: int, active: int) -> Markup:
    t = report.totals
    return Markup("<div class='stats'>{}</div>").format(
        html.join(
            [
                html.stat(f"{t.requests:,}", "requests"),
                html.stat(f"{t.errors:,}", f"errors ({share(t.errors, t.requests)})"),
                html.stat(money(t.spend_usd), "spent"),
                html.stat(millis(t.p50_ms), "latency p50"),
                html.stat(millis(t.p95_ms), "latency p95"),
                html.stat(str(active), "active keys"),
                html.stat(str(pending), "waiting for approval"),
            ]
        )
    )


def window_nav(current: str) -> Markup:
    links = html.join(
        Markup("<a href='/dashboard?since={}' class='{}'>{}</a>").format(w, "on" if w == current else "", w)
        for w in WINDOWS
    )
    exports = Markup(
        "· export: <a href='/dashboard/report.csv?since={}'>CSV</a> <a href='/dashboard/report.json?since={}'>JSON</a>"
    ).format(current, current)
    return Markup("<nav class='window'>Last {} {}</nav>").format(links, exports)


def spend_panel(report: Report) -> Markup:
    rows: list[list[html.Cell]] = [
        [
            team.team,
            money(team.spent_usd),
            money(team.budget_usd),
            spend_meter(team.spent_usd, team.budget_usd),
            "-" if team.used is None else f"{team.used:.0%}",
            team.requests,
            team.errors,
        ]
        for team in report.teams
    ]
    headers = ["team", "spent", "budget", "", "used", "requests", "errors"]
    return html.card(
        "Spend against budget",
        html.table(headers, rows, numeric=(1, 2, 4, 5, 6), empty="No team has a key yet."),
        "spend",
    )


def charts_panel(report: Report) -> Markup:
    legend_requests = Markup("<p class='legend'><i class='a'></i>requests<i class='b'></i>errors</p>")
    legend_latency = Markup("<p class='legend'><i class='a'></i>p50<i class='c'></i>p95</p>")
    return Markup("<div class='grid'>{}{}</div>").format(
        html.card("Requests and errors", requests_chart(report.series, report.bucket_s) + legend_requests, "requests"),
        html.card("Latency", latency_chart(report.series, report.bucket_s) + legend_latency, "latency"),
    )


def models_panel(report: Report) -> Markup:
    rows: list[list[html.Cell]] = [
        [m.model, m.requests, m.errors, f"{m.input_tokens:,}", f"{m.output_tokens:,}", money(m.spend_usd)]
        for m in report.models
    ]
    headers = ["model", "requests", "errors", "tokens in", "tokens out", "spend"]
    return html.card("Top models", html.table(headers, rows, numeric=(1, 2, 3, 4, 5), empty="No calls yet."), "models")


def prompts_panel(prompts: Sequence[PromptUse]) -> Markup:
    """Each prompt's versions side by side: calls, errors and feedback, for an A/B test."""
    scores = [p.mean_score for p in prompts if p.mean_score is not None]
    low, high = min([0.0, *scores]), max([1.0, *scores])
    rows: list[list[html.Cell]] = [
        [
            p.prompt,
            p.version,
            p.calls,
            p.errors,
            p.feedback,
            "-" if p.mean_score is None else f"{p.mean_score:.2f}",
            score_bar(p.mean_score, low, high),
        ]
        for p in prompts
    ]
    headers = ["prompt", "version", "calls", "errors", "feedback", "mean score", ""]
    table = html.table(headers, rows, numeric=(2, 3, 4, 5), empty="No prompt endpoint was called in this window.")
    return html.card("Prompt versions", table, "prompts")


def pending_panel(pending: Sequence[KeyRecord], csrf: str) -> Markup:
    rows: list[list[html.Cell]] = [
        [
            Markup("{}<br><span class='muted'>{}</span>").format(key.team, key.contact or ""),
            Markup("{}<br><span class='muted'>asked {}</span>").format(
                key.reason or "", html.ago(time.time() - key.created_at)
            ),
            ", ".join(key.models) if key.models else "all",
            _decide(key, csrf),
        ]
        for key in pending
    ]
    headers = ["team", "reason", "models asked", "approve with budget $, rpm, models · or deny"]
    return html.card("Pending requests", html.table(headers, rows, actions=3), "pending")


def _decide(key: KeyRecord, csrf: str) -> Markup:
    budget = "" if key.budget_usd is None else f"{key.budget_usd:g}"
    approve = html.form(
        f"/dashboard/keys/{key.id}/approve",
        csrf,
        html.text_input("budget", budget, placeholder="budget $", extra="class='w-s' aria-label='budget in USD'")
        + html.text_input(
            "rpm", str(key.rpm or ""), placeholder="rpm", extra="class='w-s' aria-label='requests a minute'"
        )
        + html.text_input(
            "models", ",".join(key.models or []), placeholder="all models", extra="class='w-m' aria-label='models'"
        ),
        "Approve",
        style="good",
    )
    deny = html.form(
        f"/dashboard/keys/{key.id}/deny",
        csrf,
        html.text_input(
            "reason", placeholder="why (the team sees it)", extra="class='w-l' required aria-label='reason'"
        ),
        "Deny",
        style="danger",
    )
    return approve + Markup(" ") + deny


def keys_panel(keys: Sequence[KeyRecord], csrf: str) -> Markup:
    rows = [
        [
            key.id,
            key.team,
            html.badge(key.status),
            money(key.spent_usd),
            money(key.budget_usd),
            f"{key.rpm or '-'} / {f'{key.tpm:,}' if key.tpm else '-'}",
            ", ".join(key.models) if key.models else "all",
            _revoke(key, csrf),
        ]
        for key in reversed(keys)
    ]
    headers = ["id", "team", "status", "spent", "budget", "rpm / tpm", "models", ""]
    return html.card("Keys", html.table(headers, rows, numeric=(3, 4), actions=7, empty="No keys yet."), "keys")


def _revoke(key: KeyRecord, csrf: str) -> Markup:
    if key.status not in ("active", "pending"):
        return Markup("")
    return html.form(f"/dashboard/keys/{key.id}/revoke", csrf, Markup(""), "Revoke", style="danger")


def audit_panel(rows: Sequence[dict[str, Any]]) -> Markup:
    body = [
        [
            time.strftime("%m-%d %H:%M:%S", time.gmtime(r["ts"])),
            r["actor"],
            r["action"],
            r["target"] or "",
            r["detail"] or "",
        ]
        for r in rows
    ]
    headers = ["when (UTC)", "who", "action", "key", "detail"]
    return html.card("Audit log", html.table(headers, body, empty="Nothing has been changed yet."), "audit")


def tail_cells(row: dict[str, Any]) -> list[str]:
    """One call of the live tail, as text cells (the script puts them in with textContent)."""
    what = f"{row['prompt_name']} v{row['prompt_version']}" if row.get("prompt_name") else row["model_asked"]
    return [
        time.strftime("%H:%M:%S", time.gmtime(row["ts"])),
        row["team"] or "(no key)",
        what or "-",
        f"{row['input_tokens'] or 0} → {row['output_tokens'] or 0}",
        money((row["cost_nano"] or 0) / 1e9),
        "-" if row["latency_ms"] is None else f"{row['latency_ms']:.0f} ms",
        f"{row['status']} {row['http_status']}",
    ]


def tail_panel(rows: Sequence[dict[str, Any]]) -> Markup:
    headers = ["time (UTC)", "team", "model", "tokens", "cost", "latency", "status"]
    head = html.join(Markup("<th>{}</th>").format(h) for h in headers)
    body = html.join(
        Markup("<tr class='{}'>{}</tr>").format(
            "" if row["status"] == "ok" else "bad", html.join(Markup("<td>{}</td>").format(c) for c in tail_cells(row))
        )
        for row in reversed(rows)
    )
    after = max((int(row["id"]) for row in rows), default=0)
    table = Markup(
        "<table class='tail'><thead><tr>{}</tr></thead><tbody id='tail-rows' data-after='{}'>{}</tbody></table>"
    ).format(head, after, body)
    state = Markup(" <span class='badge' id='tail-state'>as of loading</span>")
    return html.card("Live tail", table, "tail", state)
