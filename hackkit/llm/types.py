"""The values that flow through the client: requests, responses, stream pieces, usage.

Messages are plain dicts in the OpenAI chat format (``{"role": "user", "content": "hi"}``), the
format most examples and teams already use; providers translate from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hackkit.errors import Attempt

Message = dict[str, Any]


def as_messages(messages: str | Message | list[Message]) -> list[Message]:
    """A prompt string, one message or a list of messages, as a fresh list of messages."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if isinstance(messages, dict):
        return [dict(messages)]
    return [dict(m) for m in messages]


def text_of(message: Message) -> str:
    """The text of a message whose content may be a string or a list of parts."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, dict))


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str = "{}"  # JSON text, as the model wrote it

    @property
    def args(self) -> dict[str, Any]:
        value = json.loads(self.arguments or "{}")
        return value if isinstance(value, dict) else {"value": value}

    def to_message_part(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass
class ChatRequest:
    """What a provider is asked: the model name inside that provider, and the call."""

    model: str
    messages: list[Message]
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None  # OpenAI shape: {"type": "json_schema", ...}
    params: dict[str, Any] = field(default_factory=dict)  # temperature, max_tokens, seed, ...
    timeout: float | None = None


@dataclass
class ChatChunk:
    """One piece of a stream. Tool calls arrive as deltas keyed by their index."""

    text: str = ""
    tool_call_deltas: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None


@dataclass
class ChatResponse:
    """An answer, and which model gave it.

    ``model_id`` is the hackkit id that answered (``local/smollm2``), ``requested`` what the caller
    asked for (an id, alias or deployment); ``fallback`` is true when a fallback answered, and
    ``failures`` holds every failed attempt before this answer, each with its reason.
    """

    text: str
    model: str = ""  # the model's name as its provider reported it
    provider: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_ms: float = 0.0
    cached: bool = False
    id: str | None = None
    parsed: Any = None  # the pydantic object when a response_format model was asked for
    raw: dict[str, Any] | None = field(default=None, repr=False)
    model_id: str = ""
    requested: str = ""
    fallback: bool = False
    failures: list[Attempt] = field(default_factory=list, repr=False)

    def __str__(self) -> str:
        return self.text

    @property
    def fallback_note(self) -> str | None:
        """``"mistral/x could not answer (MISTRAL_API_KEY is not set), so local/smollm2 answered."``"""
        return fallback_note(self.failures, self.model_id or f"{self.provider}/{self.model}") if self.fallback else None

    @property
    def message(self) -> Message:
        """The assistant message to append to a conversation."""
        message: Message = {"role": "assistant", "content": self.text}
        if self.tool_calls:
            message["tool_calls"] = [c.to_message_part() for c in self.tool_calls]
        return message


@dataclass
class EmbedResponse:
    vectors: list[list[float]]
    model: str = ""
    provider: str = ""
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    latency_ms: float = 0.0


class StreamAssembler:
    """Folds stream chunks into the final :class:`ChatResponse`."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.model: str | None = None

    def add(self, chunk: ChatChunk) -> None:
        if chunk.text:
            self.parts.append(chunk.text)
        for delta in chunk.tool_call_deltas:
            call = self.calls.setdefault(delta.get("index", 0), {"id": "", "name": "", "arguments": ""})
            call["id"] = delta.get("id") or call["id"]
            call["name"] = delta.get("name") or call["name"]
            call["arguments"] += delta.get("arguments") or ""
        self.finish_reason = chunk.finish_reason or self.finish_reason
        self.usage = chunk.usage or self.usage
        self.model = chunk.model or self.model

    def response(self) -> ChatResponse:
        calls = [ToolCall(c["id"], c["name"], c["arguments"] or "{}") for _, c in sorted(self.calls.items())]
        return ChatResponse(
            text="".join(self.parts),
            model=self.model or "",
            tool_calls=calls,
            finish_reason=self.finish_reason,
            usage=self.usage or Usage(),
        )


def fallback_note(failures: list[Attempt], answered_by: str) -> str:
    """One sentence saying which models could not answer, why, and who answered instead."""
    reasons: dict[str, str] = {}
    for attempt in failures:
        reasons[attempt.model] = attempt.reason  # the last reason per model
    failed = "; ".join(
        f"{model} could not answer ({reason})" for model, reason in reasons.items() if model != answered_by
    )
    return f"{failed or 'The requested model could not answer'}, so {answered_by} answered."
