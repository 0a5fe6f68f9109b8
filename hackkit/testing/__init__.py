"""Test helpers for hackkit and for generated projects.

:class:`FakeProvider` is a real provider plugin (model ids ``fake/...``): it answers offline, from
a queue of scripted replies when there are any, otherwise by echoing the last user message.
:class:`hackkit.testing.wire.WireServer` is an HTTP server on loopback that speaks the OpenAI,
Mistral, Anthropic and Ollama wire formats, for tests that must cross real HTTP.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Iterator

from hackkit.errors import HackkitError
from hackkit.llm.registry import Provider
from hackkit.llm.types import ChatChunk, ChatRequest, ChatResponse, EmbedResponse, ToolCall, Usage, text_of

Reply = str | ChatResponse | HackkitError

_queue: deque[Reply] = deque()
_lock = threading.Lock()
requests: list[ChatRequest] = []


def enqueue(*replies: Reply) -> None:
    """Script the next answers of every ``fake/...`` model, in order; an error is raised."""
    with _lock:
        _queue.extend(replies)


def reset() -> None:
    with _lock:
        _queue.clear()
        requests.clear()


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


class FakeProvider(Provider):
    """``fake/echo`` answers "Echo: <last user message>"; ``fake/slow`` waits 50 ms a word."""

    def _next(self, request: ChatRequest) -> ChatResponse:
        with _lock:
            requests.append(request)
            reply = _queue.popleft() if _queue else None
        if isinstance(reply, HackkitError):
            raise reply
        if isinstance(reply, ChatResponse):
            return reply
        last_user = next((text_of(m) for m in reversed(request.messages) if m["role"] == "user"), "")
        text = reply if reply is not None else f"Echo: {last_user}"
        prompt = " ".join(text_of(m) for m in request.messages)
        return ChatResponse(
            text=text,
            model=request.model,
            provider=self.name,
            finish_reason="stop",
            usage=Usage(estimate_tokens(prompt), estimate_tokens(text)),
        )

    def chat(self, request: ChatRequest) -> ChatResponse:
        response = self._next(request)
        response.provider, response.model = self.name, response.model or request.model
        return response

    def stream(self, request: ChatRequest) -> Iterator[ChatChunk]:
        response = self.chat(request)
        words = response.text.split(" ")
        for i, word in enumerate(words):
            if request.model == "slow":
                time.sleep(0.05)
            yield ChatChunk(text=word if i == 0 else " " + word, model=response.model)
        yield ChatChunk(
            tool_call_deltas=[
                {"index": i, "id": c.id, "name": c.name, "arguments": c.arguments}
                for i, c in enumerate(response.tool_calls)
            ],
            finish_reason=response.finish_reason or "stop",
            usage=response.usage,
        )

    def embed(self, texts: list[str], model: str) -> EmbedResponse:
        """Deterministic unit vectors from a hash of each text: same text, same vector."""
        vectors = []
        for text in texts:
            digest = hashlib.sha256(text.encode()).digest()
            raw = [b - 127.5 for b in digest[:16]]
            norm = sum(x * x for x in raw) ** 0.5 or 1.0
            vectors.append([x / norm for x in raw])
        return EmbedResponse(
            vectors, model=model, provider=self.name, usage=Usage(sum(estimate_tokens(t) for t in texts), 0)
        )

    def context_window(self, model: str) -> int:
        return self.config.context_window or 8192


def tool_call(name: str, arguments: str = "{}", id: str = "call_1") -> ChatResponse:
    """A scripted reply in which the model calls one tool."""
    return ChatResponse(text="", tool_calls=[ToolCall(id, name, arguments)], finish_reason="tool_calls")


__all__ = ["FakeProvider", "enqueue", "requests", "reset", "tool_call"]
