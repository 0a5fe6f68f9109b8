"""OpenAI's chat-completions and embeddings formats, both ways, for the gateway.

Requests are checked here with errors that name the field (``param``), as OpenAI does. Fields
OpenAI accepts and hackkit does not use are ignored, never an error; those that change the answer
(temperature, stop, seed...) go upstream.
"""

from __future__ import annotations

import base64
import math
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from hackkit.llm.types import ChatChunk, ChatResponse, EmbedResponse
from hackkit.server.errors import bad_request

# Parameters every provider takes, and those only OpenAI-format upstreams are given.
COMMON_PARAMS = ("temperature", "top_p", "stop", "seed")
OPENAI_PARAMS = (
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "user",
    "parallel_tool_calls",
    "reasoning_effort",
    "service_tier",
    "metadata",
)
OPENAI_KINDS = {"openai", "compatible", "vllm", "groq", "together", "openrouter", "deepseek", "lmstudio", "gateway"}
ROLES = {"system", "user", "assistant", "tool", "developer"}


@dataclass
class ChatCall:
    model: str
    messages: list[dict[str, Any]]
    stream: bool = False
    include_usage: bool = False
    max_tokens: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    openai_params: dict[str, Any] = field(default_factory=dict)


def parse_chat(body: Any) -> ChatCall:
    """A checked chat request; a 400 naming the field otherwise."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request(
            "`model` is required: the name of a model this gateway exposes (see GET /v1/models).", "model"
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("`messages` must be a non-empty list of messages.", "messages")
    for n, message in enumerate(messages):
        _check_message(n, message)
    if body.get("n") not in (None, 1):
        raise bad_request("This gateway returns one choice per request: leave `n` out or set it to 1.", "n")
    call = ChatCall(
        model=model,
        messages=[_as_hackkit_message(m) for m in messages],
        stream=_boolean(body, "stream"),
        include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
        max_tokens=_max_tokens(body),
        tools=_tools(body),
        tool_choice=body.get("tool_choice"),
        response_format=_response_format(body),
    )
    call.params = {k: body[k] for k in COMMON_PARAMS if body.get(k) is not None}
    call.openai_params = {k: body[k] for k in OPENAI_PARAMS if body.get(k) is not None}
    _check_numbers(call.params)
    return call


def _check_message(n: int, message: Any) -> None:
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        raise bad_request(
            f"messages[{n}] must be an object with a role of {', '.join(sorted(ROLES))}.", f"messages[{n}]"
        )
    content = message.get("content")
    if content is not None and not isinstance(content, (str, list)):
        raise bad_request(f"messages[{n}].content must be a string or a list of parts.", f"messages[{n}].content")
    if content is None and not message.get("tool_calls"):
        raise bad_request(f"messages[{n}] has no content.", f"messages[{n}].content")


def _as_hackkit_message(message: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's message, with ``developer`` read as ``system`` (hackkit's providers know that role)."""
    return {**message, "role": "system"} if message["role"] == "developer" else message


def _boolean(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool) and value is not None:
        raise bad_request(f"`{name}` must be true or false.", name)
    return bool(value)


def _max_tokens(body: dict[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise bad_request(f"`{name}` must be a positive integer.", name)
        return value
    return None


def _tools(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    tools = body.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list) or not all(
        isinstance(t, dict) and isinstance(t.get("function"), dict) and t["function"].get("name") for t in tools
    ):
        raise bad_request("`tools` must be a list of {type: function, function: {name, parameters}}.", "tools")
    return tools or None


def _response_format(body: dict[str, Any]) -> dict[str, Any] | None:
    value = body.get("response_format")
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in ("text", "json_object", "json_schema"):
        raise bad_request("`response_format` must have a type of text, json_object or json_schema.", "response_format")
    return None if value["type"] == "text" else value


def _check_numbers(params: dict[str, Any]) -> None:
    for name in ("temperature", "top_p"):
        value = params.get(name)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
            raise bad_request(f"`{name}` must be a number of at least 0.", name)


def parse_embeddings(body: Any) -> tuple[str, list[str], str]:
    """(model, texts, encoding_format) from an embeddings request."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("`model` is required.", "model")
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise bad_request("`input` must be a string or a non-empty list of strings (token arrays: not yet).", "input")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise bad_request("`encoding_format` must be float or base64.", "encoding_format")
    return model, texts, encoding


# -- responses ------------------------------------------------------------------------------


def usage_body(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }


def tool_calls_body(response: ChatResponse) -> list[dict[str, Any]]:
    return [call.to_message_part() for call in response.tool_calls]


def chat_body(request_id: str, model: str, response: ChatResponse) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": response.text, "refusal": None}
    if response.tool_calls:
        message["tool_calls"] = tool_calls_body(response)
        message["content"] = response.text or None
    return {
        "id": request_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": response.finish_reason or "stop"}],
        "usage": usage_body(response.usage.input_tokens, response.usage.output_tokens),
    }


def chunk_body(request_id: str, model: str, created: int, chunk: ChatChunk, first: bool) -> dict[str, Any] | None:
    """One SSE chunk for a hackkit chunk; None when it carries nothing a client shows."""
    delta: dict[str, Any] = {"role": "assistant", "content": ""} if first else {}
    if chunk.text:
        delta["content"] = chunk.text
    if chunk.tool_call_deltas:
        delta["tool_calls"] = [_tool_delta(d) for d in chunk.tool_call_deltas]
    if not delta and not chunk.finish_reason:
        return None
    return {
        "id": request_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": chunk.finish_reason}],
    }


def _tool_delta(delta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"index": delta.get("index", 0)}
    if delta.get("id"):
        out["id"], out["type"] = delta["id"], "function"
    function = {k: delta[k] for k in ("name", "arguments") if delta.get(k) is not None}
    if function:
        out["function"] = function
    return out


def usage_chunk(request_id: str, model: str, created: int, input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "id": request_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": usage_body(input_tokens, output_tokens),
    }


def embeddings_body(model: str, result: EmbedResponse, encoding: str) -> dict[str, Any]:
    data = [
        {"object": "embedding", "index": n, "embedding": _encode_vector(vector, encoding)}
        for n, vector in enumerate(result.vectors)
    ]
    tokens = result.usage.input_tokens
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _encode_vector(vector: list[float], encoding: str) -> list[float] | str:
    """``base64`` is little-endian float32, what the official SDK asks for by default and decodes."""
    if encoding == "float":
        return [float(x) for x in vector]
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def parse_key_request(body: Any, known: list[str]) -> tuple[str, str, str | None, list[str] | None]:
    """(team, contact, reason, models) from ``POST /v1/key-requests``."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object: {team, contact, reason, models}.")
    team, contact, reason = body.get("team"), body.get("contact"), body.get("reason")
    if not isinstance(team, str) or not team.strip() or len(team) > 200:
        raise bad_request("`team` is required: your team's name (up to 200 characters).", "team")
    if not isinstance(contact, str) or not contact.strip() or len(contact) > 200:
        raise bad_request("`contact` is required: an email or a name the organisers can reach.", "contact")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 2000):
        raise bad_request("`reason` must be text of up to 2,000 characters.", "reason")
    models = body.get("models")
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    if models is not None:
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise bad_request("`models` must be a list of model names.", "models")
        unknown = [m for m in models if m not in known]
        if unknown:
            raise bad_request(f"Unknown models: {', '.join(unknown)}; this gateway has {', '.join(known)}.", "models")
    return team.strip(), contact.strip(), reason, models or None


def prompt_body(request_id: str, version: str, response: ChatResponse) -> dict[str, Any]:
    """A prompt endpoint's answer: the output, the version that wrote it, and its usage."""
    return {
        "output": response.text,
        "prompt_version": version,
        "request_id": request_id,
        "usage": usage_body(response.usage.input_tokens, response.usage.output_tokens),
        "model": response.model_id,
    }


def parse_prompt_call(body: Any) -> tuple[Any, bool]:
    """(variables, stream) from ``POST /v1/prompts/{name}``."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object: {variables, stream}.")
    unknown = set(body) - {"variables", "stream"}
    if unknown:
        raise bad_request(f"Unknown fields: {', '.join(sorted(unknown))}; a prompt call takes variables and stream.")
    return body.get("variables"), _boolean(body, "stream")


def parse_feedback(body: Any) -> tuple[str, float, str | None]:
    """(request_id, score, comment) from ``POST /v1/feedback``."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object: {request_id, score, comment}.")
    request_id, score, comment = body.get("request_id"), body.get("score"), body.get("comment")
    if not isinstance(request_id, str) or not request_id:
        raise bad_request("`request_id` is required: the x-request-id (or request_id) of the call.", "request_id")
    if not isinstance(score, (int, float)) or isinstance(score, bool) or not math.isfinite(score):
        raise bad_request("`score` must be a number (for instance 1 for a good answer, 0 for a bad one).", "score")
    if comment is not None and (not isinstance(comment, str) or len(comment) > 2000):
        raise bad_request("`comment` must be text of up to 2,000 characters.", "comment")
    return request_id, float(score), comment
