"""Stateless sessions for the pages, so every worker (and every machine) knows every session.

A session is a cookie ``hk_session=PAYLOAD.MAC``: the payload (base64 JSON) holds the role (``admin``,
``team`` with the key's id, or ``visitor`` with a random nonce) and an expiry; the MAC is
HMAC-SHA256 under a secret derived from the admin key, ``HMAC(admin key, "hackkit-session")``, so a
new admin key ends every session. A team session is also bound to its key's current prefix, so a
rotated key logs its sessions out; a revoked or denied one is logged out by the pages, which read
the key from the store on every request. No key and no hash is ever in a cookie or a URL.

Every form carries a CSRF token, ``HMAC(secret, "csrf:" + cookie)``, checked on every POST made
with a cookie; a request that sends ``Authorization: Bearer ADMIN_KEY`` instead carries no ambient
credential, so it needs none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from hackkit.server.app import Request

COOKIE = "hk_session"
ADMIN_TTL_S = 12 * 3600.0
TEAM_TTL_S = 48 * 3600.0
VISITOR_TTL_S = 24 * 3600.0


@dataclass(frozen=True)
class Session:
    role: str  # admin, team or visitor
    expires: float
    key_id: str = ""  # a team session's key
    nonce: str = ""  # a visitor's, so two visitors' CSRF tokens differ

    @classmethod
    def admin(cls) -> Session:
        return cls("admin", time.time() + ADMIN_TTL_S)

    @classmethod
    def team(cls, key_id: str) -> Session:
        return cls("team", time.time() + TEAM_TTL_S, key_id=key_id)

    @classmethod
    def visitor(cls) -> Session:
        return cls("visitor", time.time() + VISITOR_TTL_S, nonce=secrets.token_urlsafe(12))


def session_secret(admin_key: bytes) -> bytes:
    return hmac.new(admin_key, b"hackkit-session", hashlib.sha256).digest()


def _mac(secret: bytes, payload: str, binding: str) -> str:
    return hmac.new(secret, f"{payload}|{binding}".encode(), hashlib.sha256).hexdigest()


def encode(session: Session, secret: bytes, binding: str = "") -> str:
    """The cookie's value; ``binding`` (a team key's prefix) must match again when it is read."""
    fields = {"r": session.role, "e": round(session.expires), "k": session.key_id, "n": session.nonce}
    payload = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{payload}.{_mac(secret, payload, binding)}"


def decode(value: str, secret: bytes, binding: str = "") -> Session | None:
    """The session in a cookie value, or None when it is forged, damaged, expired or no longer bound.

    ``binding``: what ``encode`` was given (for a team session, its key's current prefix).
    """
    payload, _, mac = value.partition(".")
    try:
        fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        session = Session(str(fields["r"]), float(fields["e"]), str(fields.get("k", "")), str(fields.get("n", "")))
    except (ValueError, KeyError, TypeError):
        return None
    if not hmac.compare_digest(mac, _mac(secret, payload, binding)) or session.expires < time.time():
        return None
    return session


def peek_key_id(value: str) -> str:
    """The key id a team cookie claims (unverified: only to look up what to verify it against)."""
    payload = value.partition(".")[0]
    try:
        fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return str(fields.get("k", "")) if fields.get("r") == "team" else ""
    except (ValueError, TypeError, AttributeError):
        return ""


def csrf_token(secret: bytes, cookie_value: str) -> str:
    return hmac.new(secret, f"csrf:{cookie_value}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, cookie_value: str | None, token: str | None) -> bool:
    if not cookie_value or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, cookie_value), token)


def set_cookie(value: str, max_age: float) -> str:
    return f"{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={int(max_age)}"


def clear_cookie() -> str:
    return f"{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"


def cookie_of(request: Request) -> str | None:
    """The session cookie's value in the request, if any."""
    for part in request.headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    return None


def form_of(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as name: value (the last of repeated names)."""
    parsed = parse_qs(request.body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in parsed.items()}


def form_lists(request: Request) -> dict[str, list[str]]:
    """The same body with every value of repeated names (checkboxes)."""
    return parse_qs(request.body.decode("utf-8", errors="replace"), keep_blank_values=True)
