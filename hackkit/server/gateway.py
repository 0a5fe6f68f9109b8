"""The request path: auth -> policies -> limits and budget reservation -> the Router -> settle and log.

Every call to the store runs in the store's own threads, never on the event loop, so a slow disk
or a busy database delays one request, not all of them. The router is the client library's: the
gateway asks its own :class:`~hackkit.llm.Client` (no ledger of its own: the gateway's log is the
store) for each exposed name, so fallbacks, deployments and retries behave exactly as in a
team's app, over aiohttp.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hackkit.config import Settings
from hackkit.errors import (
    AllAttemptsFailed,
    AuthenticationError,
    DeadlineExceeded,
    HackkitError,
    InvalidRequestError,
    ProviderConnectionError,
    ProviderTimeout,
    RateLimitError,
)
from hackkit.llm.client import Client
from hackkit.llm.context import estimate_tokens
from hackkit.llm.types import ChatResponse, Usage
from hackkit.server import openai_format as fmt
from hackkit.server.catalog import DEFAULT_ALIASES, Catalog, Exposed
from hackkit.server.errors import ApiError, invalid_key
from hackkit.server.store import AdmissionRequest, KeyRecord, Settlement, SQLStore, hash_key

log = logging.getLogger("hackkit.gateway")
T = TypeVar("T")
RESERVATION_MARGIN_S = 120.0  # an unsettled reservation lapses this long after the call's deadline


@dataclass
class Caller:
    """Who sent a request: a team's key (by its hash), or the admin key."""

    key_hash: str
    admin: bool = False


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"  # exactly: the mistralai SDK checks it


@dataclass
class Streamed:
    """An SSE response: ``events`` yields the encoded events; ``finish`` settles when it stops early."""

    headers: dict[str, str]
    events: AsyncIterator[bytes]


def dumps(value: Any) -> bytes:
    try:
        import orjson
    except ImportError:
        return json.dumps(value, ensure_ascii=False).encode()
    return orjson.dumps(value)


def loads(body: bytes) -> Any:
    try:
        import orjson

        return orjson.loads(body)
    except ImportError:
        return json.loads(body)


def json_reply(status: int, value: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, dumps(value), headers or {})


def error_reply(error: ApiError, request_id: str | None = None) -> Reply:
    headers = error.headers()
    if request_id:
        headers["x-request-id"] = request_id
    return Reply(error.status, dumps(error.body()), headers)


class Gateway:
    """One per worker process: settings, the store, the client and the catalog of models."""

    def __init__(self, settings: Settings, store: SQLStore, admin_key: str, *, db_threads: int = 1) -> None:
        self.config = settings.gateway
        self.store = store
        self.admin_key = admin_key.encode()
        router_settings = settings.model_copy(deep=True)
        self.catalog = Catalog(router_settings, Client(router_settings).router)
        router_settings.llm.aliases = {**router_settings.llm.aliases, **self.catalog.aliases()}
        router_settings.llm.ledger.enabled = False  # logged once: in the gateway's store
        self.client = Client(router_settings, async_transport="aiohttp")
        self.catalog.router = self.client.router
        self.admin = KeyRecord("admin", "(admin)", "admin", "active", rpm=self.config.admin_rpm)
        self.admin.max_tokens = self.config.keys.max_tokens
        self._db = ThreadPoolExecutor(max_workers=db_threads, thread_name_prefix="hackkit-gateway-db")

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store call in the store's threads."""
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    async def aclose(self) -> None:
        await self.client.aclose()
        self._db.shutdown(wait=True)
        self.store.close()

    # -- who is asking ----------------------------------------------------------------------

    def caller(self, authorization: str | None) -> Caller:
        """The caller from ``Authorization: Bearer KEY`` (or ``x-api-key``); 401 without one."""
        if not authorization:
            raise invalid_key("No API key: send it as `Authorization: Bearer hk-...`.")
        scheme, _, secret = authorization.partition(" ")
        secret = secret.strip() if scheme.lower() == "bearer" else authorization.strip()
        if not secret:
            raise invalid_key("No API key: send it as `Authorization: Bearer hk-...`.")
        if hmac.compare_digest(secret.encode(), self.admin_key):
            return Caller("", admin=True)
        return Caller(hash_key(secret))

    def require_admin(self, caller: Caller) -> None:
        if not caller.admin:
            raise ApiError(403, "This route needs the gateway's admin key.", code="admin_only")

    async def key_of(self, caller: Caller) -> KeyRecord:
        return self.admin if caller.admin else await self.db(self.store.authenticate, caller.key_hash)

    # -- GET /v1/models ---------------------------------------------------------------------

    async def list_models(self, caller: Caller) -> Reply:
        key = await self.key_of(caller)
        data = []
        for name in self.catalog.names(key.models):
            model = self.catalog.models[name]
            price = self.catalog.price(model)
            data.append(
                {
                    "id": name,
                    "object": "model",
                    "created": 0,
                    "owned_by": "hackkit-gateway",
                    "description": model.description,
                    "aliases": [a for a, field in DEFAULT_ALIASES.items() if getattr(self.catalog, field) == name],
                    "pricing": {"input": price[0], "output": price[1], "unit": "USD per million tokens"}
                    if price
                    else None,
                }
            )
        return json_reply(200, {"object": "list", "data": data})

    # -- POST /v1/chat/completions ----------------------------------------------------------

    async def admit(self, caller: Caller, request_id: str, model: Exposed, input_bound: int, cap: int | None) -> Any:
        price = self.catalog.price(model)
        request = AdmissionRequest(
            request_id=request_id,
            key_hash=caller.key_hash,
            model=model.name,
            input_bound=input_bound,
            max_tokens=cap,
            price=None if price is None else (price[0] * 1000, price[1] * 1000),  # nano-dollars per token
            ttl=self.client.settings.llm.router.deadline + RESERVATION_MARGIN_S,
            default_max_tokens=self.config.keys.max_tokens,
            refuse_unpriced=self.config.unpriced == "refuse",
            approval_required=model.approval_required,
            admin=self.admin if caller.admin else None,
        )
        return await self.db(self.store.admit, request)

    async def resolve(self, caller: Caller, name: object) -> Exposed:
        """The exposed model, after the caller proved who they are (an unknown key gets 401, not the list)."""
        if not isinstance(name, str) or (
            name not in self.catalog.models and name not in ("default", "default-embedding")
        ):
            key = await self.key_of(caller)
            self.catalog.get(name, key.models)
        return self.catalog.get(name)

    async def parse(self, caller: Caller, parse: Callable[[Any], T], body: bytes) -> T:
        """The parsed body; a bad body from a bad key is a 401, as OpenAI answers, not a 400."""
        try:
            return parse(_json(body))
        except ApiError:
            await self.key_of(caller)
            raise

    async def chat(self, caller: Caller, body: bytes, request_id: str) -> Reply | Streamed:
        started = time.perf_counter()
        call = await self.parse(caller, fmt.parse_chat, body)
        model = await self.resolve(caller, call.model)
        admission = await self.admit(caller, request_id, model, len(body), call.max_tokens)
        record = CallLog(self, caller, admission.key, model, request_id, started, stream=call.stream)
        kwargs = self._chat_kwargs(call, model, admission.max_tokens)
        headers = {"x-request-id": request_id, **rate_headers(admission.limits)}
        if call.stream:
            return await self._open_stream(call, model, kwargs, record, headers)
        try:
            response: ChatResponse = await self.client.achat(call.messages, model.alias, cache=False, **kwargs)
        except HackkitError as exc:
            error = upstream_error(exc)
            await record.failed(error, exc)
            return error_reply(error, request_id)
        await record.settle(response, payload=(call.messages, response.text))
        return Reply(200, dumps(fmt.chat_body(request_id, model.name, response)), headers)

    async def _open_stream(
        self, call: fmt.ChatCall, model: Exposed, kwargs: dict[str, Any], record: CallLog, headers: dict[str, str]
    ) -> Reply | Streamed:
        """Route until the first chunk arrives, so a failure is an error status, not a 200 with an error inside."""
        stream = await self.client.achat(call.messages, model.alias, stream=True, cache=False, **kwargs)
        chunks = stream.chunks()
        try:
            first = await anext(chunks, None)
        except HackkitError as exc:
            error = upstream_error(exc)
            await record.failed(error, exc)
            return error_reply(error, record.request_id)
        except BaseException:
            await stream.aclose()
            raise
        record.first_token()
        return Streamed(headers, self._stream(call, model, stream, first, record))

    def _chat_kwargs(self, call: fmt.ChatCall, model: Exposed, max_tokens: int) -> dict[str, Any]:
        kwargs: dict[str, Any] = {**call.params, "max_tokens": max_tokens}
        if call.tools:
            kwargs["tools"] = call.tools
        if call.tool_choice is not None:
            kwargs["tool_choice"] = call.tool_choice
        if call.response_format is not None:
            kwargs["response_format"] = call.response_format
        chain = self.client.router.chain(model.alias)
        kinds = {self._kind(member) for member in chain}
        if kinds <= fmt.OPENAI_KINDS:  # only OpenAI-format upstreams take OpenAI's other fields
            kwargs.update(call.openai_params)
        return kwargs

    def _kind(self, model_id: str) -> str:
        provider = model_id.partition("/")[0]
        config = self.client.settings.llm.providers.get(provider)
        return (config.kind if config and config.kind else provider) or provider

    async def _stream(
        self, call: fmt.ChatCall, model: Exposed, stream: Any, first: Any, record: CallLog
    ) -> AsyncIterator[bytes]:
        """SSE events; the call is settled before the last one, or with what was seen if the client left."""
        created, opening, settled = int(time.time()), True, False
        try:
            pending = [first] if first is not None else []
            async for chunk in _chain(pending, stream.chunks()):
                body = fmt.chunk_body(record.request_id, model.name, created, chunk, opening)
                if body is not None:
                    opening = False
                    yield b"data: " + dumps(body) + b"\n\n"
            response = stream.response
            assert response is not None
            await record.settle(response, payload=(call.messages, response.text))
            settled = True
            if call.include_usage:
                usage = fmt.usage_chunk(
                    record.request_id, model.name, created, response.usage.input_tokens, response.usage.output_tokens
                )
                yield b"data: " + dumps(usage) + b"\n\n"
            yield b"data: [DONE]\n\n"
        except HackkitError as exc:  # broke after it started: the client has a 200 already, so say it in-band
            error = upstream_error(exc)
            await record.failed(error, exc)
            settled = True
            yield b"data: " + dumps(error.body()) + b"\n\n"
        finally:
            if not settled:  # the client went away: close the upstream, charge what was seen
                await stream.aclose()
                await record.cancelled(stream.partial or _nothing_seen(call))

    # -- POST /v1/embeddings ----------------------------------------------------------------

    async def embeddings(self, caller: Caller, body: bytes, request_id: str) -> Reply:
        started = time.perf_counter()
        name, texts, encoding = await self.parse(caller, fmt.parse_embeddings, body)
        model = await self.resolve(caller, name)
        admission = await self.admit(caller, request_id, model, sum(len(t.encode()) for t in texts), 1)
        record = CallLog(self, caller, admission.key, model, request_id, started, route="embeddings")
        try:
            result = await self.client.aembed(texts, model.alias)
        except HackkitError as exc:
            error = upstream_error(exc)
            await record.failed(error, exc)
            return error_reply(error, request_id)
        answered = ChatResponse("", model_id=result.provider + "/" + result.model, provider=result.provider)
        answered.usage = Usage(result.usage.input_tokens or sum(len(t) // 4 for t in texts), 0)
        await record.settle(answered)
        headers = {"x-request-id": request_id, **rate_headers(admission.limits)}
        return Reply(200, dumps(fmt.embeddings_body(model.name, result, encoding)), headers)

    # -- POST /v1/key-requests -------------------------------------------------------------

    async def request_key(self, body: bytes) -> Reply:
        """A team asks for a key: it gets one at once, inactive until a mentor approves it."""
        if not self.config.key_requests:
            raise ApiError(404, "This gateway takes no key requests.", hint="ask the organisers for a key")
        fields = _json(body)
        team, contact, reason, models = fmt.parse_key_request(fields, self.catalog.names())
        if await self.db(self.store.count_pending) >= self.config.max_pending:
            raise ApiError(429, "Too many key requests are waiting already.", hint="ask a mentor in the room")
        defaults = self.config.keys
        limits = {"budget_usd": defaults.budget, "rpm": defaults.rpm, "tpm": defaults.tpm}
        limits["max_tokens"] = defaults.max_tokens
        key, secret = await self.db(
            lambda: self.store.request_key(team, contact=contact, reason=reason, models=models, limits=limits)
        )
        body_out = {"id": key.id, "key": secret, "status": key.status, "team": key.team, "models": key.models}
        return json_reply(201, body_out)

    # -- the log ----------------------------------------------------------------------------

    async def log_refusal(self, route: str, error: ApiError, request_id: str) -> None:
        """A refused request's row: under its team when the key was known (a 429), else under none."""
        key: KeyRecord | None = getattr(error, "key", None)
        row = {
            "request_id": request_id,
            "ts": time.time(),
            "team": key.team if key else None,
            "key_id": key.id if key else None,
            "route": route,
            "status": "refused",
            "http_status": error.status,
            "error_class": error.code or type(error).__name__,
            "error": error.message[:500],
        }
        try:
            await self.db(self.store.log, row)
        except Exception as exc:  # a refusal we could not log must not become a 500
            log.warning("could not log a refused request: %s", exc)


class CallLog:
    """One admitted call's settlement: what it cost, and its row in the request log."""

    def __init__(
        self,
        gateway: Gateway,
        caller: Caller,
        key: KeyRecord,
        model: Exposed,
        request_id: str,
        started: float,
        *,
        route: str = "chat",
        stream: bool = False,
    ) -> None:
        self.gateway, self.caller, self.key, self.model = gateway, caller, key, model
        self.request_id, self.started, self.route, self.stream = request_id, started, route, stream
        self.ttft_ms: float | None = None

    def first_token(self) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self.started) * 1000

    def _row(self, status: str, http_status: int, response: ChatResponse | None, **extra: Any) -> dict[str, Any]:
        usage = response.usage if response else Usage()
        return {
            "request_id": self.request_id,
            "ts": time.time(),
            "team": self.key.team,
            "key_id": self.key.id,
            "route": self.route,
            "model_asked": self.model.name,
            "model_used": response.model_id if response else None,
            "provider": response.provider if response else None,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "latency_ms": (time.perf_counter() - self.started) * 1000,
            "ttft_ms": self.ttft_ms,
            "status": status,
            "http_status": http_status,
            "stream": int(self.stream),
            "fallback": int(bool(response and response.fallback)),
            **extra,
        }

    def _cost(self, response: ChatResponse) -> int:
        price = self.gateway.catalog.price(self.model, response.model_id or None)
        if price is None:
            return 0
        usage = response.usage
        return int(-(-(usage.input_tokens * price[0] + usage.output_tokens * price[1]) * 1000 // 1))

    async def _settle(self, row: dict[str, Any], response: ChatResponse | None) -> None:
        usage = response.usage if response else Usage()
        cost = self._cost(response) if response else 0
        settlement = Settlement(self.request_id, self.key.id, cost, usage.input_tokens + usage.output_tokens, row)
        await self.gateway.db(self.gateway.store.settle, settlement)

    async def settle(self, response: ChatResponse, payload: Any = None) -> None:
        extra = {"payload": _payload(payload)} if payload is not None and self.gateway.config.log_payloads else {}
        await self._settle(self._row("ok", 200, response, **extra), response)

    async def failed(self, error: ApiError, cause: HackkitError) -> None:
        row = self._row("error", error.status, None, error_class=type(cause).__name__, error=error.message[:500])
        await self._settle(row, None)

    async def cancelled(self, partial: ChatResponse) -> None:
        """The client left mid-stream: charged for what was seen, logged as cancelled."""
        await self._settle(self._row("cancelled", 499, partial), partial)


async def _chain(first: list[Any], rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    for item in first:
        yield item
    async for item in rest:
        yield item


def _payload(payload: Any) -> str:
    messages, answer = payload
    return json.dumps({"messages": messages, "answer": answer}, ensure_ascii=False, default=str)


def _nothing_seen(call: fmt.ChatCall) -> ChatResponse:
    return ChatResponse("", usage=Usage(estimate_tokens(call.messages), 0))


def _json(body: bytes) -> Any:
    try:
        return loads(body)
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON.", hint="send a JSON object") from None


def upstream_error(exc: HackkitError) -> ApiError:
    """What a team sees when every upstream failed: which and why, never a provider's key."""
    failures = getattr(exc, "attempts", None) or []
    last = failures[-1].error if failures else exc
    if isinstance(exc, AllAttemptsFailed):
        last = exc.last_error or exc
    if isinstance(last, ApiError):
        return last
    if isinstance(last, InvalidRequestError) and not isinstance(exc, AllAttemptsFailed):
        return ApiError(400, f"The upstream model refused the request: {last.message}", code="upstream_invalid_request")
    status = 504 if isinstance(last, (ProviderTimeout, DeadlineExceeded)) else 502
    if isinstance(last, (ProviderConnectionError, RateLimitError)):
        status = 503
    if isinstance(last, AuthenticationError):
        status = 502
    summary = "; ".join(f"{a.model}: {a.reason}" for a in failures) or exc.message
    return ApiError(status, f"Every upstream failed: {summary}", code="upstream_failed")


def rate_headers(limits: Any) -> dict[str, str]:
    """OpenAI's x-ratelimit-* headers for the key's request and token windows."""
    headers: dict[str, str] = {}
    reset = f"{limits.reset_s:.3f}s"
    if limits.rpm is not None:
        headers["x-ratelimit-limit-requests"] = str(limits.rpm)
        headers["x-ratelimit-remaining-requests"] = str(max(0, limits.rpm_left or 0))
        headers["x-ratelimit-reset-requests"] = reset
    if limits.tpm is not None:
        headers["x-ratelimit-limit-tokens"] = str(limits.tpm)
        headers["x-ratelimit-remaining-tokens"] = str(max(0, limits.tpm_left or 0))
        headers["x-ratelimit-reset-tokens"] = reset
    return headers


def new_request_id() -> str:
    return "req_" + uuid.uuid4().hex
