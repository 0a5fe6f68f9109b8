"""Which concrete model answers, and what happens when one fails.

A requested name is resolved through ``[llm.aliases]`` and ``[llm.deployments]`` to an ordered
chain of concrete ``provider/model`` ids, then ``[llm.router] fallbacks``. Each id is tried with
retries (exponential backoff with jitter, or the provider's ``Retry-After``) while the error is
retryable; then the next id in the chain. Deployment strategies order the chain:
``round_robin``, ``least_latency`` (a moving average of observed latency) or ``cheapest``.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from hackkit.config import Settings
from hackkit.errors import (
    AllAttemptsFailed,
    Attempt,
    ConfigError,
    HackkitError,
    InvalidRequestError,
    UnknownModelError,
)
from hackkit.llm.prices import price_of
from hackkit.llm.registry import split_model_id

T = TypeVar("T")
LATENCY_WEIGHT = 0.3  # weight of the newest observation in the moving average


@dataclass
class AttemptLoop:
    """One call's walk along the chain; ``failed`` says how long to wait, or None to move on."""

    router: Router
    chain: list[str]
    failures: list[Attempt] = field(default_factory=list)
    _tries: int = 0

    def targets(self) -> Iterator[str]:
        for target in self.chain:
            self._tries = 0
            yield target

    def failed(self, target: str, error: HackkitError, latency_ms: float = 0.0) -> float | None:
        self.failures.append(Attempt(target, error, latency_ms))
        if isinstance(error, (InvalidRequestError, ConfigError)) or not getattr(error, "retryable", False):
            return None
        if self._tries >= self.router.settings.llm.router.max_retries:
            return None
        self._tries += 1
        return self.router.delay(self._tries, getattr(error, "retry_after", None))

    def run(self, attempt: Callable[[str], T]) -> tuple[str, T] | None:
        """Call ``attempt(model_id)`` along the chain until one succeeds; None when all failed."""
        for target in self.targets():
            while True:
                started = time.perf_counter()
                try:
                    return target, attempt(target)
                except HackkitError as exc:
                    delay = self.failed(target, exc, (time.perf_counter() - started) * 1000)
                if delay is None:
                    break
                time.sleep(delay)
        return None

    async def arun(self, attempt: Callable[[str], Awaitable[T]]) -> tuple[str, T] | None:
        """``run`` for coroutines: waits with ``asyncio.sleep``."""
        for target in self.targets():
            while True:
                started = time.perf_counter()
                try:
                    return target, await attempt(target)
                except HackkitError as exc:
                    delay = self.failed(target, exc, (time.perf_counter() - started) * 1000)
                if delay is None:
                    break
                await asyncio.sleep(delay)
        return None

    def exhausted(self) -> HackkitError:
        """The error to raise: the provider's own when only one model was involved."""
        if len({a.model for a in self.failures}) == 1:
            error = self.failures[-1].error
            error.attempts = list(self.failures)  # type: ignore[attr-defined]
            return error
        return AllAttemptsFailed(self.failures)


class Router:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._counters: dict[str, Iterator[int]] = {}
        self._latency: dict[str, float] = {}
        self._lock = threading.Lock()

    def resolve(self, name: str, _depth: int = 0) -> list[str]:
        """Concrete ids for a name, in the order to try them, before fallbacks."""
        llm = self.settings.llm
        if _depth > 8:
            raise ConfigError(f"Alias {name!r} loops.", hint="check [llm.aliases] in hackkit.toml")
        if name in llm.aliases:
            return self.resolve(llm.aliases[name], _depth + 1)
        if name in llm.deployments:
            deployment = llm.deployments[name]
            ordered = self._order(name, deployment.models, deployment.strategy)
            return [m for model in ordered for m in self.resolve(model, _depth + 1)]
        if "/" not in name:
            raise UnknownModelError(
                f"{name!r} is not an alias, a deployment or a provider/model id.",
                hint="write provider/model (mistral/mistral-small-latest, local/smollm2), or define "
                f'[llm.aliases] {name} = "provider/model" in hackkit.toml',
            )
        split_model_id(name)
        return [name]

    def chain(self, name: str) -> list[str]:
        chain = self.resolve(name)
        fallbacks = self.settings.llm.router.fallbacks
        for key in (name, *chain, "*"):
            for fallback in fallbacks.get(key, []):
                chain.extend(self.resolve(fallback))
        return list(dict.fromkeys(chain))

    def fallbacks(self, name: str) -> list[str]:
        """What answers when ``name``'s own models cannot: the chain after them."""
        own = set(self.resolve(name))
        return [model for model in self.chain(name) if model not in own]

    def attempts(self, name: str) -> AttemptLoop:
        return AttemptLoop(self, self.chain(name))

    def delay(self, tries: int, retry_after: float | None) -> float | None:
        config = self.settings.llm.router
        if retry_after is not None:
            return retry_after if retry_after <= config.max_retry_after else None
        base = min(config.max_backoff, config.backoff * 2 ** (tries - 1))
        return base * (0.5 + random.random() / 2)

    def observe(self, model_id: str, latency_ms: float) -> None:
        with self._lock:
            previous = self._latency.get(model_id)
            self._latency[model_id] = (
                latency_ms if previous is None else previous + LATENCY_WEIGHT * (latency_ms - previous)
            )

    def _order(self, name: str, models: list[str], strategy: str) -> list[str]:
        if strategy == "cheapest":
            return sorted(models, key=lambda m: sum(price_of(m) or (float("inf"), 0.0)))
        if strategy == "least_latency":
            return sorted(models, key=lambda m: self._latency.get(m, 0.0))
        with self._lock:
            start = next(self._counters.setdefault(name, itertools.count())) % len(models)
        return models[start:] + models[:start]
