"""Mistral's API: the OpenAI format with Mistral's differences.

- tool-call ids must be 9 characters ``[a-zA-Z0-9]``: ids from other providers are mapped, stably,
  so an assistant turn and its tool result still match;
- ``seed`` is ``random_seed``; ``tool_choice="required"`` is ``"any"``;
- no ``stream_options``: Mistral reports usage in its last stream chunk on its own.
"""

from __future__ import annotations

import hashlib
import re
import string
from typing import Any

from hackkit.llm.providers.openai import OpenAICompatibleProvider
from hackkit.llm.types import ChatRequest, Message

_VALID_ID = re.compile(r"^[a-zA-Z0-9]{9}$")
_ALPHABET = string.ascii_letters + string.digits


def mistral_tool_id(tool_id: str) -> str:
    """``tool_id`` if Mistral accepts it, else a stable 9-character id derived from it."""
    if _VALID_ID.match(tool_id):
        return tool_id
    number = int.from_bytes(hashlib.sha256(tool_id.encode()).digest()[:8], "big")
    chars = []
    for _ in range(9):
        number, digit = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return "".join(chars)


class MistralProvider(OpenAICompatibleProvider):
    def chat_payload(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        payload = super().chat_payload(request, stream)
        payload.pop("stream_options", None)
        payload["messages"] = [_fix_ids(m) for m in request.messages]
        if "seed" in payload:
            payload["random_seed"] = payload.pop("seed")
        if payload.get("tool_choice") == "required":
            payload["tool_choice"] = "any"
        return payload


def _fix_ids(message: Message) -> Message:
    if message.get("tool_calls"):
        message = {
            **message,
            "tool_calls": [{**c, "id": mistral_tool_id(c.get("id") or "call")} for c in message["tool_calls"]],
        }
    if message.get("tool_call_id"):
        message = {**message, "tool_call_id": mistral_tool_id(message["tool_call_id"])}
    return message
