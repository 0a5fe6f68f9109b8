"""Fitting a conversation into a model's context window.

Tokens are estimated (about 4 characters a token, plus a few per message), which errs on the
safe side for English. System messages and the newest message are always kept whole; the oldest
turns go first, an assistant's tool calls together with their results. When even that leaves too
little room for the answer, the answer is capped; when no useful room is left at all, the call
fails with :class:`ContextTooLongError` saying what to lower. A message is never cut or emptied.

Context windows come from the table below (the providers' model pages), longest prefix first;
``[llm.providers.NAME] context_window`` overrides it.
"""

from __future__ import annotations

import functools

from hackkit.errors import ContextTooLongError
from hackkit.llm.types import Message, text_of

CHARS_PER_TOKEN = 4
PER_MESSAGE = 4
DEFAULT_REPLY_TOKENS = 1024
MIN_REPLY_TOKENS = 64  # below this an answer is not worth asking for

# Tokens, by provider/model prefix. Dated snapshots (claude-sonnet-4-5-20250929) match their prefix.
CONTEXT_WINDOWS: dict[str, int] = {
    "mistral/mistral-large": 128_000,
    "mistral/mistral-medium": 128_000,
    "mistral/mistral-small": 128_000,
    "mistral/magistral": 40_000,
    "mistral/codestral": 256_000,
    "mistral/devstral": 128_000,
    "mistral/ministral": 128_000,
    "mistral/open-mistral-nemo": 128_000,
    "mistral/pixtral": 128_000,
    "openai/gpt-5": 400_000,
    "openai/gpt-4.1": 1_047_576,
    "openai/gpt-4o": 128_000,
    "openai/gpt-4-turbo": 128_000,
    "openai/gpt-3.5-turbo": 16_385,
    "openai/o1": 200_000,
    "openai/o3": 200_000,
    "openai/o4-mini": 200_000,
    "anthropic/claude": 200_000,
    "deepseek/deepseek": 128_000,
    "groq/llama-3.1": 131_072,
    "groq/llama-3.3": 131_072,
}
# A model missing from the table: the provider's usual window, else a small one, so nothing is cut upstream.
PROVIDER_WINDOWS: dict[str, int] = {
    "mistral": 32_000,
    "openai": 128_000,
    "anthropic": 200_000,
    "ollama": 4_096,  # Ollama's default num_ctx: it silently drops what does not fit
    "local": 2_048,
}
UNKNOWN_WINDOW = 8_192


@functools.lru_cache(maxsize=512)
def known_context_window(provider: str, model: str, kind: str | None = None) -> int:
    """The context window of ``provider/model`` (``kind`` is the provider's implementation name)."""
    for candidate in (f"{provider}/{model}", f"{kind}/{model}" if kind else "", model):
        match = max((key for key in CONTEXT_WINDOWS if candidate and candidate.startswith(key)), key=len, default=None)
        if match is not None:
            return CONTEXT_WINDOWS[match]
    return PROVIDER_WINDOWS.get(kind or provider, PROVIDER_WINDOWS.get(provider, UNKNOWN_WINDOW))


def estimate_tokens(messages: list[Message]) -> int:
    total = 0
    for message in messages:
        total += PER_MESSAGE + len(text_of(message)) // CHARS_PER_TOKEN
        for call in message.get("tool_calls") or []:
            total += len(str(call.get("function", {}))) // CHARS_PER_TOKEN
    return total


def fit_messages(
    messages: list[Message], window: int, reply_tokens: int | None = None, *, model: str = "the model"
) -> tuple[list[Message], int | None]:
    """The messages that fit ``window`` with room for the reply, and a lower reply cap when one is needed.

    Returns ``(messages, None)`` when the reply fits as asked, ``(messages, cap)`` when the answer
    must be capped at ``cap`` tokens; raises :class:`ContextTooLongError` when fewer than
    ``MIN_REPLY_TOKENS`` would be left.
    """
    reply = reply_tokens or min(DEFAULT_REPLY_TOKENS, window // 4)
    if estimate_tokens(messages) + reply <= window:
        return messages, None
    system = [m for m in messages if m["role"] == "system"]
    turns = [m for m in messages if m["role"] != "system"]
    while len(turns) > 1 and estimate_tokens(system + turns) + reply > window:
        turns.pop(0)
        while len(turns) > 1 and turns[0]["role"] == "tool":  # a result without its call is invalid
            turns.pop(0)
    kept = system + turns
    used = estimate_tokens(kept)
    if used + reply <= window:
        return kept, None
    room = window - used
    if room >= MIN_REPLY_TOKENS:
        return kept, room
    raise ContextTooLongError(
        f"The prompt is about {used:,} tokens, and {model} reads at most {window:,}: "
        f"no room is left for an answer{f' of {reply_tokens:,} tokens' if reply_tokens else ''}.",
        hint="shorten the message or the system prompt, lower max_tokens, or use a model with a larger "
        "context window (set [llm.providers.NAME] context_window if hackkit's table is wrong)",
    )
