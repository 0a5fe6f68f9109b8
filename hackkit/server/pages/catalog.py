"""``/catalog``: what a team's key may call, with its price, limits, variables and copy-paste examples,
and the team's own usage, spend against budget and recent calls. Before a team logs in it shows
``visitor.py``'s forms; the organisers see every model and prompt, drafts included."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from hackkit.errors import ConfigError
from hackkit.server.gateway import Gateway, Reply
from hackkit.server.pages import html, visitor
from hackkit.server.pages.access import Visit, page, visit_of
from hackkit.server.pages.charts import spend_meter
from hackkit.server.pages.examples import model_examples, prompt_examples
from hackkit.server.pages.visitor import base_url, catalog_document, team_who, visitor_page
from hackkit.server.report import money
from hackkit.server.store import KeyRecord

if TYPE_CHECKING:
    from hackkit.server.app import Request
    from hackkit.server.catalog import Exposed
    from hackkit.server.prompts import Endpoint


@page
async def catalog(request: Request) -> Reply:
    visit = await visit_of(request)
    if visit.key is not None:
        return visit.reply(200, await team_page(request, visit, visit.key))
    if visit.admin:
        return visit.reply(200, await organiser_page(request, visit))
    return visit.reply(200, visitor_page(request.gateway, visit))


# -- a team's catalog -----------------------------------------------------------------------


async def team_page(request: Request, visit: Visit, key: KeyRecord) -> Markup:
    gateway = request.gateway
    usage = await gateway.db(gateway.store.key_usage, key.id)
    calls = await gateway.db(gateway.store.key_logs, key.id, 15)
    key_hash = await gateway.db(gateway.store.hash_of_key, key.id) or key.id
    v1 = base_url(request)
    parts = [_status_notice(key), _usage_stats(key, usage)]
    parts.append(html.card("Models you may call", _models(gateway, key, v1), "models"))
    parts.append(html.card("Prompt endpoints", _prompts(gateway, key.models, key_hash, False, v1), "prompts"))
    parts.append(html.card("Your recent calls", _calls(calls), "calls"))
    return catalog_document(visit, html.join(parts), team_who(visit, key))


async def organiser_page(request: Request, visit: Visit) -> Markup:
    v1 = base_url(request)
    note = html.notice("You are logged in as the organisers: every model and prompt endpoint, drafts included.")
    models = html.card("Models", _models(request.gateway, None, v1), "models")
    prompts = html.card("Prompt endpoints", _prompts(request.gateway, None, "admin", True, v1), "prompts")
    return catalog_document(visit, note + models + prompts, "organisers")


def _status_notice(key: KeyRecord) -> Markup:
    if key.status == "pending":
        return html.notice("This key is waiting for approval by the organisers; open models answer already.")
    return Markup("")


def _usage_stats(key: KeyRecord, usage: dict[str, Any]) -> Markup:
    budget = f"of {money(key.budget_usd)}" if key.budget_usd is not None else "spent (no budget)"
    expiry = time.strftime("expires %Y-%m-%d %H:%M UTC", time.gmtime(key.expires_at)) if key.expires_at else ""
    stats = html.join(
        [
            Markup("<div class='stat' id='spend'><b>{}</b><span>{}</span> {}</div>").format(
                money(key.spent_usd), budget, spend_meter(key.spent_usd, key.budget_usd)
            ),
            html.stat(str(usage["requests"]), "requests"),
            html.stat(str(usage["errors"]), "errors"),
            html.stat(f"{usage['input_tokens']:,} / {usage['output_tokens']:,}", "tokens in / out"),
            html.stat(key.status, f"key {key.id}" + (f", {expiry}" if expiry else "")),
        ]
    )
    return Markup("<div class='stats'>{}</div>").format(stats)


def _price(gateway: Gateway, model: Exposed) -> str:
    price = gateway.catalog.price(model)
    if price is None:
        return "no known price"
    return f"${price[0]:g} in / ${price[1]:g} out per million tokens"


def _examples(examples: list[tuple[str, str]]) -> Markup:
    return html.join(
        Markup("<details><summary>{}</summary>{}</details>").format(label, html.code(text)) for label, text in examples
    )


def _facts(facts: list[str]) -> Markup:
    return html.join(Markup("<p class='facts'>{}</p>").format(fact) for fact in facts if fact)


def _limits(gateway: Gateway, key: KeyRecord | None) -> str:
    """What bounds each call of this key: its rate limits and its answers' cap."""
    cap = (key.max_tokens if key else None) or gateway.config.keys.max_tokens
    parts = [f"{key.rpm} requests/min" if key and key.rpm else "", f"{key.tpm:,} tokens/min" if key and key.tpm else ""]
    return "limits: " + ", ".join([p for p in parts if p] + [f"answers up to {cap:,} tokens"])


def _models(gateway: Gateway, key: KeyRecord | None, v1: str) -> Markup:
    entries = []
    for name in gateway.catalog.names(key.models if key else None):
        model = gateway.catalog.models[name]
        facts = [_price(gateway, model), _limits(gateway, key)]
        facts.append("open: answers before approval" if not model.approval_required else "")
        entries.append(
            Markup("<div class='model' id='model-{}'><div><h3>{}</h3><p>{}</p>{}</div><div>{}</div></div>").format(
                name, name, model.description, _facts(facts), _examples(model_examples(model, v1))
            )
        )
    return html.join(entries) or Markup("<p class='empty'>This key may call no model.</p>")


def _prompts(gateway: Gateway, allowed: list[str] | None, key_hash: str, admin: bool, v1: str) -> Markup:
    try:
        endpoints = gateway.prompts.endpoints()
    except ConfigError as exc:
        return html.notice(f"The gateway's prompt files cannot be read: {exc.message}", "error")
    entries = [_prompt(gateway, endpoint, allowed, key_hash, admin, v1) for endpoint in endpoints.values()]
    return html.join(e for e in entries if e) or Markup("<p class='empty'>No prompt endpoints are published.</p>")


def _prompt(
    gateway: Gateway, endpoint: Endpoint, allowed: list[str] | None, key_hash: str, admin: bool, v1: str
) -> Markup:
    """One endpoint as this key sees it (its version of an A/B test), or nothing if it may not call it."""
    chosen = endpoint.choose(key_hash)
    model = gateway.catalog.models.get(chosen.model or gateway.catalog.default_model or "")
    if chosen.status == "retired" or model is None or (endpoint.status == "draft" and not admin):
        return Markup("")
    if allowed is not None and model.name not in allowed:
        return Markup("")
    variables = sorted(chosen.variables())
    facts = [
        f"version {chosen.version}" + (" (deprecated)" if chosen.status == "deprecated" else ""),
        f"model {model.name}",
    ]
    facts.append(_price(gateway, model))
    names = html.join(Markup("<code>{}</code> ").format(v) for v in variables) or Markup("none")
    return Markup(
        "<div class='model' id='prompt-{}'><div><h3>{}</h3><p>{}</p><p>variables: {}</p>{}</div><div>{}</div></div>"
    ).format(
        endpoint.name,
        endpoint.name,
        chosen.description,
        names,
        _facts(facts),
        _examples(prompt_examples(endpoint.name, variables, v1)),
    )


def _what(row: dict[str, Any]) -> str:
    if row["prompt_name"]:
        return f"prompt {row['prompt_name']} v{row['prompt_version']}"
    return str(row["model_asked"] or "-")


def _calls(rows: list[dict[str, Any]]) -> Markup:
    now = time.time()
    body = [
        [
            html.ago(now - row["ts"]),
            _what(row),
            f"{row['input_tokens'] or 0} → {row['output_tokens'] or 0}",
            money((row["cost_nano"] or 0) / 1e9),
            "-" if row["latency_ms"] is None else f"{row['latency_ms']:.0f} ms",
            html.badge(row["status"]),
            row["error"] or "",
        ]
        for row in rows
    ]
    headers = ["when", "what", "tokens", "cost", "latency", "status", "error"]
    return html.table(headers, body, numeric=(2, 3, 4), empty="No calls yet: try an example above.")


ROUTES = {
    ("GET", "/catalog"): catalog,
    ("POST", "/catalog/login"): visitor.login,
    ("POST", "/catalog/logout"): visitor.logout,
    ("POST", "/catalog/request"): visitor.ask_for_key,
}
