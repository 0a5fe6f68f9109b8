"""What a call cost, from the price table in ``prices.toml``."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

from hackkit._compat import tomllib
from hackkit.llm.types import Usage

FREE_PROVIDERS = {"local", "ollama", "fake", "lmstudio", "vllm"}


@functools.cache
def price_table() -> dict[str, Any]:
    with resources.files("hackkit.llm").joinpath("prices.toml").open("rb") as handle:
        return tomllib.load(handle)


@functools.lru_cache(maxsize=1024)
def price_of(model_id: str) -> tuple[float, float] | None:
    """(input, output) USD per million tokens, or None when the model is not in the table.

    ``gateway/mistral/x`` and ``openrouter/openai/x`` are priced as the model they name.
    """
    provider, _, name = model_id.partition("/")
    if provider in FREE_PROVIDERS:
        return (0.0, 0.0)
    models: dict[str, list[float]] = price_table()["models"]
    for candidate in (model_id, name):
        match = max((k for k in models if candidate.startswith(k)), key=len, default=None)
        if match is not None:
            return (models[match][0], models[match][1])
    return None


def cost_usd(model_id: str, usage: Usage) -> float | None:
    price = price_of(model_id)
    if price is None:
        return None
    return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1_000_000
