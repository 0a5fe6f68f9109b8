"""A hackkit workshop gateway: the OpenAI format, plus the gateway's own prices.

``gateway/NAME`` reaches the model a mentor exposed as NAME (``gateway/default`` their default). The
gateway lists, on ``GET /v1/models``, what the team's key may use with its prices, so calls through
it land in the team's ledger with a cost, like calls to a provider in hackkit's price table.
"""

from __future__ import annotations

import threading
from typing import Any

from hackkit.llm.providers.openai import OpenAICompatibleProvider


class GatewayProvider(OpenAICompatibleProvider):
    def __init__(self, name: str, settings: Any, config: Any) -> None:
        super().__init__(name, settings, config)
        self._prices: dict[str, tuple[float, float]] | None = None
        self._prices_lock = threading.Lock()

    def prices(self, model: str) -> tuple[float, float] | None:
        """USD per million (input, output) tokens of ``model`` on this gateway, read once from /v1/models."""
        with self._prices_lock:
            if self._prices is None:
                self._prices = self._read_prices()
        return self._prices.get(model)

    def _read_prices(self) -> dict[str, tuple[float, float]]:
        try:
            response = self.client.get(self._url("/models"), headers=self.headers(), timeout=self._timeout(5.0))
            listed = response.json().get("data", []) if response.status_code == 200 else []
        except Exception:  # prices are a nicety: a call never fails for want of them
            return {}
        found: dict[str, tuple[float, float]] = {}
        for entry in listed:
            pricing = entry.get("pricing") or {}
            if isinstance(pricing.get("input"), (int, float)) and isinstance(pricing.get("output"), (int, float)):
                for name in [entry.get("id"), *(entry.get("aliases") or [])]:
                    if isinstance(name, str):
                        found[name] = (float(pricing["input"]), float(pricing["output"]))
        return found
