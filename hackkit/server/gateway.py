"""The request path: auth -> policies -> limits and budget reservation -> the Router -> settle and log.

Every call to the store runs in the store's own threads, never on the event loop, so a slow disk
or a busy database delays one request, not all of them. The router is the client library's: the
gateway asks its own :class:`~hackkit.llm.Client` (no ledger of its own: the gateway's log is the
store) for each exposed name, so fallbacks, deployments and retries behave exactly as in a
team's app, over aiohttp.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import itertools
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
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
from hackkit.llm.types import ChatResponse, Usage
from hackkit.server import openai_format as fmt
from hackkit.server.calllog import CallLog
from hackkit.server.catalog import DEFAULT_ALIASES, Catalog, Exposed
from hackkit.server.errors import ApiError, invalid_key
from hackkit.server.store import AdmissionRequest, KeyRecord, Settlement, SQLStore, hash_key
from hackkit.server.store.journal import journal_for
from hackkit.server.streaming import ChatEvents, open_stream

log = logging.getLogger("hackkit.gateway")
T = TypeVar("T")
RESERVATION_MARGIN_S = 120.0  # an unsettled reservation lapses this long after the call's deadline
REFUSAL_PAUSES_S = (0.01, 0.02, 0.04, 0.08, 0.1)  # a refusal for what calls hold waits for their settlements
REFUSAL_WAIT_S = 0.25  # at most this long for this worker's own journal
MAX_BACKLOG = 2_000  # settlements a worker may have unshipped before its answers wait for the store


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
        self.client = Client(router_settings, async_transport="plainhttp")
        self.catalog.router = self.client.router
        from hackkit.server.policies import Guardrails
        from hackkit.server.prompts import PromptRegistry

        self.guardrails = Guardrails(self.config.policies)
        self.prompts = PromptRegistry((settings.root or Path.cwd()) / "prompts", self.config.prompts)
        self.admin = KeyRecord("admin", "(admin)", "admin", "active", rpm=self.config.admin_rpm)
        self.admin.max_tokens = self.config.keys.max_tokens
        self._db = ThreadPoolExecutor(max_workers=db_threads, thread_name_prefix="hackkit-gateway-db")
        self.journal = journal_for(store, (settings.root or Path.cwd()) / ".hackkit" / "journal")

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store call in the store's threads."""
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    async def hot(self, fn: Callable[..., T], *args: Any) -> T:
        """A store call on the request path: on the loop when SQLite's lock is free, else in the store's threads."""
        inline = getattr(self.store, "run_without_waiting", None)
        if inline is not None:
            done, result = inline(fn, *args)
            if done:
                return result  # type: ignore[no-any-return]
        return await self.db(fn, *args)

    async def settle(self, settlement: Settlement) -> None:
        """Charge and log an admitted call before its answer ends (see ``store/journal.py`` for PostgreSQL)."""
        ticket = None if self.journal is None else self.journal.append(settlement)
        if ticket is None:
            await self.hot(self.store.settle, settlement)
        elif self.journal is not None and self.journal.backlog > MAX_BACKLOG:
            await asyncio.to_thread(self.journal.wait, ticket)  # the store fell behind: hold the answers back

    async def aclose(self) -> None:
        await self.client.aclose()
        self._db.shutdown(wait=True)
        if self.journal is not None:
            await asyncio.to_thread(self.journal.close)
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

    async def admit(
        self, caller: Caller, request_id: str, model: Exposed, input_bound: int, cap: int | None, prompt: Any = None
    ) -> Any:
        """Admit the call (limits, budget) through the store; ``prompt``'s own approval flag rules, if any."""
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
            approval_required=prompt.approval_required if prompt is not None else model.approval_required,
            admin=self.admin if caller.admin else None,
        )
        try:
            return await self.hot(self.store.admit, request)
        except ApiError as refusal:
            if self.journal is None or not refusal.held:
                raise
            last = refusal
        # Answered calls hold their worst case until their journaled settlements land: wait for
        # this worker's, then for other workers' (backing off, a quarter of a second in all),
        # deciding again each time. A refusal reserved nothing, so trying again is safe.
        if self.journal.healthy:
            await asyncio.to_thread(self.journal.wait, None, REFUSAL_WAIT_S)
        for pause in REFUSAL_PAUSES_S:
            await asyncio.sleep(pause)
            try:
                return await self.hot(self.store.admit, dataclasses.replace(request, now=time.time()))
            except ApiError as refusal:
                if not refusal.held:
                    raise
                last = refusal
        raise last

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
        call.messages = await self.guard(caller, "chat", model, call.messages, request_id)
        admission = await self.admit(caller, request_id, model, len(body), call.max_tokens)
        record = CallLog(self, caller, admission.key, model, request_id, started, stream=call.stream)
        kwargs = self._chat_kwargs(call, model, admission.max_tokens)
        headers = {"x-request-id": request_id, **rate_headers(admission.limits)}
        if call.stream:
            chat_events = ChatEvents(request_id, model.name, call.include_usage)
            return await open_stream(self, call.messages, model, kwargs, record, headers, chat_events)
        try:
            response: ChatResponse = await self.client.achat(call.messages, model.alias, cache=False, **kwargs)
        except HackkitError as exc:
            error = upstream_error(exc)
            await record.failed(error, exc)
            return error_reply(error, request_id)
        await record.settle(response, payload=(call.messages, response.text))
        return Reply(200, dumps(fmt.chat_body(request_id, model.name, response)), headers)

    def _chat_kwargs(self, call: fmt.ChatCall, model: Exposed, max_tokens: int) -> dict[str, Any]:
        kwargs: dict[str, Any] = {**call.params, "max_tokens": max_tokens}
        if call.tools:
            kwargs["tools"] = call.tools
        if call.tool_choice is not None:
            kwargs["tool_choice"] = call.tool_choice
        if call.response_format is not None:
            kwargs["response_format"] = call.response_format
        if call.openai_params and self._openai_only(model):  # only OpenAI-format upstreams take OpenAI's other fields
            kwargs.update(call.openai_params)
        return kwargs

    def _openai_only(self, model: Exposed) -> bool:
        return {self._kind(member) for member in self.client.router.members(model.alias)} <= fmt.OPENAI_KINDS

    def _kind(self, model_id: str) -> str:
        provider = model_id.partition("/")[0]
        config = self.client.settings.llm.providers.get(provider)
        return (config.kind if config and config.kind else provider) or provider

    # -- POST /v1/embeddings ----------------------------------------------------------------

    async def embeddings(self, caller: Caller, body: bytes, request_id: str) -> Reply:
        started = time.perf_counter()
        name, texts, encoding = await self.parse(caller, fmt.parse_embeddings, body)
        model = await self.resolve(caller, name)
        if self.guardrails:
            guarded = await self.guard(
                caller, "embeddings", model, [{"role": "user", "content": t} for t in texts], request_id
            )
            texts = [str(m["content"]) for m in guarded]
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

    # -- guardrails -------------------------------------------------------------------------

    async def guard(
        self, caller: Caller, route: str, model: Exposed, messages: list[dict[str, Any]], request_id: str
    ) -> list[dict[str, Any]]:
        """The messages after ``[gateway.policies]``; a denial for a real key is a 400, audited under its team."""
        if not self.guardrails:
            return messages
        try:
            return self.guardrails.apply(route, model.name, messages)
        except ApiError as refusal:
            key = await self.key_of(caller)  # a bad key is a 401 first
            refusal.key = key  # type: ignore[attr-defined]
            detail = {
                "request_id": request_id,
                "route": route,
                "model": model.name,
                "policy": getattr(refusal, "policy", ""),
            }
            await self.db(self.store.record_audit, key.team, "policy.deny", key.id, detail)
            raise

    # -- POST /v1/prompts/{name} -----------------------------------------------------------

    async def prompt(self, caller: Caller, name: str, body: bytes, request_id: str) -> Reply | Streamed:
        """Fill a published prompt's variables and answer with its model, as a call of its own."""
        from hackkit.server.prompts import check_variables
        from hackkit.server.streaming import PromptEvents

        started = time.perf_counter()
        variables, stream = await self.parse(caller, fmt.parse_prompt_call, body)
        try:
            endpoint = self.prompts.get(name, admin=caller.admin)
            chosen = endpoint.choose(caller.key_hash or "admin")  # sticky per key, known before any lookup
            if chosen.status == "retired":
                raise retired(chosen)
            filled = check_variables(chosen, variables)
            model = self.catalog.get(chosen.model or self.catalog.default_model)
        except ApiError:
            await self.key_of(caller)  # a bad key is a 401 first
            raise
        rendered = chosen.render(**filled)
        rendered.messages = await self.guard(caller, "prompt", model, rendered.messages, request_id)
        cap = chosen.params.get("max_tokens")
        admission = await self.admit(caller, request_id, model, len(dumps(rendered.messages)), cap, chosen)
        record = CallLog(
            self,
            caller,
            admission.key,
            model,
            request_id,
            started,
            route="prompt",
            stream=stream,
            prompt=(chosen.name, chosen.version),
        )
        kwargs = {k: v for k, v in chosen.params.items() if k != "max_tokens"} | {"max_tokens": admission.max_tokens}
        headers = {"x-request-id": request_id, "x-prompt-version": chosen.version, **rate_headers(admission.limits)}
        if chosen.status == "deprecated":
            headers["deprecation"] = "true"
            if chosen.replaced_by:
                headers["link"] = f'</v1/prompts/{chosen.replaced_by}>; rel="successor-version"'
        if stream:
            events = PromptEvents(request_id, chosen.version)
            return await open_stream(self, rendered.messages, model, kwargs, record, headers, events)
        try:
            response: ChatResponse = await self.client.achat(rendered.messages, model.alias, cache=False, **kwargs)
        except HackkitError as exc:
            error = upstream_error(exc)
            await record.failed(error, exc)
            return error_reply(error, request_id)
        await record.settle(response, payload=(rendered.messages, response.text))
        return Reply(200, dumps(fmt.prompt_body(request_id, chosen.version, response)), headers)

    # -- POST /v1/feedback ------------------------------------------------------------------

    async def feedback(self, caller: Caller, body: bytes) -> Reply:
        """A score for one of the caller's own calls (a prompt endpoint's, for its A/B test)."""
        key = await self.key_of(caller)
        request_id, score, comment = fmt.parse_feedback(_json(body))
        saved = await self.db(self.store.add_feedback, request_id, key.id, score, comment, caller.admin)
        return json_reply(201, {"id": saved, "request_id": request_id, "score": score})

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


def retired(prompt: Any) -> ApiError:
    successor = f" It was replaced by {prompt.replaced_by!r}." if prompt.replaced_by else ""
    return ApiError(410, f"The prompt {prompt.name!r} was retired.{successor}", code="prompt_retired")


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


_REQUEST_PREFIX = "req_" + uuid.uuid4().hex[:12]  # random once per process: unique across workers and machines
_request_numbers = itertools.count(1)


def new_request_id() -> str:
    """``req_<process prefix><counter>``: unique, and cheap (os.urandom per request costs ~0.1 ms here)."""
    return f"{_REQUEST_PREFIX}{next(_request_numbers):08x}"
