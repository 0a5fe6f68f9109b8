"""LangChain messages to and from the OpenAI-format dicts and responses hackkit's client uses.

LangChain to hackkit: ``convert_to_openai_messages`` does the work (tool calls, tool results, image
parts); what OpenAI's format cannot carry is left out: an assistant turn keeps only its text (a
provider's reasoning or "thinking" blocks are not sent back), and text parts lose provider extras
such as Anthropic's ``cache_control``. hackkit to LangChain: an ``AIMessage`` (or stream chunks)
with ``tool_calls``, ``usage_metadata`` and ``response_metadata`` naming the model that answered.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, convert_to_openai_messages
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import InvalidToolCall, ToolCall, invalid_tool_call, tool_call, tool_call_chunk

from hackkit.llm.types import ChatChunk, ChatResponse, Message, Usage
from hackkit.llm.types import ToolCall as HackkitToolCall


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[Message]:
    """The conversation as hackkit sends it: OpenAI chat-format dicts."""
    converted = convert_to_openai_messages(list(messages))
    return [_assistant_text_only(m) if m["role"] == "assistant" else m for m in converted]


def _assistant_text_only(message: Message) -> Message:
    """An assistant turn with its content as one string, tool calls kept."""
    content = message.get("content")
    if isinstance(content, str) or content is None:
        return message
    texts = [part["text"] for part in content if isinstance(part, dict) and part.get("type") == "text"]
    return {**message, "content": "\n".join(texts)}


def ai_message(response: ChatResponse) -> AIMessage:
    """A whole answer as LangChain's ``AIMessage``."""
    calls, invalid = split_tool_calls(response.tool_calls)
    return AIMessage(
        content=response.text,
        tool_calls=calls,
        invalid_tool_calls=invalid,
        usage_metadata=usage_metadata(response.usage),
        response_metadata=response_metadata(response),
        id=response.id,
    )


def split_tool_calls(calls: list[HackkitToolCall]) -> tuple[list[ToolCall], list[InvalidToolCall]]:
    """The calls whose arguments are a JSON object, and the ones whose arguments are not."""
    valid: list[ToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call in calls:
        try:
            args = json.loads(call.arguments or "{}")
        except ValueError as exc:
            invalid.append(invalid_tool_call(name=call.name, args=call.arguments, id=call.id or None, error=str(exc)))
            continue
        if isinstance(args, dict):
            valid.append(tool_call(name=call.name, args=args, id=call.id or None))
        else:
            error = f"arguments are JSON {type(args).__name__}, not an object"
            invalid.append(invalid_tool_call(name=call.name, args=call.arguments, id=call.id or None, error=error))
    return valid, invalid


def message_chunk(chunk: ChatChunk) -> AIMessageChunk | None:
    """One piece of a stream as an ``AIMessageChunk``; None when it carries no text or tool call."""
    if not chunk.text and not chunk.tool_call_deltas:
        return None
    return AIMessageChunk(
        content=chunk.text,
        tool_call_chunks=[
            tool_call_chunk(
                name=delta.get("name"),
                args=delta.get("arguments"),
                id=delta.get("id"),
                index=delta.get("index", 0),
            )
            for delta in chunk.tool_call_deltas
        ],
    )


def closing_chunk(response: ChatResponse) -> AIMessageChunk:
    """The last chunk of a stream: usage and metadata, once, so adding chunks does not double them."""
    return AIMessageChunk(
        content="",
        usage_metadata=usage_metadata(response.usage),
        response_metadata=response_metadata(response),
        chunk_position="last",
    )


def usage_metadata(usage: Usage) -> UsageMetadata:
    return UsageMetadata(
        input_tokens=usage.input_tokens, output_tokens=usage.output_tokens, total_tokens=usage.total_tokens
    )


def response_metadata(response: ChatResponse) -> dict[str, Any]:
    """``model_name`` is the hackkit model id that answered (after routing and fallbacks)."""
    metadata: dict[str, Any] = {
        "model_name": f"{response.provider}/{response.model}" if response.provider else response.model,
        "provider": response.provider,
        "finish_reason": response.finish_reason,
        "cost_usd": response.cost_usd,
        "latency_ms": response.latency_ms,
        "cached": response.cached,
    }
    return {key: value for key, value in metadata.items() if value is not None}
