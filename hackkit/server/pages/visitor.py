"""The catalog before a team logs in: the login form, and the form that asks for a key.

Asking calls ``Gateway.request_key`` itself, so ``[gateway] key_requests`` and ``max_pending`` hold
exactly as for ``POST /v1/key-requests``; a refusal shows the form again with what was typed in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from hackkit.server.errors import ApiError
from hackkit.server.gateway import Gateway, Reply, dumps, loads
from hackkit.server.handout import env_lines
from hackkit.server.pages import html
from hackkit.server.pages.access import PageError, Visit, end_session, key_unusable, page, posted, start_session
from hackkit.server.pages.session import Session, form_lists
from hackkit.server.store import KeyRecord, hash_key

if TYPE_CHECKING:
    from hackkit.server.app import Request


def base_url(request: Request) -> str:
    """This gateway's /v1 URL as the browser reached it."""
    host = request.headers.get("host") or "127.0.0.1:8787"
    return f"{request.scope.get('scheme', 'http')}://{host}/v1"


def catalog_document(visit: Visit, body: Markup, who: Markup | str = "") -> Markup:
    top = html.top_bar("Model catalog", [("/catalog", "Catalog"), ("/dashboard", "Dashboard")], who)
    return html.document("Model catalog · hackkit gateway", top, body, visit.nonce)


def team_who(visit: Visit, key: KeyRecord) -> Markup:
    out = html.form("/catalog/logout", visit.csrf, Markup(""), "Log out", style="quiet")
    return Markup("{} · key {} {}").format(key.team, key.id, out)


def visitor_page(gateway: Gateway, visit: Visit, asked: dict[str, Any] | None = None, error: str = "") -> Markup:
    notices = html.notice(visit.ended + " Log in again with a valid key.", "error") if visit.ended else Markup("")
    if error and not gateway.config.key_requests:
        notices += html.notice(error, "error")  # there is no request form to show it in
    login = html.card(
        "Log in with your team's key",
        html.form(
            "/catalog/login",
            visit.csrf,
            html.labelled("API key", html.text_input("key", kind="password", placeholder="hk-...", extra="required")),
            "Log in",
            cls="stack",
        )
        + Markup("<p class='muted'>The key is sent in the form's body, never in a URL.</p>"),
        "login",
    )
    cards = login + (request_card(gateway, visit, asked or {}, error) if gateway.config.key_requests else Markup(""))
    return catalog_document(visit, notices + Markup("<div class='grid'>{}</div>").format(cards))


def request_card(gateway: Gateway, visit: Visit, asked: dict[str, Any], error: str) -> Markup:
    """The form that asks for a key; ``asked`` refills it after a refusal, so nothing typed is lost."""
    chosen = set(asked.get("models") or [])
    boxes = html.join(
        Markup("<label class='muted'><input type='checkbox' name='models' value='{}' {}> {}{}</label>").format(
            name,
            Markup("checked") if name in chosen else "",
            name,
            " (open: works before approval)" if not gateway.catalog.models[name].approval_required else "",
        )
        for name in gateway.catalog.names()
    )
    fields = (
        html.labelled("Team", html.text_input("team", asked.get("team", ""), extra="required maxlength='200'"))
        + html.labelled(
            "Contact", html.text_input("contact", asked.get("contact", ""), extra="required"), "email or name"
        )
        + html.labelled(
            "What you need it for",
            Markup("<textarea name='reason' rows='3' maxlength='2000'>{}</textarea>").format(asked.get("reason") or ""),
        )
        + Markup("<fieldset><legend>Models (none ticked: what the organisers grant)</legend>{}</fieldset>").format(
            boxes
        )
    )
    body = (html.notice(error, "error") if error else Markup("")) + Markup(
        "<p class='muted'>You get a key at once; it works as soon as a mentor approves it.</p>"
    )
    return html.card(
        "Ask for a key", body + html.form("/catalog/request", visit.csrf, fields, "Ask for a key", cls="stack"), "ask"
    )


@page
async def login(request: Request) -> Reply:
    visit, form = await posted(request, "/catalog")
    key = await request.gateway.db(request.gateway.store.key_by_hash, hash_key(form.get("key", "").strip()))
    why = key_unusable(key) if key is not None else "No key like that exists on this gateway."
    if why or key is None:
        raise PageError(
            401, why, hint="check the key on your handout (it starts with hk-), or ask for one", back="/catalog"
        )
    return html.redirect("/catalog", start_session(visit, Session.team(key.id), key.prefix).headers())


@page
async def logout(request: Request) -> Reply:
    await posted(request, "/catalog")
    return html.redirect("/catalog", end_session())


@page
async def ask_for_key(request: Request) -> Reply:
    """The catalog's key request: ``Gateway.request_key`` itself, then the key, shown once, and a session."""
    visit, form = await posted(request, "/catalog")
    asked: dict[str, Any] = {k: form.get(k, "") for k in ("team", "contact", "reason")}
    asked["reason"] = asked["reason"] or None
    asked["models"] = form_lists(request).get("models") or None
    try:
        reply = await request.gateway.request_key(dumps(asked))
    except ApiError as refusal:
        message = refusal.message + (f" ({refusal.hint})" if refusal.hint else "")
        return visit.reply(refusal.status, visitor_page(request.gateway, visit, asked, message))
    made = loads(reply.body)
    key = await request.gateway.db(request.gateway.store.find_key, made["id"])
    assert key is not None
    team = start_session(visit, Session.team(key.id), key.prefix, key)
    body = html.card("Your key", _new_key(made["key"], key, base_url(request)), "your-key")
    return team.reply(201, catalog_document(team, body, team_who(team, key)))


def _new_key(secret: str, key: KeyRecord, v1: str) -> Markup:
    return (
        html.notice("Copy it now: this is the only time it is shown.", "good")
        + Markup("<p class='secret'>{}</p>").format(secret)
        + Markup("<p>Paste these three lines into your project's <code>.env</code>:</p>")
        + html.code(env_lines(v1, secret))
        + html.notice(f"Request {key.id} for {key.team} is waiting for approval by the organisers.")
        + Markup("<p><a href='/catalog'>Open your catalog</a>: it shows when the key is approved.</p>")
    )
