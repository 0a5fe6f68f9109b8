"""The I/O half of every HTTP provider: send, stream, map failures to hackkit errors.

A wire format subclasses :class:`HTTPProvider` and fills in pure translation hooks
(``chat_payload``, ``parse_chat``, ``parse_event``, ``parse_error``); this module does the
sending for both sync and async code, so no wire format holds any I/O.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from hackkit.errors import (
    MissingKeyError,
    ProviderConnectionError,
    ProviderTimeout,
    StreamError,
    error_for_status,
)
from hackkit.llm.providers._transport import AsyncTransport, HttpxTransport
from hackkit.llm.registry import Provider
from hackkit.llm.types import ChatChunk, ChatRequest, ChatResponse, EmbedResponse

if TYPE_CHECKING:
    from hackkit.config import ProviderConfig, Settings

DEFAULT_TIMEOUT = 30.0


class StreamEnd(Exception):
    """Raised by ``parse_event`` at the provider's end-of-stream marker."""


class SSEDecoder:
    """Incremental Server-Sent Events parser: feed lines, get (event, data) at each blank line."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = (self._event, "\n".join(self._data))
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None

    def flush(self) -> tuple[str, str] | None:
        return self.feed("")


class HTTPProvider(Provider):
    """Base for providers that speak JSON over HTTP."""

    default_base_url = ""
    key_env: str | None = None
    key_required = True
    structured_output = True  # every wire format here takes a JSON schema (Anthropic through a forced tool)
    stream_format = "sse"  # or "ndjson"
    chat_path = "/chat/completions"
    embed_path = "/embeddings"

    def __init__(self, name: str, settings: Settings, config: ProviderConfig) -> None:
        super().__init__(name, settings, config)
        self.base_url = (config.base_url or self.preset_base_url()).rstrip("/")
        self.key_variable = config.api_key_env or self.key_env
        self.timeout = config.timeout or DEFAULT_TIMEOUT
        self._client: httpx.Client | None = None
        self.async_transport: AsyncTransport = HttpxTransport()

    # -- what a wire format fills in ------------------------------------------------------------

    def preset_base_url(self) -> str:
        return self.default_base_url

    def auth_headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    def chat_payload(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        raise NotImplementedError

    def parse_chat(self, data: dict[str, Any], request: ChatRequest) -> ChatResponse:
        raise NotImplementedError

    def parse_event(self, event: str, data: dict[str, Any], state: dict[str, Any]) -> Iterable[ChatChunk]:
        """Chunks from one decoded stream event; raise :class:`StreamEnd` at the end marker.

        ``state`` is a dict private to this one stream, for formats that need memory across events.
        """
        raise NotImplementedError

    def error_message(self, body: Any) -> str:
        """The human message inside an error body, whatever shape the provider uses."""
        if isinstance(body, dict):
            err = body.get("error", body)
            if isinstance(err, dict):
                found = err.get("message") or err.get("detail") or body.get("message") or body.get("detail")
                return found if isinstance(found, str) else json.dumps(found)
            if isinstance(err, str):
                return err
        return str(body)[:500]

    def embed_payload(self, texts: list[str], model: str) -> dict[str, Any]:
        return {"model": model, "input": texts, "encoding_format": "float"}

    def parse_embed(self, data: dict[str, Any], model: str) -> EmbedResponse:
        from hackkit.llm.types import Usage

        rows = sorted(data["data"], key=lambda row: row.get("index", 0))
        usage = data.get("usage") or {}
        return EmbedResponse(
            vectors=[row["embedding"] for row in rows],
            model=data.get("model", model),
            provider=self.name,
            usage=Usage(input_tokens=usage.get("prompt_tokens", 0)),
        )

    # -- shared plumbing ---------------------------------------------------------------------

    def headers(self) -> dict[str, str]:
        key = self.settings.env(self.key_variable) if self.key_variable else None
        if key is None and self.key_required:
            raise MissingKeyError(self.key_variable or "an API key variable", self.name)
        return {"Content-Type": "application/json", **self.auth_headers(key), **self.config.headers}

    def _raise_for_status(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        if status < 400:
            return
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        kind = error_for_status(status)
        raise kind(
            f"{self.name} returned HTTP {status}: {self.error_message(parsed)}",
            provider=self.name,
            status=status,
            retry_after=retry_after_seconds(headers),
            hint=_hint_for_status(status, self.key_variable),
        )

    def _decode_stream_lines(self) -> Callable[[str], tuple[list[ChatChunk], bool]]:
        """A decoder for one stream: each line in, (chunks, stream ended) out."""
        sse = SSEDecoder() if self.stream_format == "sse" else None
        state: dict[str, Any] = {}

        def handle(line: str) -> tuple[list[ChatChunk], bool]:
            if sse is None:
                event, payload = "", line.strip()
                if not payload:
                    return [], False
            else:
                decoded = sse.feed(line.rstrip("\r"))
                if decoded is None:
                    return [], False
                event, payload = decoded
            if payload.strip() == "[DONE]":
                return [], True
            try:
                data = json.loads(payload)
            except ValueError:
                raise StreamError(
                    f"{self.name} sent a stream event that is not JSON: {payload[:120]!r}",
                    provider=self.name,
                    hint="the endpoint may not speak this wire format; check base_url and the provider kind",
                ) from None
            chunks: list[ChatChunk] = []
            try:
                chunks.extend(self.parse_event(event, data, state))
            except StreamEnd:
                return chunks, True
            return chunks, False

        return handle

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _timeout(self, request_timeout: float | None) -> httpx.Timeout:
        return _timeout(round(request_timeout or self.timeout, 2))

    # -- sync ------------------------------------------------------------------------------

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
        return self._client

    def _post(self, path: str, payload: dict[str, Any], timeout: float | None) -> Any:
        with _mapped_errors(self.name):
            response = self.client.post(
                self._url(path), json=payload, headers=self.headers(), timeout=self._timeout(timeout)
            )
            self._raise_for_status(response.status_code, response.headers, response.content)
            return _json_reply(response.content, self.name)

    def chat(self, request: ChatRequest) -> ChatResponse:
        data = self._post(self.chat_path, self.chat_payload(request, stream=False), request.timeout)
        return self.parse_chat(data, request)

    def stream(self, request: ChatRequest) -> Iterator[ChatChunk]:
        payload = self.chat_payload(request, stream=True)
        handle = self._decode_stream_lines()
        with (
            _mapped_errors(self.name),
            self.client.stream(
                "POST",
                self._url(self.chat_path),
                json=payload,
                headers=self.headers(),
                timeout=self._timeout(request.timeout),
            ) as response,
        ):
            if response.status_code >= 400:
                self._raise_for_status(response.status_code, response.headers, response.read())
            for line in itertools.chain(response.iter_lines(), [""]):  # "" flushes an unterminated event
                chunks, done = handle(line)
                yield from chunks
                if done:
                    return

    def embed(self, texts: list[str], model: str) -> EmbedResponse:
        started = time.perf_counter()
        result = self.parse_embed(self._post(self.embed_path, self.embed_payload(texts, model), None), model)
        result.latency_ms = (time.perf_counter() - started) * 1000
        return result

    # -- async -----------------------------------------------------------------------------

    def use_async_transport(self, transport: AsyncTransport) -> None:
        """Send async requests through ``transport`` (the gateway gives every provider aiohttp's)."""
        self.async_transport = transport

    def async_client(self) -> Any:
        """This event loop's connection pool (an httpx.AsyncClient with the default transport)."""
        return self.async_transport.pool()  # type: ignore[attr-defined]

    async def _apost(self, path: str, payload: dict[str, Any], timeout: float | None) -> Any:
        reply = await self.async_transport.post(
            self._url(path), dumps(payload), self.headers(), timeout or self.timeout, self.name
        )
        self._raise_for_status(reply.status, reply.headers, reply.body)
        return _json_reply(reply.body, self.name)

    async def achat(self, request: ChatRequest) -> ChatResponse:
        data = await self._apost(self.chat_path, self.chat_payload(request, stream=False), request.timeout)
        return self.parse_chat(data, request)

    async def astream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        payload = self.chat_payload(request, stream=True)
        handle = self._decode_stream_lines()
        url, body, timeout = self._url(self.chat_path), dumps(payload), request.timeout or self.timeout
        async with self.async_transport.stream(url, body, self.headers(), timeout, self.name) as response:
            if response.status >= 400:
                self._raise_for_status(response.status, response.headers, await response.read())
            async for line in _with_flush(response.lines()):
                chunks, done = handle(line)
                for chunk in chunks:
                    yield chunk
                if done:
                    return

    async def aembed(self, texts: list[str], model: str) -> EmbedResponse:
        started = time.perf_counter()
        data = await self._apost(self.embed_path, self.embed_payload(texts, model), None)
        result = self.parse_embed(data, model)
        result.latency_ms = (time.perf_counter() - started) * 1000
        return result

    def close(self) -> None:
        """Close the sync client and the async transport's pools (every event loop's)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        self.async_transport.close()

    async def aclose(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        await self.async_transport.aclose()


def dumps(payload: Any) -> bytes:
    """A request body: orjson when installed (the gateway extra has it), else the standard library."""
    try:
        import orjson
    except ImportError:
        return json.dumps(payload, ensure_ascii=False).encode()
    return orjson.dumps(payload)


@functools.lru_cache(maxsize=64)
def _timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(10.0, seconds))


@contextlib.contextmanager
def _mapped_errors(provider: str) -> Iterator[None]:
    """Turns httpx transport failures into hackkit's ProviderError family."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(
            f"{provider} did not answer in time ({type(exc).__name__}).",
            provider=provider,
            hint="raise [llm.router] timeout in hackkit.toml, or add a fallback model",
        ) from exc
    except (httpx.TransportError, httpx.StreamError) as exc:
        raise ProviderConnectionError(
            f"Could not talk to {provider}: {exc or type(exc).__name__}",
            provider=provider,
            hint="check the provider's base_url and that it is running (`hackkit doctor`)",
        ) from exc


async def _with_flush(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    async for line in lines:
        yield line
    yield ""


def _json_reply(body: bytes, provider: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise StreamError(
            f"{provider} answered with a body that is not JSON: {body[:120].decode('utf-8', 'replace')!r}",
            provider=provider,
            hint="the endpoint may not speak this wire format; check base_url and the provider kind",
        ) from None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _hint_for_status(status: int, key_variable: str | None) -> str | None:
    if status in (401, 403):
        return f"check ${key_variable}: the provider rejected the key" if key_variable else None
    if status == 404:
        return "check the model name and the provider's base_url"
    if status == 429:
        return "wait, lower the request rate, or add a fallback under [llm.router] fallbacks"
    return None
