"""Anthropic's Messages API, translated both ways from the OpenAI message format.

System messages become ``system``; assistant ``tool_calls`` become ``tool_use`` blocks; ``tool``
messages become ``tool_result`` blocks in a user turn. A JSON-schema ``response_format`` is met
by forcing one tool whose input schema is the schema, then returning its input as the text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from hackkit.errors import ServerError
from hackkit.llm.keys import key_variable
from hackkit.llm.providers._http import HTTPProvider, StreamEnd
from hackkit.llm.registry import Provider
from hackkit.llm.types import ChatChunk, ChatRequest, ChatResponse, Message, ToolCall, Usage, text_of

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}
RESPOND_TOOL = "respond"  # the tool that carries structured output


class AnthropicProvider(HTTPProvider):
    default_base_url = "https://api.anthropic.com/v1"
    key_env = key_variable("anthropic")
    chat_path = "/messages"

    # Anthropic has no embeddings endpoint: the base Provider's clear error, not an HTTP 404.
    embed = Provider.embed
    aembed = Provider.aembed

    def auth_headers(self, key: str | None) -> dict[str, str]:
        return {"x-api-key": key or "", "anthropic-version": API_VERSION}

    def chat_payload(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        params = dict(request.params)
        system = "\n\n".join(text_of(m) for m in request.messages if m["role"] == "system")
        payload: dict[str, Any] = {
            "model": request.model,
            "max_tokens": params.pop("max_tokens", None)
            or params.pop("max_completion_tokens", None)
            or DEFAULT_MAX_TOKENS,
            "messages": to_anthropic_messages(request.messages),
        }
        if system:
            payload["system"] = system
        if "stop" in params:
            stop = params.pop("stop")
            payload["stop_sequences"] = [stop] if isinstance(stop, str) else stop
        params.pop("seed", None)  # not supported by Anthropic
        payload.update(params)
        tools = [to_anthropic_tool(t) for t in request.tools or []]
        if request.response_format and request.response_format.get("type") == "json_schema":
            schema = request.response_format["json_schema"]
            tools.append(
                {
                    "name": RESPOND_TOOL,
                    "description": "Give the final answer.",
                    "input_schema": schema.get("schema", schema),
                }
            )
            payload["tool_choice"] = {"type": "tool", "name": RESPOND_TOOL}
        elif request.tool_choice is not None:
            payload["tool_choice"] = to_anthropic_tool_choice(request.tool_choice)
        if tools:
            payload["tools"] = tools
        if stream:
            payload["stream"] = True
        return payload

    def parse_chat(self, data: dict[str, Any], request: ChatRequest) -> ChatResponse:
        texts, calls = [], []
        for block in data.get("content") or []:
            if block.get("type") == "text":
                texts.append(block.get("text", ""))
            elif block.get("type") == "tool_use":
                if block.get("name") == RESPOND_TOOL and request.response_format:
                    texts.append(json.dumps(block.get("input", {})))
                else:
                    calls.append(ToolCall(block["id"], block["name"], json.dumps(block.get("input", {}))))
        usage = data.get("usage") or {}
        reason = STOP_REASONS.get(data.get("stop_reason") or "", data.get("stop_reason"))
        return ChatResponse(
            text="".join(texts),
            model=data.get("model", request.model),
            provider=self.name,
            tool_calls=calls,
            finish_reason="stop" if request.response_format and not calls else reason,
            usage=Usage(usage.get("input_tokens", 0), usage.get("output_tokens", 0)),
            id=data.get("id"),
            raw=data,
        )

    def parse_event(self, event: str, data: dict[str, Any], state: dict[str, Any]) -> Iterable[ChatChunk]:
        kind = data.get("type", event)
        if kind == "message_start":
            message = data.get("message") or {}
            state["input_tokens"] = (message.get("usage") or {}).get("input_tokens", 0)
            yield ChatChunk(model=message.get("model"), usage=Usage(state["input_tokens"], 0))
        elif kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use" and block.get("name") != RESPOND_TOOL:
                yield ChatChunk(
                    tool_call_deltas=[{"index": data.get("index", 0), "id": block.get("id"), "name": block.get("name")}]
                )
            if block.get("name") == RESPOND_TOOL:
                state["respond_index"] = data.get("index")
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta":
                yield ChatChunk(text=delta.get("text", ""))
            elif delta.get("type") == "input_json_delta":
                if data.get("index") == state.get("respond_index"):
                    yield ChatChunk(text=delta.get("partial_json", ""))
                else:
                    yield ChatChunk(
                        tool_call_deltas=[{"index": data.get("index", 0), "arguments": delta.get("partial_json", "")}]
                    )
        elif kind == "message_delta":
            delta, usage = data.get("delta") or {}, data.get("usage") or {}
            reason = delta.get("stop_reason")
            yield ChatChunk(
                finish_reason=STOP_REASONS.get(reason, reason) if reason else None,
                usage=Usage(usage.get("input_tokens") or state.get("input_tokens", 0), usage.get("output_tokens", 0))
                if usage
                else None,
            )
        elif kind == "message_stop":
            raise StreamEnd
        elif kind == "error":
            error = data.get("error") or {}
            raise ServerError(f"{self.name} stream failed: {error.get('message', data)}", provider=self.name)


def to_anthropic_tool(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool.get("function", tool)
    return {
        "name": function["name"],
        "description": function.get("description", ""),
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }


def to_anthropic_tool_choice(choice: Any) -> dict[str, Any]:
    if isinstance(choice, dict):
        return {"type": "tool", "name": choice.get("function", choice)["name"]}
    return {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}.get(
        choice, {"type": "auto"}
    )


def to_anthropic_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """OpenAI-format turns as Anthropic turns: tool results join the user turn that follows."""
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role == "system":
            continue
        if role == "tool":
            block = {"type": "tool_result", "tool_use_id": message.get("tool_call_id", ""), "content": text_of(message)}
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
            continue
        if role == "assistant" and message.get("tool_calls"):
            blocks: list[dict[str, Any]] = [{"type": "text", "text": text_of(message)}] if text_of(message) else []
            for call in message["tool_calls"]:
                function = call["function"]
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call["id"],
                        "name": function["name"],
                        "input": json.loads(function.get("arguments") or "{}"),
                    }
                )
            out.append({"role": "assistant", "content": blocks})
            continue
        content = message.get("content")
        out.append({"role": role, "content": content if isinstance(content, str) else text_of(message)})
    return out
