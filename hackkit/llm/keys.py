"""The one table of hosted providers' key variables, and every variable hackkit reads.

The client's default model, the providers' presets, ``hackkit doctor`` and the tests all read
this table, so a new provider's key is added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderKey:
    provider: str
    variable: str
    chat_model: str | None = None  # the default model when this is the first key set
    embedding_model: str | None = None  # the default embedding model, likewise


# In order of preference for the default model.
PROVIDER_KEYS: tuple[ProviderKey, ...] = (
    ProviderKey("mistral", "MISTRAL_API_KEY", "mistral/mistral-small-latest", "mistral/mistral-embed"),
    ProviderKey("openai", "OPENAI_API_KEY", "openai/gpt-4o-mini", "openai/text-embedding-3-small"),
    ProviderKey("anthropic", "ANTHROPIC_API_KEY", "anthropic/claude-haiku-4-5"),
    ProviderKey("groq", "GROQ_API_KEY"),
    ProviderKey("together", "TOGETHER_API_KEY"),
    ProviderKey("openrouter", "OPENROUTER_API_KEY"),
    ProviderKey("deepseek", "DEEPSEEK_API_KEY"),
    ProviderKey("gateway", "HACKKIT_GATEWAY_KEY"),
    ProviderKey("vllm", "VLLM_API_KEY"),  # optional: a local vLLM answers without one
)
GATEWAY_URL = "HACKKIT_GATEWAY_URL"
# Variables that say where a provider is, beside its key.
BASE_URL_VARIABLES = ("OPENAI_BASE_URL", "MISTRAL_BASE_URL", "VLLM_BASE_URL", GATEWAY_URL, "OLLAMA_HOST")


def key_of(provider: str) -> ProviderKey | None:
    return next((key for key in PROVIDER_KEYS if key.provider == provider), None)


def key_variable(provider: str) -> str | None:
    key = key_of(provider)
    return key.variable if key else None


def environment_variables() -> list[str]:
    """Every variable that changes what hackkit does: keys, base URLs and ``HACKKIT_*`` settings."""
    from hackkit.config import ENV_SETTINGS

    return [*(key.variable for key in PROVIDER_KEYS), *BASE_URL_VARIABLES, *ENV_SETTINGS]
