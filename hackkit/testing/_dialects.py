"""One scripted reply rendered in each provider's dialect, whole or as a stream."""

from __future__ import annotations

import json
from typing import Any


def _sse(payload: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n".encode()


def _event(kind: str, **fields: Any) -> bytes:
    """An Anthropic stream event: its type is both the SSE event name and a field."""
    return _sse({"type": kind, **fields}, kind)


def _words(text: str) -> list[str]:
    parts = text.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(parts)] if text else []


class _Dialect:
    def __init__(
        self, model: str, text: str, tool_calls: list[tuple[str, dict[str, Any]]], usage: tuple[int, int]
    ) -> None:
        self.model, self.text, self.tool_calls, self.usage = model, text, tool_calls, usage

    def call_id(self, i: int) -> str:
        return f"call_{i}_abcdef"

    def complete(self) -> dict[str, Any]:
        raise NotImplementedError

    def stream(self, include_usage: bool) -> list[bytes]:
        raise NotImplementedError


class _OpenAI(_Dialect):
    def finish(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"

    def usage_body(self) -> dict[str, int]:
        return {"prompt_tokens": self.usage[0], "completion_tokens": self.usage[1], "total_tokens": sum(self.usage)}

    def complete(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": self.call_id(i), "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
                for i, (n, a) in enumerate(self.tool_calls)
            ]
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish()}],
            "usage": self.usage_body(),
        }

    def chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return _sse(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
        )

    def stream(self, include_usage: bool) -> list[bytes]:
        events = [self.chunk({"role": "assistant", "content": ""})]
        events += [self.chunk({"content": w}) for w in _words(self.text)]
        for i, (name, args) in enumerate(self.tool_calls):
            arguments = json.dumps(args)
            half = len(arguments) // 2
            events.append(
                self.chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": self.call_id(i),
                                "type": "function",
                                "function": {"name": name, "arguments": arguments[:half]},
                            }
                        ]
                    }
                )
            )
            events.append(self.chunk({"tool_calls": [{"index": i, "function": {"arguments": arguments[half:]}}]}))
        events.append(self.chunk({}, self.finish()))
        if include_usage:
            events.append(
                _sse(
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion.chunk",
                        "model": self.model,
                        "choices": [],
                        "usage": self.usage_body(),
                    }
                )
            )
        return [*events, _sse("[DONE]")]


class _Mistral(_OpenAI):
    def call_id(self, i: int) -> str:
        return f"Ab{i}cdefgh"[:9]

    def stream(self, include_usage: bool) -> list[bytes]:  # usage rides on the last chunk
        events = [self.chunk({"role": "assistant", "content": ""})]
        events += [self.chunk({"content": w}) for w in _words(self.text)]
        for i, (name, args) in enumerate(self.tool_calls):
            events.append(
                self.chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": self.call_id(i),
                                "function": {"name": name, "arguments": json.dumps(args)},
                            }
                        ]
                    }
                )
            )
        events.append(self.chunk({}, self.finish(), usage=self.usage_body()))
        return [*events, _sse("[DONE]")]


class _Anthropic(_Dialect):
    def stop_reason(self) -> str:
        return "tool_use" if self.tool_calls else "end_turn"

    def complete(self) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": self.text}] if self.text else []
        content += [
            {"type": "tool_use", "id": f"toolu_{i}", "name": n, "input": a} for i, (n, a) in enumerate(self.tool_calls)
        ]
        return {
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": self.stop_reason(),
            "usage": {"input_tokens": self.usage[0], "output_tokens": self.usage[1]},
        }

    def stream(self, include_usage: bool) -> list[bytes]:
        start = {
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "usage": {"input_tokens": self.usage[0], "output_tokens": 1},
        }
        events = [_event("message_start", message=start), _event("ping")]
        if self.text:
            events += self.text_block(0)
        first_tool = 1 if self.text else 0
        for i, (name, args) in enumerate(self.tool_calls, start=first_tool):
            events += self.tool_block(i, name, json.dumps(args))
        events.append(
            _event("message_delta", delta={"stop_reason": self.stop_reason()}, usage={"output_tokens": self.usage[1]})
        )
        return [*events, _event("message_stop")]

    def text_block(self, index: int) -> list[bytes]:
        deltas = [
            _event("content_block_delta", index=index, delta={"type": "text_delta", "text": w})
            for w in _words(self.text)
        ]
        return [
            _event("content_block_start", index=index, content_block={"type": "text", "text": ""}),
            *deltas,
            _event("content_block_stop", index=index),
        ]

    def tool_block(self, index: int, name: str, arguments: str) -> list[bytes]:
        block = {"type": "tool_use", "id": f"toolu_{index}", "name": name, "input": {}}
        half = len(arguments) // 2
        deltas = [
            _event("content_block_delta", index=index, delta={"type": "input_json_delta", "partial_json": p})
            for p in (arguments[:half], arguments[half:])
        ]
        return [
            _event("content_block_start", index=index, content_block=block),
            *deltas,
            _event("content_block_stop", index=index),
        ]


class _Ollama(_Dialect):
    def message(self, content: str, with_tools: bool) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if with_tools and self.tool_calls:
            message["tool_calls"] = [{"function": {"name": n, "arguments": a}} for n, a in self.tool_calls]
        return message

    def done(self) -> dict[str, Any]:
        return {"done": True, "done_reason": "stop", "prompt_eval_count": self.usage[0], "eval_count": self.usage[1]}

    def complete(self) -> dict[str, Any]:
        return {"model": self.model, "message": self.message(self.text, True), **self.done()}

    def stream(self, include_usage: bool) -> list[bytes]:
        lines = [{"model": self.model, "message": self.message(w, False), "done": False} for w in _words(self.text)]
        if self.tool_calls:
            lines.append({"model": self.model, "message": self.message("", True), "done": False})
        lines.append({"model": self.model, "message": self.message("", False), **self.done()})
        return [json.dumps(line).encode() + b"\n" for line in lines]


DIALECTS: dict[str, type[_Dialect]] = {
    "openai": _OpenAI,
    "mistral": _Mistral,
    "anthropic": _Anthropic,
    "ollama": _Ollama,
}
