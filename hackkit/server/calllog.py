"""One admitted call's settlement: what it cost, and its row in the request log."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from hackkit.errors import HackkitError
from hackkit.llm.types import ChatResponse, Usage
from hackkit.server.catalog import Exposed
from hackkit.server.errors import ApiError
from hackkit.server.store import KeyRecord, Settlement

if TYPE_CHECKING:
    from hackkit.server.gateway import Caller, Gateway


class CallLog:
    """One admitted call's settlement: what it cost, and its row in the request log."""

    def __init__(
        self,
        gateway: Gateway,
        caller: Caller,
        key: KeyRecord,
        model: Exposed,
        request_id: str,
        started: float,
        *,
        route: str = "chat",
        stream: bool = False,
        prompt: tuple[str, str] | None = None,
    ) -> None:
        self.gateway, self.caller, self.key, self.model = gateway, caller, key, model
        self.request_id, self.started, self.route, self.stream = request_id, started, route, stream
        self.ttft_ms: float | None = None
        self.prompt = prompt  # (name, version) for a call to a prompt endpoint

    def first_token(self) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self.started) * 1000

    def _row(self, status: str, http_status: int, response: ChatResponse | None, **extra: Any) -> dict[str, Any]:
        usage = response.usage if response else Usage()
        return {
            "request_id": self.request_id,
            "ts": time.time(),
            "team": self.key.team,
            "key_id": self.key.id,
            "route": self.route,
            "model_asked": self.model.name,
            "model_used": response.model_id if response else None,
            "provider": response.provider if response else None,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "latency_ms": (time.perf_counter() - self.started) * 1000,
            "ttft_ms": self.ttft_ms,
            "status": status,
            "http_status": http_status,
            "stream": int(self.stream),
            "fallback": int(bool(response and response.fallback)),
            "prompt_name": self.prompt[0] if self.prompt else None,
            "prompt_version": self.prompt[1] if self.prompt else None,
            **extra,
        }

    def _cost(self, response: ChatResponse) -> int:
        price = self.gateway.catalog.price(self.model, response.model_id or None)
        if price is None:
            return 0
        usage = response.usage
        return int(-(-(usage.input_tokens * price[0] + usage.output_tokens * price[1]) * 1000 // 1))

    async def _settle(self, row: dict[str, Any], response: ChatResponse | None) -> None:
        usage = response.usage if response else Usage()
        cost = self._cost(response) if response else 0
        windowed = self.key.rpm is not None or self.key.tpm is not None
        tokens = usage.input_tokens + usage.output_tokens
        settlement = Settlement(self.request_id, self.key.id, cost, tokens, row, windowed)
        await self.gateway.settle(settlement)

    async def settle(self, response: ChatResponse, payload: Any = None) -> None:
        extra = {}
        if payload is not None and self.gateway.config.log_payloads:
            extra["payload"] = _payload(payload, self.gateway.guardrails.stored)
        await self._settle(self._row("ok", 200, response, **extra), response)

    async def failed(self, error: ApiError, cause: HackkitError) -> None:
        row = self._row("error", error.status, None, error_class=type(cause).__name__, error=error.message[:500])
        await self._settle(row, None)

    async def cancelled(self, partial: ChatResponse) -> None:
        """The client left mid-stream: charged for what was seen, logged as cancelled."""
        await self._settle(self._row("cancelled", 499, partial), partial)


def _payload(payload: Any, redact: Any) -> str:
    """The stored prompt and answer: the messages as sent upstream (redacted), the answer redacted too."""
    messages, answer = payload
    return json.dumps({"messages": messages, "answer": redact(answer)}, ensure_ascii=False, default=str)
