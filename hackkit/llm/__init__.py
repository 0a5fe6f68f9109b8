"""The gateway client: ``chat()`` and ``embed()`` for every provider.

    from hackkit.llm import chat
    print(chat("Name three uses of a rubber duck"))
    for piece in chat("Tell a story", stream=True):
        print(piece, end="")

Module-level functions use a default :class:`Client` built from the project's settings on first
use; :func:`configure` replaces it (``configure(llm__model="fake/echo")``).
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hackkit.llm.client import Client
    from hackkit.llm.prompts import Prompt, RenderedPrompt, load_prompt
    from hackkit.llm.registry import Provider, register_provider
    from hackkit.llm.streams import AsyncChatStream, ChatStream
    from hackkit.llm.tools import function_schema
    from hackkit.llm.types import ChatChunk, ChatRequest, ChatResponse, EmbedResponse, Message, ToolCall, Usage

__all__ = [
    "AsyncChatStream",
    "ChatChunk",
    "ChatRequest",
    "ChatResponse",
    "ChatStream",
    "Client",
    "EmbedResponse",
    "Message",
    "Prompt",
    "Provider",
    "RenderedPrompt",
    "ToolCall",
    "Usage",
    "achat",
    "aembed",
    "chat",
    "configure",
    "default_client",
    "embed",
    "function_schema",
    "load_prompt",
    "prompt",
    "register_provider",
    "run_tools",
]

_HOMES = {
    "Client": "client",
    "Prompt": "prompts",
    "RenderedPrompt": "prompts",
    "load_prompt": "prompts",
    "Provider": "registry",
    "register_provider": "registry",
    "AsyncChatStream": "streams",
    "ChatStream": "streams",
    "function_schema": "tools",
    **dict.fromkeys(
        ["ChatChunk", "ChatRequest", "ChatResponse", "EmbedResponse", "Message", "ToolCall", "Usage"], "types"
    ),
}


def __getattr__(name: str) -> Any:
    """Names from the submodules, imported on first use: the client loads the settings (pydantic, 0.1 s),
    which ``hackkit new`` and anything that needs only ``hackkit.llm.keys`` never pay."""
    if name in _HOMES:
        return getattr(importlib.import_module(f"hackkit.llm.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'hackkit.llm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


_default: Client | None = None
_lock = threading.Lock()


def default_client() -> Client:
    global _default
    with _lock:
        if _default is None:
            from hackkit.llm.client import Client

            _default = Client()
        return _default


def configure(**overrides: Any) -> Client:
    """Rebuild the default client from fresh settings plus ``overrides``."""
    global _default
    with _lock:
        if _default is not None:
            _default.close()
        from hackkit.llm.client import Client

        _default = Client(**overrides)
        return _default


def chat(messages: Any, model: str | None = None, **kwargs: Any) -> Any:
    return default_client().chat(messages, model, **kwargs)


async def achat(messages: Any, model: str | None = None, **kwargs: Any) -> Any:
    return await default_client().achat(messages, model, **kwargs)


def embed(texts: str | list[str], model: str | None = None) -> EmbedResponse:
    return default_client().embed(texts, model)


async def aembed(texts: str | list[str], model: str | None = None) -> EmbedResponse:
    return await default_client().aembed(texts, model)


def run_tools(messages: Any, functions: list[Any], model: str | None = None, **kwargs: Any) -> ChatResponse:
    return default_client().run_tools(messages, functions, model, **kwargs)


def prompt(spec: str, **variables: Any) -> RenderedPrompt:
    """Load ``prompts/NAME.md`` (or ``NAME@VERSION``) and fill it in, ready for ``chat()``."""
    from hackkit.llm.prompts import load_prompt

    settings = default_client().settings
    return load_prompt(spec, settings.resolve_path(settings.llm.prompts_dir)).render(**variables)
