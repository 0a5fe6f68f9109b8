"""The client: one ``chat()`` for every provider, with routing, cache, cost and the ledger."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hackkit.config import Settings, load_settings
from hackkit.errors import ClientClosedError, HackkitError
from hackkit.llm.cache import ResponseCache, cache_key
from hackkit.llm.context import fit_messages
from hackkit.llm.keys import GATEWAY_URL, PROVIDER_KEYS
from hackkit.llm.ledger import CallRecord, Ledger, failures_json
from hackkit.llm.prices import cost_usd
from hackkit.llm.prompts import Prompt, RenderedPrompt
from hackkit.llm.registry import Provider, ProviderPool, split_model_id
from hackkit.llm.router import AttemptLoop, Router
from hackkit.llm.tools import call_function, function_schema, parse_structured, schema_instruction, structured_format
from hackkit.llm.types import (
    ChatRequest,
    ChatResponse,
    EmbedResponse,
    Message,
    Usage,
    as_messages,
)

log = logging.getLogger("hackkit")

OFFLINE_MODEL = "local/smollm2"
OFFLINE_EMBEDDING_MODEL = "local/all-MiniLM-L6-v2"
Messages = str | Message | list[Message] | RenderedPrompt


@dataclass
class _Call:
    """One call as asked, before any model is picked."""

    model: str
    messages: list[Message]
    params: dict[str, Any]
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    schema: type[Any] | None = None
    timeout: float | None = None
    use_cache: bool = False
    prompt: Prompt | None = None
    stream: bool = False
    started: float = field(default_factory=time.perf_counter)

    def cache_key(self, model_id: str) -> str:
        """The cache key of this call answered by ``model_id`` (a concrete model, never an alias)."""
        return cache_key(
            model_id,
            {
                "messages": self.messages,
                "tools": self.tools,
                "params": self.params,
                "tool_choice": self.tool_choice,
                "format": self.response_format,
            },
        )


class Client:
    """Holds settings, provider connections, the router's memory, the ledger and the cache."""

    def __init__(self, settings: Settings | None = None, *, async_transport: Any = None, **overrides: Any) -> None:
        """``async_transport``: ``"aiohttp"`` (or a transport object) for async calls; default httpx."""
        self.settings = settings if settings is not None else load_settings(**overrides)
        if isinstance(async_transport, str):
            from hackkit.llm.providers._transport import make_transport

            async_transport = make_transport(async_transport)
        self.providers = ProviderPool(self.settings, async_transport)
        self.router = Router(self.settings)
        self._ledger: Ledger | None = None
        self._cache: ResponseCache | None = None
        self._ledger_warned = False
        self._closed = False

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- defaults and plumbing ----------------------------------------------------------------

    def default_model(self) -> str:
        """``HACKKIT_MODEL`` / ``[llm] model``, else the gateway, else the first keyed provider, else local."""
        if self.settings.llm.model:
            return self.settings.llm.model
        if self.settings.env(GATEWAY_URL):
            return "gateway/default"
        for key in PROVIDER_KEYS:
            if key.chat_model and self.settings.env(key.variable):
                return key.chat_model
        return OFFLINE_MODEL

    def missing_key(self, model: str | None = None) -> str | None:
        """The key variable that ``model``'s provider needs and does not have; None when all is set."""
        model = model or self.default_model()
        if "/" not in model:
            return None  # an alias or deployment: its members are checked when called
        try:
            provider = self.providers.get(split_model_id(model)[0])
        except HackkitError:
            return None
        variable = getattr(provider, "key_variable", None)
        if variable and getattr(provider, "key_required", False) and not self.settings.env(variable):
            return str(variable)
        return None

    def default_embedding_model(self) -> str:
        if self.settings.env(GATEWAY_URL):
            return "gateway/default-embedding"
        for key in PROVIDER_KEYS:
            if key.embedding_model and self.settings.env(key.variable):
                return key.embedding_model
        return OFFLINE_EMBEDDING_MODEL

    @property
    def ledger(self) -> Ledger | None:
        config = self.settings.llm.ledger
        if not config.enabled or config.path in ("off", "false", "0"):
            return None
        if self._ledger is None:
            path = self.settings.resolve_path(config.path) if config.path else self.settings.data_dir / "ledger.sqlite"
            self._ledger = Ledger(path, store_text=config.store_text)
        return self._ledger

    @property
    def cache(self) -> ResponseCache:
        if self._cache is None:
            config = self.settings.llm.cache
            path = self.settings.resolve_path(config.path) if config.path else self.settings.data_dir / "cache.sqlite"
            self._cache = ResponseCache(path)
        return self._cache

    def close(self) -> None:
        """Close provider connections (async ones too), the ledger and the cache; later calls raise."""
        self._closed = True
        self.providers.close()
        self._close_stores()

    async def aclose(self) -> None:
        """``close`` from async code: waits for the async HTTP connections to close."""
        self._closed = True
        await self.providers.aclose()
        self._close_stores()

    def _close_stores(self) -> None:
        for store in (self._ledger, self._cache):
            if store is not None:
                store.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError()

    def _record(self, record: CallRecord) -> None:
        ledger = self.ledger
        if ledger is None:
            return
        if not ledger.record(record) and not self._ledger_warned:  # a full disk must not break the demo
            log.warning("hackkit: could not write the ledger at %s (%s); will retry", ledger.path, ledger.last_error)
            self._ledger_warned = True

    # -- building a call ---------------------------------------------------------------------

    def _prepare(
        self,
        messages: Messages,
        model: str | None,
        *,
        stream: bool,
        tools: Any,
        tool_choice: Any,
        response_format: Any,
        cache: bool | None,
        timeout: float | None,
        params: dict[str, Any],
    ) -> _Call:
        prompt = None
        if isinstance(messages, RenderedPrompt):
            prompt = messages.prompt
            params = {**prompt.params, **params}
            model = model or prompt.model
            messages = messages.messages
        schema = None
        if isinstance(response_format, type):
            schema, response_format = response_format, structured_format(response_format)
        self._check_open()
        return _Call(
            model=model or self.default_model(),
            messages=as_messages(messages),
            params=params,
            tools=[t if isinstance(t, dict) else function_schema(t) for t in tools] if tools else None,
            tool_choice=tool_choice,
            response_format=response_format,
            schema=schema,
            timeout=timeout,
            use_cache=self.settings.llm.cache.enabled if cache is None else cache,
            prompt=prompt,
            stream=stream,
        )

    def _request(self, call: _Call, target: str, loop: AttemptLoop) -> tuple[Provider, ChatRequest]:
        provider_name, name = split_model_id(target)
        provider = self.providers.get(provider_name)
        params = call.params
        messages, cap = fit_messages(
            call.messages, provider.context_window(name), params.get("max_tokens"), model=target
        )
        if cap is not None:
            params = {**params, "max_tokens": cap}
        response_format = call.response_format
        if response_format and not provider.structured_output:
            messages = [{"role": "system", "content": schema_instruction(response_format)}, *messages]
            response_format = None
        return provider, ChatRequest(
            model=name,
            messages=messages,
            tools=call.tools,
            tool_choice=call.tool_choice,
            response_format=response_format,
            params=params,
            timeout=loop.timeout(call.timeout or provider.config.timeout),
        )

    def _attempt(self, call: _Call, target: str, loop: AttemptLoop) -> ChatResponse:
        provider, request = self._request(call, target, loop)
        return provider.chat(request)

    async def _aattempt(self, call: _Call, target: str, loop: AttemptLoop) -> ChatResponse:
        provider, request = self._request(call, target, loop)
        return await provider.achat(request)

    def _from_cache(self, call: _Call) -> ChatResponse | None:
        """A stored answer by one of the requested name's own models; never a fallback's answer."""
        if not call.use_cache or call.stream:
            return None
        for model_id in self.router.resolve(call.model, order=False):
            response = self.cache.get(call.cache_key(model_id))
            if response is not None:
                response.model_id, response.requested = model_id, call.model
                response.latency_ms = (time.perf_counter() - call.started) * 1000
                response.cost_usd = 0.0
                if call.schema is not None:
                    response.parsed = parse_structured(call.schema, response.text)
                self._record(self._row(call, model_id, response, attempts=0))
                return response
        return None

    def _finish(self, call: _Call, target: str, response: ChatResponse, loop: AttemptLoop) -> ChatResponse:
        provider_name, name = split_model_id(target)
        response.provider = provider_name
        response.model = response.model or name
        response.model_id, response.requested = target, call.model
        response.failures = list(loop.failures)
        response.fallback = self.router.is_fallback(call.model, target)
        response.latency_ms = (time.perf_counter() - call.started) * 1000
        response.cost_usd = self.cost(target, response.usage)
        try:
            if call.schema is not None:
                response.parsed = parse_structured(call.schema, response.text)
        finally:
            self._record(self._row(call, target, response, attempts=len(loop.failures) + 1))
        if call.use_cache and not response.tool_calls:
            self.cache.put(call.cache_key(target), response)
        return response

    def cost(self, model_id: str, usage: Usage) -> float | None:
        """USD for ``usage`` on ``model_id``: the provider's own prices (a gateway's), else the price table."""
        provider_name, name = split_model_id(model_id)
        price = self.providers.get(provider_name).prices(name)
        if price is None:
            return cost_usd(model_id, usage)
        return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1_000_000

    def _record_partial(self, call: _Call, target: str, partial: ChatResponse, loop: AttemptLoop) -> None:
        """A stream its caller stopped reading: a ``cancelled`` row with what was seen, priced."""
        partial.provider, partial.model_id = target.partition("/")[0], target
        partial.model = partial.model or target.partition("/")[2]
        partial.failures = list(loop.failures)
        partial.fallback = self.router.is_fallback(call.model, target)
        partial.latency_ms = (time.perf_counter() - call.started) * 1000
        partial.cost_usd = self.cost(target, partial.usage)
        self._record(self._row(call, target, partial, attempts=len(loop.failures) + 1, status="cancelled"))

    def _row(self, call: _Call, target: str, response: ChatResponse, attempts: int, status: str = "ok") -> CallRecord:
        return CallRecord(
            model=target,
            status=status,
            provider=response.provider,
            requested=call.model,
            prompt_name=call.prompt.name if call.prompt else None,
            prompt_version=call.prompt.version if call.prompt else None,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
            cost_usd=response.cost_usd,
            latency_ms=response.latency_ms,
            prompt=call.messages,
            response=response.text,
            cached=response.cached,
            stream=call.stream,
            attempts=attempts,
            fallback=response.fallback,
            failures=failures_json(response.failures),
        )

    def _failed(self, call: _Call, loop: AttemptLoop) -> HackkitError:
        error = loop.exhausted()
        last = loop.failures[-1] if loop.failures else None
        self._record(
            CallRecord(
                model=last.model if last else call.model,
                requested=call.model,
                status="error",
                error=error.message,
                latency_ms=(time.perf_counter() - call.started) * 1000,
                prompt=call.messages,
                stream=call.stream,
                attempts=len(loop.failures),
                prompt_name=call.prompt.name if call.prompt else None,
                prompt_version=call.prompt.version if call.prompt else None,
                failures=failures_json(loop.failures),
            )
        )
        return error

    # -- chat --------------------------------------------------------------------------------

    def chat(
        self,
        messages: Messages,
        model: str | None = None,
        *,
        stream: bool = False,
        tools: Any = None,
        tool_choice: Any = None,
        response_format: Any = None,
        cache: bool | None = None,
        timeout: float | None = None,
        **params: Any,
    ) -> Any:
        """Answer ``messages`` (a string, a message, a list, or a rendered prompt).

        Returns a :class:`ChatResponse`, or with ``stream=True`` a :class:`ChatStream` that yields
        text as it arrives and holds the full response afterwards.
        """
        call = self._prepare(
            messages,
            model,
            stream=stream,
            tools=tools,
            tool_choice=tool_choice,
            response_format=response_format,
            cache=cache,
            timeout=timeout,
            params=params,
        )
        if stream:
            from hackkit.llm.streams import ChatStream

            return ChatStream(self, call)
        if (cached := self._from_cache(call)) is not None:
            return cached
        loop = self.router.attempts(call.model)
        found = loop.run(lambda target: self._attempt(call, target, loop))
        if found is None:
            raise self._failed(call, loop)
        return self._finish(call, found[0], found[1], loop)

    async def achat(
        self,
        messages: Messages,
        model: str | None = None,
        *,
        stream: bool = False,
        tools: Any = None,
        tool_choice: Any = None,
        response_format: Any = None,
        cache: bool | None = None,
        timeout: float | None = None,
        **params: Any,
    ) -> Any:
        """``chat`` for asyncio code; with ``stream=True`` returns an :class:`AsyncChatStream`."""
        call = self._prepare(
            messages,
            model,
            stream=stream,
            tools=tools,
            tool_choice=tool_choice,
            response_format=response_format,
            cache=cache,
            timeout=timeout,
            params=params,
        )
        if stream:
            from hackkit.llm.streams import AsyncChatStream

            return AsyncChatStream(self, call)
        if (cached := self._from_cache(call)) is not None:
            return cached
        loop = self.router.attempts(call.model)
        found = await loop.arun(lambda target: self._aattempt(call, target, loop))
        if found is None:
            raise self._failed(call, loop)
        return self._finish(call, found[0], found[1], loop)

    def run_tools(
        self,
        messages: Messages,
        functions: list[Callable[..., Any]],
        model: str | None = None,
        *,
        max_rounds: int = 8,
        **params: Any,
    ) -> ChatResponse:
        """Call the model with ``functions`` as tools, run what it calls, until it answers.

        A list passed as ``messages`` is extended in place with the whole exchange.
        """
        self._check_open()
        by_name = {fn.__name__: fn for fn in functions}
        history = messages if isinstance(messages, list) else as_messages(messages)  # type: ignore[arg-type]
        for _ in range(max_rounds):
            response: ChatResponse = self.chat(history, model, tools=functions, **params)
            history.append(response.message)
            if not response.tool_calls:
                return response
            for tool_call in response.tool_calls:
                fn = by_name.get(tool_call.name)
                result = call_function(fn, tool_call.arguments) if fn else f"error: no tool {tool_call.name!r}"
                history.append(
                    {"role": "tool", "tool_call_id": tool_call.id, "name": tool_call.name, "content": result}
                )
        return self.chat(history, model, **params)

    # -- embeddings --------------------------------------------------------------------------

    def embed(self, texts: str | list[str], model: str | None = None) -> EmbedResponse:
        """Vectors for ``texts``, one per text, in order."""
        self._check_open()
        batch = [texts] if isinstance(texts, str) else list(texts)
        call = _Call(model=model or self.default_embedding_model(), messages=[], params={})
        loop = self.router.attempts(call.model)
        found = loop.run(lambda target: self._embedder(target).embed(batch, target.partition("/")[2]))
        if found is None:
            raise self._failed(call, loop)
        return self._embedded(call, *found)

    async def aembed(self, texts: str | list[str], model: str | None = None) -> EmbedResponse:
        self._check_open()
        batch = [texts] if isinstance(texts, str) else list(texts)
        call = _Call(model=model or self.default_embedding_model(), messages=[], params={})
        loop = self.router.attempts(call.model)
        found = await loop.arun(lambda target: self._embedder(target).aembed(batch, target.partition("/")[2]))
        if found is None:
            raise self._failed(call, loop)
        return self._embedded(call, *found)

    def _embedder(self, target: str) -> Provider:
        return self.providers.get(split_model_id(target)[0])

    def _embedded(self, call: _Call, target: str, result: EmbedResponse) -> EmbedResponse:
        result.provider, _, _ = target.partition("/")
        result.latency_ms = (time.perf_counter() - call.started) * 1000
        result.cost_usd = self.cost(target, result.usage)
        self._record(
            CallRecord(
                model=target,
                kind="embed",
                provider=result.provider,
                requested=call.model,
                input_tokens=result.usage.input_tokens,
                output_tokens=0,
                cost_usd=result.cost_usd,
                latency_ms=result.latency_ms,
            )
        )
        return result
