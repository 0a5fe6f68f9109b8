"""``/admin/*``: keys, logs, usage and the audit log over HTTP, for ``hackkit gateway ... --url``.

Every route needs the admin key (``Authorization: Bearer ADMIN_KEY``). A change made here reaches
every worker at once: workers read keys from the store on every request, never from a cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hackkit.errors import HackkitError
from hackkit.server.errors import ApiError, bad_request
from hackkit.server.gateway import Reply, json_reply, loads

if TYPE_CHECKING:
    from hackkit.server.app import Handler, Request

KEY_FIELDS = {"team", "budget", "rpm", "tpm", "models", "max_tokens", "expires", "note"}


def _body(request: Request) -> dict[str, Any]:
    try:
        body = loads(request.body or b"{}")
    except ValueError:
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


async def _admin(request: Request) -> None:
    request.gateway.require_admin(request.caller)


async def list_keys(request: Request) -> Reply:
    await _admin(request)
    keys = await request.gateway.db(request.gateway.store.list_keys)
    status = request.query.get("status")
    return json_reply(200, {"data": [key.public() for key in keys if status is None or key.status == status]})


async def create_key(request: Request) -> Reply:
    from hackkit.server.keys import KeySpec, create

    await _admin(request)
    body = _body(request)
    unknown = set(body) - KEY_FIELDS
    if unknown:
        raise bad_request(f"Unknown fields: {', '.join(sorted(unknown))}; keys take {', '.join(sorted(KEY_FIELDS))}.")
    try:
        spec = KeySpec.from_json(body, request.gateway.config.keys)
        key, secret = await request.gateway.db(create, request.gateway.store, spec, "admin-api")
    except HackkitError as exc:
        if isinstance(exc, ApiError):
            raise
        raise bad_request(exc.message + (f" ({exc.hint})" if exc.hint else "")) from None
    return json_reply(201, {**key.public(), "key": secret})


async def revoke_key(request: Request) -> Reply:
    await _admin(request)
    key = await _call(request, request.gateway.store.revoke_key, request.path_id, "admin-api")
    return json_reply(200, key.public())


async def rotate_key(request: Request) -> Reply:
    await _admin(request)
    key, secret = await _call(request, request.gateway.store.rotate_key, request.path_id, "admin-api")
    return json_reply(200, {**key.public(), "key": secret})


async def _call(request: Request, fn: Any, *args: Any) -> Any:
    try:
        return await request.gateway.db(fn, *args)
    except HackkitError as exc:
        if isinstance(exc, ApiError):
            raise
        raise ApiError(404, exc.message, hint=exc.hint) from None


async def approve_key(request: Request) -> Reply:
    await _admin(request)
    limits = _limits(_body(request))
    key = await _call(request, lambda: request.gateway.store.approve_key(request.path_id, "admin-api", **limits))
    return json_reply(200, key.public())


async def deny_key(request: Request) -> Reply:
    await _admin(request)
    reason = str(_body(request).get("reason") or "")
    key = await _call(request, request.gateway.store.deny_key, request.path_id, reason, "admin-api")
    return json_reply(200, key.public())


def _limits(body: dict[str, Any]) -> dict[str, Any]:
    """The limits an approval sets: budget, rpm, tpm, models (absent: every model)."""
    unknown = set(body) - {"budget", "rpm", "tpm", "models", "max_tokens"}
    if unknown:
        raise bad_request(f"Unknown fields: {', '.join(sorted(unknown))}.")
    limits: dict[str, Any] = {"models": body.get("models")}
    for field, column in (("budget", "budget_usd"), ("rpm", "rpm"), ("tpm", "tpm"), ("max_tokens", "max_tokens")):
        if body.get(field) is not None:
            limits[column] = body[field]
    return limits


async def logs(request: Request) -> Reply:
    await _admin(request)
    query = request.query
    try:
        after, limit = int(query.get("after", 0)), min(1000, int(query.get("limit", 100)))
    except ValueError:
        raise bad_request("`after` and `limit` must be integers.") from None
    rows = await request.gateway.db(
        lambda: request.gateway.store.logs(after=after, team=query.get("team"), limit=limit)
    )
    return json_reply(200, {"data": rows})


async def usage(request: Request) -> Reply:
    await _admin(request)
    by = request.query.get("by", "team")
    rows = await _call(request, request.gateway.store.usage, by)
    return json_reply(200, {"data": rows})


async def audit(request: Request) -> Reply:
    await _admin(request)
    rows = await request.gateway.db(request.gateway.store.audit_log)
    return json_reply(200, {"data": rows})


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/admin/keys"): list_keys,
    ("POST", "/admin/keys"): create_key,
    ("GET", "/admin/logs"): logs,
    ("GET", "/admin/usage"): usage,
    ("GET", "/admin/audit"): audit,
}
PATTERNS: dict[tuple[str, str], Handler] = {
    ("POST", "/admin/keys/{id}/revoke"): revoke_key,
    ("POST", "/admin/keys/{id}/rotate"): rotate_key,
    ("POST", "/admin/keys/{id}/approve"): approve_key,
    ("POST", "/admin/keys/{id}/deny"): deny_key,
}
