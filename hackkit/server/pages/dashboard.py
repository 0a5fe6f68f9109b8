"""``/dashboard``: the room at a glance for mentors, and the decisions they make there.

The admin logs in with a form posting the admin key to ``POST /dashboard/login`` (a session cookie,
HttpOnly, SameSite=Strict); scripts send ``Authorization: Bearer ADMIN_KEY`` instead. Decisions
(approve, deny, revoke) are POST forms with a CSRF token, audited under the actor ``dashboard``.
``/dashboard/tail.json`` feeds the live tail; ``/dashboard/report.json`` and ``.csv`` export the
figures, the same ones ``hackkit gateway report`` prints.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from hackkit.errors import ConfigError
from hackkit.server import report
from hackkit.server.errors import ApiError
from hackkit.server.gateway import Reply, json_reply
from hackkit.server.keys import parse_duration
from hackkit.server.pages import html, panels
from hackkit.server.pages.access import PageError, Visit, end_session, page, posted, start_session, visit_of
from hackkit.server.pages.session import Session
from hackkit.server.store import SQLStore

if TYPE_CHECKING:
    from hackkit.server.app import Request

DEFAULT_WINDOW = "24h"
BACK = "/dashboard"
DONE = {"approved": "Approved", "denied": "Denied", "revoked": "Revoked"}


def _document(visit: Visit, body: Markup, script: str = "") -> Markup:
    who: Markup | str = ""
    if visit.admin and not visit.bearer:
        who = Markup("organisers {}").format(
            html.form("/dashboard/logout", visit.csrf, Markup(""), "Log out", style="quiet")
        )
    top = html.top_bar("Gateway dashboard", [("/dashboard", "Dashboard"), ("/catalog", "Catalog")], who)
    return html.document("Dashboard · hackkit gateway", top, body, visit.nonce, script)


def login_page(visit: Visit, error: str = "") -> Markup:
    field = html.labelled("Admin key", html.text_input("admin_key", kind="password", extra="required"))
    where = Markup(
        "<p class='muted'>It is in <code>.hackkit/gateway-admin-key</code> in the gateway's folder, or in "
        "<code>$HACKKIT_GATEWAY_ADMIN_KEY</code>. It is sent in the form's body, never in a URL.</p>"
    )
    body = (html.notice(error, "error") if error else Markup("")) + html.form(
        "/dashboard/login", visit.csrf, field, "Log in", cls="stack"
    )
    return _document(visit, html.card("Log in as the organisers", body + where, "login"))


@page
async def dashboard(request: Request) -> Reply:
    visit = await visit_of(request)
    if not visit.admin:
        return visit.reply(200, login_page(visit))
    since = request.query.get("since", DEFAULT_WINDOW)
    window = _window(since)
    data = await request.gateway.db(gather, request.gateway.store, window)
    body = _notice(request, data["keys"]) + _body(data, since, visit.csrf)
    return visit.reply(200, _document(visit, body, panels.TAIL_SCRIPT))


def _window(since: str) -> float:
    try:
        return parse_duration(since)
    except ConfigError as exc:
        raise PageError(400, exc.message, hint=exc.hint, back=BACK) from None


def gather(store: SQLStore, window: float) -> dict[str, Any]:
    """Everything the dashboard shows, read in one trip to the store's threads."""
    keys = store.list_keys()
    return {
        "report": report.build(store, window),
        "keys": keys,
        "pending": [key for key in keys if key.status == "pending"],
        "audit": store.audit_log(30),
        "tail": store.logs(limit=20),
    }


def _body(data: dict[str, Any], since: str, csrf: str) -> Markup:
    figures: report.Report = data["report"]
    active = sum(1 for key in data["keys"] if key.status == "active")
    pending = panels.pending_panel(data["pending"], csrf) if data["pending"] else Markup("")
    return html.join(
        [
            panels.window_nav(since),
            panels.headline(figures, len(data["pending"]), active),
            pending,
            _pair(panels.spend_panel(figures), panels.models_panel(figures) + panels.prompts_panel(figures.prompts)),
            panels.charts_panel(figures),
            panels.tail_panel(data["tail"]),
            panels.keys_panel(data["keys"], csrf),
            panels.audit_panel(data["audit"]),
        ]
    )


def _pair(left: Markup, right: Markup) -> Markup:
    return Markup("<div class='grid'><div>{}</div><div>{}</div></div>").format(left, right)


def _notice(request: Request, keys: list[Any]) -> Markup:
    done, key_id = request.query.get("done"), request.query.get("key")
    key = next((k for k in keys if k.id == key_id), None)
    if done not in DONE or key is None:
        return Markup("")
    return html.notice(f"{DONE[done]} key {key.id} ({key.team}).", "good")


# -- logging in and out ---------------------------------------------------------------------


@page
async def login(request: Request) -> Reply:
    visit, form = await posted(request, BACK)
    given = form.get("admin_key", "").strip().encode()
    if not hmac.compare_digest(given, request.gateway.admin_key):
        return visit.reply(401, login_page(visit, "That is not this gateway's admin key."))
    return html.redirect(BACK, start_session(visit, Session.admin()).headers())


@page
async def logout(request: Request) -> Reply:
    await posted(request, BACK)
    return html.redirect(BACK, end_session())


# -- decisions ------------------------------------------------------------------------------


async def _admin_post(request: Request) -> dict[str, str]:
    visit, form = await posted(request, BACK)
    if not visit.admin:
        raise PageError(401, "Only the organisers may do that.", hint="log in to the dashboard first", back=BACK)
    return form


async def _decide(request: Request, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await request.gateway.db(lambda: fn(*args, **kwargs))
    except ConfigError as exc:
        raise PageError(400, exc.message, hint=exc.hint, back=BACK + "#pending") from None


def approval_limits(form: dict[str, str]) -> dict[str, Any]:
    """What the approve form sets: models (empty: every model), and budget and rpm when filled in."""
    limits: dict[str, Any] = {"models": [m.strip() for m in form.get("models", "").split(",") if m.strip()] or None}
    for name, column, kind in (("budget", "budget_usd", float), ("rpm", "rpm", int)):
        text = form.get(name, "").strip().lstrip("$")
        if not text:
            continue
        try:
            value = kind(text)
        except ValueError:
            raise PageError(
                400, f"{name} must be a number, not {text!r}.", hint="leave it empty to keep it", back=BACK
            ) from None
        if value < (0 if kind is float else 1):
            raise PageError(400, f"{name} must be {'0 or more' if kind is float else 'at least 1'}.", back=BACK)
        limits[column] = value
    return limits


@page
async def approve(request: Request) -> Reply:
    form = await _admin_post(request)
    limits = approval_limits(form)
    unknown = [m for m in limits["models"] or [] if m not in request.gateway.catalog.models]
    if unknown:
        known = ", ".join(request.gateway.catalog.names())
        raise PageError(400, f"Unknown models: {', '.join(unknown)}.", hint=f"this gateway has {known}", back=BACK)
    key = await _decide(request, request.gateway.store.approve_key, request.path_id, "dashboard", **limits)
    return html.redirect(f"/dashboard?done=approved&key={key.id}#pending")


@page
async def deny(request: Request) -> Reply:
    form = await _admin_post(request)
    key = await _decide(request, request.gateway.store.deny_key, request.path_id, form.get("reason", ""), "dashboard")
    return html.redirect(f"/dashboard?done=denied&key={key.id}#pending")


@page
async def revoke(request: Request) -> Reply:
    await _admin_post(request)
    key = await _decide(request, request.gateway.store.revoke_key, request.path_id, "dashboard")
    return html.redirect(f"/dashboard?done=revoked&key={key.id}#keys")


# -- JSON and CSV -----------------------------------------------------------------------------


async def _require_admin(request: Request) -> None:
    if not (await visit_of(request)).admin:
        raise ApiError(401, "This route needs the dashboard's session or the admin key.", code="admin_only")


async def tail(request: Request) -> Reply:
    """Calls after ``?after=ID``, oldest first, as the live tail's text cells."""
    await _require_admin(request)
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        raise ApiError(400, "`after` must be an integer: the id of the last call shown.", param="after") from None
    rows = await request.gateway.db(lambda: request.gateway.store.logs(after=after, limit=200))
    cells = [{"id": int(r["id"]), "ok": r["status"] == "ok", "cells": panels.tail_cells(r)} for r in rows]
    return json_reply(200, {"rows": cells}, {"cache-control": "no-store"})


async def _report(request: Request) -> report.Report:
    await _require_admin(request)
    since = request.query.get("since", DEFAULT_WINDOW)
    try:
        window = parse_duration(since)
    except ConfigError as exc:
        raise ApiError(400, exc.message, param="since", hint=exc.hint) from None
    return await request.gateway.db(report.build, request.gateway.store, window)


async def report_json(request: Request) -> Reply:
    return json_reply(200, (await _report(request)).to_dict(), {"cache-control": "no-store"})


async def report_csv(request: Request) -> Reply:
    text = report.csv_text(await _report(request))
    headers = {"content-disposition": "attachment; filename=gateway-report.csv", "cache-control": "no-store"}
    return Reply(200, text.encode(), headers, content_type="text/csv; charset=utf-8")


ROUTES = {
    ("GET", "/dashboard"): dashboard,
    ("POST", "/dashboard/login"): login,
    ("POST", "/dashboard/logout"): logout,
    ("GET", "/dashboard/tail.json"): tail,
    ("GET", "/dashboard/report.json"): report_json,
    ("GET", "/dashboard/report.csv"): report_csv,
}
PATTERNS = {
    ("POST", "/dashboard/keys/{id}/approve"): approve,
    ("POST", "/dashboard/keys/{id}/deny"): deny,
    ("POST", "/dashboard/keys/{id}/revoke"): revoke,
}
