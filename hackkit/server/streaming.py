"""Streamed answers over SSE: routed until the first piece, settled before the last event.

Routing (retries, fallbacks) runs until the first chunk arrives, before any byte goes to the
client, so a failure there is an error status. Once the stream has started, the call is settled
and logged before the final event; when the client hangs up, the upstream request is closed and
the call charged for what was sent. Chat completions and prompt endpoints share this, each with
its own event shapes (:class:`ChatEvents`, :class:`PromptEvents`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

from hackkit.errors import HackkitError
from hackkit.llm.context import estimate_tokens
from hackkit.llm.types import ChatChunk, ChatResponse, Usage
from hackkit.server import openai_format as fmt
from hackkit.server.catalog import Exposed
from hackkit.server.errors import error_body_bytes

if TYPE_CHECKING:
    from hackkit.server.calllog import CallLog
    from hackkit.server.gateway import Gateway, Reply, Streamed


class Events(Protocol):
    def chunk(self, chunk: ChatChunk, opening: bool) -> dict[str, Any] | None: ...

    def end(self, response: ChatResponse) -> list[dict[str, Any]]: ...


class ChatEvents:
    """OpenAI's chat.completion.chunk events, and its usage chunk when asked."""

    def __init__(self, request_id: str, model: str, include_usage: bool) -> None:
        self.request_id, self.model, self.include_usage = request_id, model, include_usage
        self.created = int(time.time())

    def chunk(self, chunk: ChatChunk, opening: bool) -> dict[str, Any] | None:
        return fmt.chunk_body(self.request_id, self.model, self.created, chunk, opening)

    def end(self, response: ChatResponse) -> list[dict[str, Any]]:
        if not self.include_usage:
            return []
        usage = response.usage
        return [fmt.usage_chunk(self.request_id, self.model, self.created, usage.input_tokens, usage.output_tokens)]


class PromptEvents:
    """A prompt endpoint's events: ``{"delta"}`` pieces, then the whole answer as the last one."""

    def __init__(self, request_id: str, version: str) -> None:
        self.request_id, self.version = request_id, version

    def chunk(self, chunk: ChatChunk, opening: bool) -> dict[str, Any] | None:
        return {"delta": chunk.text} if chunk.text else None

    def end(self, response: ChatResponse) -> list[dict[str, Any]]:
        return [fmt.prompt_body(self.request_id, self.version, response)]


async def open_stream(
    gateway: Gateway,
    messages: list[dict[str, Any]],
    model: Exposed,
    kwargs: dict[str, Any],
    record: CallLog,
    headers: dict[str, str],
    events: Events,
) -> Reply | Streamed:
    """Route until the first chunk arrives, so a failure is an error status, not a 200 with an error inside."""
    from hackkit.server.gateway import Streamed, error_reply, upstream_error

    stream = await gateway.client.achat(messages, model.alias, stream=True, cache=False, **kwargs)
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
    return Streamed(headers, _events(messages, stream, first, record, events))


async def _events(
    messages: list[dict[str, Any]], stream: Any, first: ChatChunk | None, record: CallLog, events: Events
) -> AsyncIterator[bytes]:
    """SSE events; the call is settled before the last one, or with what was seen if the client left."""
    from hackkit.server.gateway import dumps, upstream_error

    opening, settled = True, False
    try:
        async for chunk in _chain([first] if first is not None else [], stream.chunks()):
            body = events.chunk(chunk, opening)
            if body is not None:
                opening = False
                yield b"data: " + dumps(body) + b"\n\n"
        response = stream.response
        assert response is not None
        await record.settle(response, payload=(messages, response.text))
        settled = True
        for body in events.end(response):
            yield b"data: " + dumps(body) + b"\n\n"
        yield b"data: [DONE]\n\n"
    except HackkitError as exc:  # broke after it started: the client has a 200 already, so say it in-band
        error = upstream_error(exc)
        await record.failed(error, exc)
        settled = True
        yield b"data: " + error_body_bytes(error) + b"\n\n"
    finally:
        if not settled:  # the client went away: close the upstream, charge what was seen
            await stream.aclose()
            await record.cancelled(stream.partial or ChatResponse("", usage=Usage(estimate_tokens(messages), 0)))


async def _chain(first: list[Any], rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    for item in first:
        yield item
    async for item in rest:
        yield item
