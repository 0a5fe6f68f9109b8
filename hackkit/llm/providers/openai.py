"""The OpenAI chat-completions wire format, spoken by OpenAI and most of the field.

Presets give a base URL and key variable per service; any other endpoint (LiteLLM, APIPark, a
vLLM server) is ``[llm.providers.NAME] kind = "compatible"`` with its ``base_url``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hackkit.errors import ConfigError
from hackkit.llm.keys import GATEWAY_URL, key_variable
from hackkit.llm.providers._http import HTTPProvider, StreamEnd
from hackkit.llm.types import ChatChunk, ChatRequest, ChatResponse, ToolCall, Usage


@dataclass(frozen=True)
class Preset:
    base_url: str
    key_required: bool = True
    base_url_env: str | None = None


PRESETS: dict[str, Preset] = {
    "openai": Preset("https://api.openai.com/v1", base_url_env="OPENAI_BASE_URL"),
    "mistral": Preset("https://api.mistral.ai/v1", base_url_env="MISTRAL_BASE_URL"),
    "groq": Preset("https://api.groq.com/openai/v1"),
    "together": Preset("https://api.together.xyz/v1"),
    "openrouter": Preset("https://openrouter.ai/api/v1"),
    "deepseek": Preset("https://api.deepseek.com/v1"),
    "vllm": Preset("http://127.0.0.1:8000/v1", key_required=False, base_url_env="VLLM_BASE_URL"),
    "lmstudio": Preset("http://127.0.0.1:1234/v1", key_required=False),
    "gateway": Preset("", base_url_env=GATEWAY_URL),
    "compatible": Preset("", key_required=False),
}

FINISH_REASONS = {"tool_calls": "tool_calls", "function_call": "tool_calls"}


class OpenAICompatibleProvider(HTTPProvider):
    def __init__(self, name: str, settings: Any, config: Any) -> None:
        self.preset = PRESETS.get(config.kind or name, PRESETS["compatible"])
        self.key_env = key_variable(config.kind or name)
        self.key_required = self.preset.key_required or bool(config.api_key_env)
        super().__init__(name, settings, config)

    def preset_base_url(self) -> str:
        from_env = self.settings.env(self.preset.base_url_env) if self.preset.base_url_env else None
        url = from_env or self.preset.base_url
        if not url:
            variable = self.preset.base_url_env or f"[llm.providers.{self.name}] base_url"
            raise ConfigError(
                f"Provider {self.name!r} has no base URL.",
                hint=f"set {variable} (a URL ending in /v1, like OPENAI_BASE_URL)",
            )
        return url

    # -- request ---------------------------------------------------------------------------

    def chat_payload(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": request.model, "messages": request.messages, **request.params}
        if request.tools:
            payload["tools"] = request.tools
        if request.tool_choice is not None:
            payload["tool_choice"] = request.tool_choice
        if request.response_format is not None:
            payload["response_format"] = request.response_format
        if stream:
            payload["stream"] = True
            payload["stream_options"] = {"include_usage": True}
        return payload

    # -- response --------------------------------------------------------------------------

    def parse_chat(self, data: dict[str, Any], request: ChatRequest) -> ChatResponse:
        choice = (data.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        calls = [
            ToolCall(
                id=c.get("id", ""),
                name=c["function"]["name"],
                arguments=c["function"].get("arguments") or "{}",
            )
            for c in message.get("tool_calls") or []
        ]
        return ChatResponse(
            text=message.get("content") or "",
            model=data.get("model", request.model),
            provider=self.name,
            tool_calls=calls,
            finish_reason=_finish(choice.get("finish_reason")),
            usage=_usage(data.get("usage")),
            id=data.get("id"),
            raw=data,
        )

    def parse_event(self, event: str, data: dict[str, Any], state: dict[str, Any]) -> Iterable[ChatChunk]:
        if "error" in data:
            from hackkit.errors import StreamError

            raise StreamError(f"{self.name} stream failed: {self.error_message(data)}", provider=self.name)
        usage = _usage(data["usage"]) if data.get("usage") else None
        for choice in data.get("choices") or []:
            delta = choice.get("delta") or {}
            yield ChatChunk(
                text=delta.get("content") or "",
                tool_call_deltas=[
                    {
                        "index": c.get("index", 0),
                        "id": c.get("id"),
                        "name": (c.get("function") or {}).get("name"),
                        "arguments": (c.get("function") or {}).get("arguments"),
                    }
                    for c in delta.get("tool_calls") or []
                ],
                finish_reason=_finish(choice.get("finish_reason")),
                usage=usage,
                model=data.get("model"),
            )
            usage = None
        if usage is not None:
            yield ChatChunk(usage=usage, model=data.get("model"))
        if data.get("object") == "done":  # some servers mark the end in-band
            raise StreamEnd


def _finish(reason: str | None) -> str | None:
    return FINISH_REASONS.get(reason, reason) if reason else None


def _usage(usage: dict[str, Any] | None) -> Usage:
    usage = usage or {}
    return Usage(input_tokens=usage.get("prompt_tokens") or 0, output_tokens=usage.get("completion_tokens") or 0)
