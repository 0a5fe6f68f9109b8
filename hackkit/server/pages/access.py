"""Who is looking at a page: the admin (session cookie or bearer key), a team (its key, re-read from the
store on every request), or a visitor; and the CSRF check every POST made with a cookie passes."""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup

from hackkit.errors import HackkitError
from hackkit.server.gateway import Reply
from hackkit.server.pages import html
from hackkit.server.pages.session import (
    Session,
    clear_cookie,
    cookie_of,
    csrf_ok,
    csrf_token,
    decode,
    encode,
    form_of,
    peek_key_id,
    session_secret,
    set_cookie,
)
from hackkit.server.store import KeyRecord

if TYPE_CHECKING:
    from hackkit.server.app import Request


class PageError(HackkitError):
    """A page's refusal, shown as an HTML page with its status, its message and what to do."""

    def __init__(self, status: int, message: str, hint: str | None = None, back: str = "/catalog") -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.back = back


def forbidden_form(back: str) -> PageError:
    return PageError(
        403,
        "This form was refused: it did not carry this page's security token.",
        hint="reload the page and send the form again",
        back=back,
    )


@dataclass
class Visit:
    session: Session
    cookie: str  # the cookie value this visit's CSRF token derives from
    nonce: str  # this reply's CSP nonce
    secret: bytes
    key: KeyRecord | None = None  # a team's key, as the store has it now
    fresh: bool = False  # a new visitor cookie to set
    bearer: bool = False  # the admin key came as Authorization: Bearer
    ended: str = ""  # why a team's session just ended (its key was revoked, denied...)

    @property
    def admin(self) -> bool:
        return self.bearer or self.session.role == "admin"

    @property
    def csrf(self) -> str:
        return csrf_token(self.secret, self.cookie)

    def headers(self) -> dict[str, str]:
        return {"set-cookie": set_cookie(self.cookie, self.session.expires - time.time())} if self.fresh else {}

    def reply(self, status: int, page: Markup) -> Reply:
        return html.html_reply(status, page, self.nonce, self.headers())


def key_unusable(key: KeyRecord | None, now: float | None = None) -> str:
    """Why this key cannot hold a session (empty when it can: active, or pending approval)."""
    if key is None:
        return "This key no longer exists on this gateway."
    if key.status == "revoked":
        return "This key was revoked by the organisers."
    if key.status == "denied":
        return f"The organisers denied this key's request: {key.decision or 'no reason given'}."
    if key.expires_at is not None and (now or time.time()) >= key.expires_at:
        return "This key has expired."
    return ""


async def visit_of(request: Request) -> Visit:
    """The visit's session: a valid cookie's, the admin's by bearer key, or a new visitor's."""
    gateway = request.gateway
    secret, nonce = session_secret(gateway.admin_key), html.new_nonce()
    if _bearer_is_admin(request):
        return Visit(Session.admin(), "", nonce, secret, bearer=True)
    ended = ""
    cookie = cookie_of(request)
    if cookie:
        key_id = peek_key_id(cookie)
        key = await gateway.db(gateway.store.find_key, key_id) if key_id else None
        session = decode(cookie, secret, key.prefix if key else "")
        if session is not None and session.role != "team":
            return Visit(session, cookie, nonce, secret)
        if session is not None:
            ended = key_unusable(key)
            if not ended:
                return Visit(session, cookie, nonce, secret, key=key)
    return new_visitor(secret, nonce, ended)


def new_visitor(secret: bytes, nonce: str, ended: str = "") -> Visit:
    session = Session.visitor()
    return Visit(session, encode(session, secret), nonce, secret, fresh=True, ended=ended)


def start_session(visit: Visit, session: Session, binding: str = "", key: KeyRecord | None = None) -> Visit:
    """The visit under a new session (after a login): a new cookie, so no old CSRF token carries over."""
    return Visit(session, encode(session, visit.secret, binding), visit.nonce, visit.secret, key=key, fresh=True)


def end_session() -> dict[str, str]:
    return {"set-cookie": clear_cookie()}


def _bearer_is_admin(request: Request) -> bool:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(secret.strip().encode(), request.gateway.admin_key)


async def posted(request: Request, back: str) -> tuple[Visit, dict[str, str]]:
    """The visit and the form of a POST, once its CSRF token checks out (a bearer admin key needs none)."""
    visit = await visit_of(request)
    form = form_of(request)
    if not visit.bearer and (visit.fresh or not csrf_ok(visit.secret, visit.cookie, form.get("csrf"))):
        raise forbidden_form(back)
    return visit, form


PageHandler = Callable[["Request"], Awaitable[Reply]]


def page(handler: PageHandler) -> PageHandler:
    """A page handler whose refusals (PageError, or any HackkitError) become HTML pages, never JSON."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Reply:
        try:
            return await handler(request)
        except PageError as refusal:
            return error_page(refusal.status, refusal.message, refusal.hint, refusal.back)
        except HackkitError as refusal:
            status = getattr(refusal, "status", 400)
            return error_page(status, refusal.message, refusal.hint, "/catalog")

    return wrapped


def error_page(status: int, message: str, hint: str | None, back: str) -> Reply:
    nonce = html.new_nonce()
    body = html.card(
        "Something needs fixing" if status < 500 else "The gateway failed",
        html.notice(message, "error")
        + (Markup("<p>{}</p>").format(hint[0].upper() + hint[1:] + ".") if hint else Markup(""))
        + Markup("<p><a href='{}'>Back</a></p>").format(back),
    )
    return html.html_reply(
        status, html.document("hackkit gateway", html.top_bar("hackkit gateway"), body, nonce), nonce
    )
