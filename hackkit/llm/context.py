"""Fitting a conversation into a model's context window.

Tokens are estimated (about 4 characters a token, plus a few per message), which errs on the
safe side for English. System messages and the newest message are always kept; the oldest turns
go first, an assistant's tool calls together with their results.
"""

from __future__ import annotations

from hackkit.llm.types import Message, text_of

CHARS_PER_TOKEN = 4
PER_MESSAGE = 4
DEFAULT_REPLY_TOKENS = 1024


def estimate_tokens(messages: list[Message]) -> int:
    total = 0
    for message in messages:
        total += PER_MESSAGE + len(text_of(message)) // CHARS_PER_TOKEN
        for call in message.get("tool_calls") or []:
            total += len(str(call.get("function", {}))) // CHARS_PER_TOKEN
    return total


def fit_messages(messages: list[Message], window: int, reply_tokens: int | None = None) -> list[Message]:
    """The messages, oldest turns dropped until they fit ``window`` minus the reply's room."""
    budget = window - (reply_tokens or min(DEFAULT_REPLY_TOKENS, window // 4))
    if estimate_tokens(messages) <= budget:
        return messages
    system = [m for m in messages if m["role"] == "system"]
    turns = [m for m in messages if m["role"] != "system"]
    while len(turns) > 1 and estimate_tokens(system + turns) > budget:
        turns.pop(0)
        while len(turns) > 1 and turns[0]["role"] == "tool":  # a result without its call is invalid
            turns.pop(0)
    if estimate_tokens(system + turns) > budget and turns:
        room = max(0, budget - estimate_tokens(system) - PER_MESSAGE) * CHARS_PER_TOKEN
        last = turns[-1]
        turns[-1] = {**last, "content": "…" + text_of(last)[-room:] if room else ""}
    return system + turns
