"""Ollama's native API (``/api/chat``, newline-delimited JSON streams, ``/api/embed``).

The base URL comes from ``OLLAMA_HOST`` like the ``ollama`` command's, default 127.0.0.1:11434.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from hackkit.llm.providers._http import HTTPProvider, StreamEnd
from hackkit.llm.types import ChatChunk, ChatRequest, ChatResponse, EmbedResponse, Message, ToolCall, Usage, text_of

OPTION_NAMES = {"max_tokens": "num_predict", "max_completion_tokens": "num_predict"}
TOP_LEVEL = ("keep_alive", "think")  # request fields; every other parameter goes into "options"


class OllamaProvider(HTTPProvider):
    key_env = None
    key_required = False
    stream_format = "ndjson"
    chat_path = "/api/chat"
    embed_path = "/api/embed"

    def preset_base_url(self) -> str:
        host = self.settings.env("OLLAMA_HOST") or "127.0.0.1:11434"
        return host if "://" in host else f"http://{host}"

    def chat_payload(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        options = {OPTION_NAMES.get(k, k): v for k, v in request.params.items()}
        payload: dict[str, Any] = {
            "model": request.model,
            "messages": [to_ollama_message(m) for m in request.messages],
            "stream": stream,
        }
        for key in TOP_LEVEL:
            if key in options:
                payload[key] = options.pop(key)
        if options:
            payload["options"] = options
        if request.tools:
            payload["tools"] = request.tools
        if request.response_format:
            schema = request.response_format.get("json_schema", {})
            payload["format"] = schema.get("schema", "json") if schema else "json"
        return payload

    def parse_chat(self, data: dict[str, Any], request: ChatRequest) -> ChatResponse:
        message = data.get("message") or {}
        return ChatResponse(
            text=message.get("content") or "",
            model=data.get("model", request.model),
            provider=self.name,
            tool_calls=_tool_calls(message),
            finish_reason="tool_calls" if message.get("tool_calls") else data.get("done_reason", "stop"),
            usage=Usage(data.get("prompt_eval_count", 0), data.get("eval_count", 0)),
            raw=data,
        )

    def parse_event(self, event: str, data: dict[str, Any], state: dict[str, Any]) -> Iterable[ChatChunk]:
        if "error" in data:
            from hackkit.errors import StreamError

            raise StreamError(f"{self.name} stream failed: {data['error']}", provider=self.name)
        message = data.get("message") or {}
        calls = _tool_calls(message)
        first = state.setdefault("calls", 0)
        state["calls"] = first + len(calls)
        yield ChatChunk(
            text=message.get("content") or "",
            tool_call_deltas=[
                {"index": first + i, "id": c.id, "name": c.name, "arguments": c.arguments} for i, c in enumerate(calls)
            ],
            model=data.get("model"),
        )
        if data.get("done"):
            yield ChatChunk(
                finish_reason="tool_calls" if state["calls"] else data.get("done_reason", "stop"),
                usage=Usage(data.get("prompt_eval_count", 0), data.get("eval_count", 0)),
            )
            raise StreamEnd

    def embed_payload(self, texts: list[str], model: str) -> dict[str, Any]:
        return {"model": model, "input": texts}

    def parse_embed(self, data: dict[str, Any], model: str) -> EmbedResponse:
        return EmbedResponse(
            vectors=data["embeddings"],
            model=data.get("model", model),
            provider=self.name,
            usage=Usage(input_tokens=data.get("prompt_eval_count", 0)),
        )


def to_ollama_message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message["role"], "content": text_of(message)}
    if message.get("tool_calls"):
        out["tool_calls"] = [
            {
                "function": {
                    "name": c["function"]["name"],
                    "arguments": json.loads(c["function"].get("arguments") or "{}"),
                }
            }
            for c in message["tool_calls"]
        ]
    if message.get("name"):
        out["tool_name"] = message["name"]
    return out


def _tool_calls(message: dict[str, Any]) -> list[ToolCall]:
    calls = []
    for i, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function") or {}
        arguments = function.get("arguments", {})
        calls.append(
            ToolCall(
                id=call.get("id") or f"call_{i}",
                name=function.get("name", ""),
                arguments=arguments if isinstance(arguments, str) else json.dumps(arguments),
            )
        )
    return calls
