"""Providers, and the registry that finds them by name.

A provider turns a :class:`ChatRequest` into one backend's calls. Built-in providers are listed in
``BUILTIN`` by import path (so importing hackkit imports none of them); third-party packages add
theirs through the ``hackkit.providers`` entry-point group, and code can call
:func:`register_provider`. Built-ins and plugins go through the same lookup.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from hackkit.errors import InvalidRequestError, UnknownModelError

if TYPE_CHECKING:
    from hackkit.config import ProviderConfig, Settings
    from hackkit.llm.types import ChatChunk, ChatRequest, ChatResponse, EmbedResponse

ENTRY_POINT_GROUP = "hackkit.providers"

_OPENAI = "hackkit.llm.providers.openai:OpenAICompatibleProvider"
BUILTIN: dict[str, str] = {
    "openai": _OPENAI,
    "groq": _OPENAI,
    "together": _OPENAI,
    "openrouter": _OPENAI,
    "deepseek": _OPENAI,
    "vllm": _OPENAI,
    "lmstudio": _OPENAI,
    "gateway": "hackkit.llm.providers.gateway:GatewayProvider",
    "compatible": _OPENAI,
    "mistral": "hackkit.llm.providers.mistral:MistralProvider",
    "anthropic": "hackkit.llm.providers.anthropic:AnthropicProvider",
    "ollama": "hackkit.llm.providers.ollama:OllamaProvider",
    "local": "hackkit.llm.providers.local:LocalProvider",
    "fake": "hackkit.testing:FakeProvider",
}

ProviderFactory = Callable[..., "Provider"]
_registered: dict[str, ProviderFactory] = {}


class Provider:
    """Base class: override ``chat`` and ``stream``; async and embeddings have defaults.

    ``structured_output`` says whether the provider takes a JSON-schema ``response_format`` itself;
    when it does not, the client asks for the schema in a system message instead.
    """

    structured_output = False

    def __init__(self, name: str, settings: Settings, config: ProviderConfig) -> None:
        self.name = name
        self.settings = settings
        self.config = config

    def chat(self, request: ChatRequest) -> ChatResponse:
        raise NotImplementedError

    def stream(self, request: ChatRequest) -> Iterator[ChatChunk]:
        raise NotImplementedError

    async def achat(self, request: ChatRequest) -> ChatResponse:
        return await asyncio.to_thread(self.chat, request)

    async def astream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Runs the sync stream in a thread and hands its chunks to the event loop."""
        iterator = self.stream(request)
        done = object()
        while True:
            chunk = await asyncio.to_thread(next, iterator, done)
            if chunk is done:
                return
            yield chunk  # type: ignore[misc]

    def embed(self, texts: list[str], model: str) -> EmbedResponse:
        raise InvalidRequestError(
            f"{self.name} has no embeddings endpoint.",
            provider=self.name,
            hint="pick an embedding model from another provider, e.g. openai/text-embedding-3-small",
        )

    async def aembed(self, texts: list[str], model: str) -> EmbedResponse:
        return await asyncio.to_thread(self.embed, texts, model)

    def context_window(self, model: str) -> int:
        from hackkit.llm.context import known_context_window

        return self.config.context_window or known_context_window(self.name, model, self.config.kind)

    def close(self) -> None:
        """Release connections and models."""

    async def aclose(self) -> None:
        """``close`` from async code."""
        self.close()

    def prices(self, model: str) -> tuple[float, float] | None:
        """USD per million (input, output) tokens when the provider knows them (a gateway does); else the table."""
        return None

    def use_async_transport(self, transport: Any) -> None:
        """Send async HTTP requests through ``transport``; providers that send none ignore it."""


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make ``name/...`` model ids use ``factory(name, settings, config)``."""
    _registered[name] = factory


def provider_factory(kind: str) -> ProviderFactory:
    if kind in _registered:
        return _registered[kind]
    if kind in BUILTIN:
        module, _, attr = BUILTIN[kind].partition(":")
        factory: ProviderFactory = getattr(importlib.import_module(module), attr)
        return factory
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == kind:
            loaded: ProviderFactory = entry.load()
            _registered[kind] = loaded
            return loaded
    raise UnknownModelError(
        f"No provider is called {kind!r}.",
        hint=f"use one of {', '.join(sorted(available_providers()))}, declare it under "
        f"[llm.providers.{kind}] in hackkit.toml, or install its plugin",
    )


def available_providers() -> set[str]:
    return set(BUILTIN) | set(_registered) | {e.name for e in entry_points(group=ENTRY_POINT_GROUP)}


class ProviderPool:
    """One instance per provider name for a set of settings, built on first use."""

    def __init__(self, settings: Settings, async_transport: Any = None) -> None:
        self.settings = settings
        self.async_transport = async_transport  # None: each provider's default (httpx)
        self._instances: dict[str, Provider] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Provider:
        provider = self._instances.get(name)
        if provider is not None:
            return provider
        with self._lock:
            if name not in self._instances:
                from hackkit.config import ProviderConfig

                config = self.settings.llm.providers.get(name) or ProviderConfig()
                factory = provider_factory(config.kind or name)
                provider = factory(name, self.settings, config)
                if self.async_transport is not None:
                    provider.use_async_transport(self.async_transport)
                self._instances[name] = provider
            return self._instances[name]

    def close(self) -> None:
        with self._lock:
            providers, self._instances = list(self._instances.values()), {}
        for provider in providers:
            provider.close()

    async def aclose(self) -> None:
        with self._lock:
            providers, self._instances = list(self._instances.values()), {}
        for provider in providers:
            await provider.aclose()


def split_model_id(model_id: str) -> tuple[str, str]:
    """``"openrouter/meta-llama/x"`` -> ``("openrouter", "meta-llama/x")``; split at the first /.

    Both halves must be there and printable: ``mistral/`` or ``/x`` is refused here, where a model
    id enters, rather than sent upstream as an empty name. ``local//abs/path`` keeps its slash.
    """
    provider, sep, name = model_id.partition("/")
    if not sep or not provider:
        raise UnknownModelError(
            f"Model id {model_id!r} has no provider.",
            hint="write it as provider/model, e.g. mistral/mistral-small-latest or local/smollm2, "
            "or define it under [llm.aliases] in hackkit.toml",
        )
    if not name.strip("/ ") or not _printable(model_id):
        raise UnknownModelError(
            f"Model id {model_id!r} has no model name after {provider + '/'!r}."
            if not name.strip("/ ")
            else f"Model id {model_id!r} holds spaces or control characters.",
            hint=f"write {provider}/MODEL, e.g. mistral/mistral-small-latest",
        )
    return provider, name


def _printable(text: str) -> bool:
    return text.isprintable() and text == text.strip() and " " not in text.partition("/")[0]
