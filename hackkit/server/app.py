"""The gateway as a bare ASGI application, served by uvicorn (httptools, uvloop).

No web framework: a route table, a body reader with a size limit, JSON and SSE responses, and a
watcher that notices a client hanging up mid-stream so its upstream request is cancelled. That
keeps the gateway's own cost per request a fraction of a millisecond (``benchmarks/gateway.py``).

    uvicorn --factory hackkit.server.app:create_app      # what `hackkit gateway serve` runs
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from hackkit.server import admin, pages
from hackkit.server.errors import ApiError
from hackkit.server.gateway import Caller, Gateway, Reply, Streamed, error_reply, json_reply, new_request_id

log = logging.getLogger("hackkit.gateway")
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Handler = Callable[["Request"], Awaitable[Reply | Streamed]]
SSE = "text/event-stream"


class Request:
    """What a handler needs: who is calling, the body, the query, the path's last part."""

    def __init__(self, gateway: Gateway, scope: Scope, body: bytes, request_id: str) -> None:
        self.gateway = gateway
        self.scope = scope
        self.body = body
        self.request_id = request_id
        self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self._caller: Caller | None = None

    @property
    def caller(self) -> Caller:
        if self._caller is None:
            self._caller = self.gateway.caller(self.headers.get("authorization") or self.headers.get("x-api-key"))
        return self._caller

    @property
    def query(self) -> dict[str, str]:
        parsed = parse_qs(self.scope.get("query_string", b"").decode())
        return {name: values[-1] for name, values in parsed.items()}

    @property
    def path_id(self) -> str:
        return str(self.scope["path"]).rstrip("/").split("/")[-2]

    @property
    def path_tail(self) -> str:
        return str(self.scope["path"]).rstrip("/").split("/")[-1]


async def health(request: Request) -> Reply:
    return json_reply(200, {"status": "ok"})


async def ready(request: Request) -> Reply:
    try:
        await request.gateway.db(request.gateway.store.ping)
    except Exception as exc:  # not ready is an answer, not a crash
        return json_reply(503, {"status": "not ready", "store": f"{type(exc).__name__}: {exc}"})
    return json_reply(200, {"status": "ready", "models": request.gateway.catalog.names()})


async def models(request: Request) -> Reply:
    return await request.gateway.list_models(request.caller)


async def chat(request: Request) -> Reply | Streamed:
    return await request.gateway.chat(request.caller, request.body, request.request_id)


async def embeddings(request: Request) -> Reply:
    return await request.gateway.embeddings(request.caller, request.body, request.request_id)


async def prompt(request: Request) -> Reply | Streamed:
    return await request.gateway.prompt(request.caller, request.path_tail, request.body, request.request_id)


async def feedback(request: Request) -> Reply:
    return await request.gateway.feedback(request.caller, request.body)


async def key_request(request: Request) -> Reply:
    return await request.gateway.request_key(request.body)


async def metrics(request: Request) -> Reply:
    from hackkit.server.metrics import render

    request.gateway.require_admin(request.caller)
    body, content_type = await request.gateway.db(render, request.gateway.store)
    return Reply(200, body, content_type=content_type)


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/health"): health,
    ("GET", "/ready"): ready,
    ("GET", "/v1/models"): models,
    ("POST", "/v1/chat/completions"): chat,
    ("POST", "/v1/embeddings"): embeddings,
    ("POST", "/v1/key-requests"): key_request,
    ("POST", "/v1/feedback"): feedback,
    ("GET", "/metrics"): metrics,
    **admin.ROUTES,
    **pages.ROUTES,
}
# Routes whose last-but-one path part is an id: /admin/keys/{id}/revoke
PATTERNS: dict[tuple[str, str], Handler] = {**admin.PATTERNS, **pages.PATTERNS}
# Routes whose last path part is a name: /v1/prompts/{name}
PREFIXES: dict[tuple[str, str], Handler] = {("POST", "/v1/prompts/"): prompt}
LOGGED = {"/v1/chat/completions": "chat", "/v1/embeddings": "embeddings"}


def logged_route(path: str) -> str | None:
    """Which log route a path's refusals go under (prompt endpoints too)."""
    path = path.rstrip("/")
    return LOGGED.get(path) or ("prompt" if path.startswith("/v1/prompts/") else None)


def find_route(method: str, path: str) -> Handler | None:
    path = path.rstrip("/") or "/"
    if (method, path) in ROUTES:
        return ROUTES[(method, path)]
    parts = path.split("/")
    prefixed = PREFIXES.get((method, "/".join(parts[:-1]) + "/"))
    if prefixed is not None and parts[-1]:
        return prefixed
    if len(parts) >= 3:
        pattern = "/".join([*parts[:-2], "{id}", parts[-1]])
        return PATTERNS.get((method, pattern))
    return None


class GatewayApp:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.max_body = int(gateway.config.max_body_mb * 1_000_000)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = new_request_id()
        handler = find_route(scope["method"], scope["path"])
        try:
            if handler is None:
                raise self._not_found(scope)
            body = await read_body(scope, receive, self.max_body) if scope["method"] in ("POST", "PUT") else b""
            # (pages parse form bodies themselves: application/x-www-form-urlencoded)
            result = await handler(Request(self.gateway, scope, body, request_id))
        except ApiError as exc:
            await self._refused(scope, exc, request_id)
            result = error_reply(exc, request_id)
        except Exception:
            log.exception("the gateway failed on %s %s", scope["method"], scope["path"])
            result = error_reply(
                ApiError(500, "The gateway failed; the organisers can see why in its log."), request_id
            )
        if isinstance(result, Streamed):
            await send_stream(result, receive, send)
        else:
            await send_reply(result, send)

    def _not_found(self, scope: Scope) -> ApiError:
        methods = [m for (m, p) in ROUTES if p == scope["path"].rstrip("/")]
        if methods:
            return ApiError(405, f"{scope['method']} is not allowed here; use {', '.join(methods)}.")
        return ApiError(404, f"No route {scope['path']}.", hint="the API is under /v1 (OpenAI's)")

    async def _refused(self, scope: Scope, error: ApiError, request_id: str) -> None:
        route = logged_route(scope["path"])
        if route is not None:
            await self.gateway.log_refusal(route, error, request_id)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.gateway.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, or 413 as soon as it is longer than ``limit`` (before reading it all)."""
    declared = dict(scope["headers"]).get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    parts, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "The client disconnected while sending the request.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        parts.append(chunk)
        if not message.get("more_body"):
            return b"".join(parts)


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"The request body is over the gateway's {limit / 1e6:g} MB limit.",
        code="request_too_large",
        hint="send less, or ask the organisers to raise [gateway] max_body_mb",
    )


def _headers(reply_headers: dict[str, str], content_type: str) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-type", content_type.encode())]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply_headers.items()]
    return headers


async def send_reply(reply: Reply, send: Send) -> None:
    headers = _headers(reply.headers, reply.content_type)
    headers.append((b"content-length", str(len(reply.body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


async def send_stream(streamed: Streamed, receive: Receive, send: Send) -> None:
    """Send SSE events until they end, or until the client hangs up: then stop them (and the upstream)."""
    headers = _headers({**streamed.headers, "cache-control": "no-cache"}, SSE)
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    pump = asyncio.create_task(_pump(streamed, send))
    watcher = asyncio.create_task(_wait_for_disconnect(receive))
    done, _ = await asyncio.wait({pump, watcher}, return_when=asyncio.FIRST_COMPLETED)
    if pump not in done:
        pump.cancel()
    watcher.cancel()
    await asyncio.gather(pump, watcher, return_exceptions=True)


PUMP_BACKLOG = 256  # events waiting for a slow client before the upstream is read on


async def _pump(streamed: Streamed, send: Send) -> None:
    """Send the events as they come; those ready at once (one read from upstream) go in one write.

    The events are made in a task of their own and sent from here: when the upstream's read
    holds several, they are all made before this wakes, and leave in one write instead of one
    each (a write is a system call, most of what relaying an event cost). An event that comes
    alone leaves as soon as it is made, as before.
    """
    events = streamed.events
    ready: list[bytes] = []
    wake, drained = asyncio.Event(), asyncio.Event()

    async def make() -> None:
        try:
            async for event in events:
                ready.append(event)
                wake.set()
                if len(ready) >= PUMP_BACKLOG:
                    drained.clear()
                    await drained.wait()
        finally:
            wake.set()

    maker = asyncio.create_task(make())
    try:
        while True:
            await wake.wait()
            wake.clear()
            if ready:
                body = b"".join(ready)
                ready.clear()
                drained.set()
                await send({"type": "http.response.body", "body": body, "more_body": True})
            if maker.done() and not ready:
                break
        maker.result()  # the events' own error, if they ended with one
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        if not maker.done():
            maker.cancel()
            await asyncio.gather(maker, return_exceptions=True)
        await events.aclose()  # type: ignore[attr-defined]


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def create_app() -> GatewayApp:
    """The app for the gateway folder (the working folder, or ``HACKKIT_GATEWAY_ROOT``)."""
    from hackkit.config import load_settings
    from hackkit.server.serve import admin_key, open_gateway_store

    root = Path(os.environ.get("HACKKIT_GATEWAY_ROOT") or Path.cwd())
    settings = load_settings(root)
    store = open_gateway_store(settings)
    key, _ = admin_key(settings)
    threads = 4 if store.dialect.name == "postgresql" else 1
    return GatewayApp(Gateway(settings, store, key, db_threads=threads))
