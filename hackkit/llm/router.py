"""Which concrete model answers, and what happens when one fails.

A requested name is resolved through ``[llm.aliases]`` and ``[llm.deployments]`` to an ordered
chain of concrete ``provider/model`` ids, then ``[llm.router] fallbacks``. Each id is tried with
retries (exponential backoff with jitter, or the provider's ``Retry-After``) while the error is
retryable; then the next id in the chain. Any exception a provider raises is a failed attempt,
not only hackkit's own errors, so a crashing plugin falls back like a provider that is down.

Time is bounded twice: each attempt by ``[llm.router] timeout``, the whole call (every retry and
fallback until an answer starts) by ``[llm.router] deadline``. A model that timed out is retried
only when no other model is left to try: a frozen upstream rarely thaws within seconds.

Deployment strategies order the chain: ``round_robin``, ``least_latency`` (a moving average of
each member's own attempts; a failure counts as a slow attempt) or ``cheapest``. Whatever the
strategy, a member that failed in the last ``COOLDOWN_S`` seconds goes to the back of the line.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
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
    DeadlineExceeded,
    HackkitError,
    InvalidRequestError,
    ProviderTimeout,
    UnexpectedProviderError,
    UnknownModelError,
)
from hackkit.llm.prices import price_of
from hackkit.llm.registry import split_model_id

T = TypeVar("T")
LATENCY_WEIGHT = 0.3  # weight of the newest observation in the moving average
COOLDOWN_S = 30.0  # how long a failed member waits at the back of its deployment's line
log = logging.getLogger("hackkit")


@dataclass
class AttemptLoop:
    """One call's walk along the chain, within its deadline.

    ``current`` is the model being tried now (for "still waiting for ..." lines); ``failures``
    holds every failed attempt, in order, for the ledger and for saying why a fallback answered.
    """

    router: Router
    chain: list[str]
    deadline: float  # time.monotonic() by which an answer must have started
    failures: list[Attempt] = field(default_factory=list)
    current: str | None = None
    _tries: int = 0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def timeout(self, requested: float | None) -> float:
        """An attempt's timeout: the requested one, cut to what is left of the deadline."""
        return max(0.001, min(requested or self.router.settings.llm.router.timeout, self.remaining()))

    def failed(self, target: str, error: HackkitError, latency_ms: float = 0.0) -> float | None:
        """Record a failed attempt; seconds to wait before trying ``target`` again, or None to move on."""
        self.failures.append(Attempt(target, error, latency_ms))
        self.router.observe_failure(target, latency_ms)
        if isinstance(error, (InvalidRequestError, ConfigError)) or not getattr(error, "retryable", False):
            return None
        if isinstance(error, ProviderTimeout) and self.chain.index(target) < len(self.chain) - 1:
            return None  # someone else can answer sooner than a frozen upstream
        if self._tries >= self.router.settings.llm.router.max_retries:
            return None
        self._tries += 1
        delay = self.router.delay(self._tries, getattr(error, "retry_after", None))
        return delay if delay is not None and delay < self.remaining() else None

    def _targets(self) -> Iterator[str]:
        for target in self.chain:
            if self.remaining() <= 0:
                self._out_of_time(target)
                return
            self._tries = 0
            self.current = target
            yield target

    def _out_of_time(self, target: str) -> None:
        seconds = self.router.settings.llm.router.deadline
        self.failures.append(
            Attempt(
                target,
                DeadlineExceeded(
                    f"No answer within the call's {seconds:g} s deadline; {target} was not tried.",
                    provider=target.partition("/")[0],
                    hint="raise [llm.router] deadline, lower timeout so a fallback is reached sooner, "
                    "or check the providers with `hackkit doctor`",
                ),
            )
        )

    def _failure(self, target: str, exc: Exception, started: float) -> float | None:
        if not isinstance(exc, HackkitError):
            log.warning("hackkit: %s raised %s", target, type(exc).__name__, exc_info=exc)
            exc = UnexpectedProviderError.wrap(exc, target.partition("/")[0])
        return self.failed(target, exc, (time.perf_counter() - started) * 1000)

    def _succeeded(self, target: str, started: float) -> None:
        self.router.observe(target, (time.perf_counter() - started) * 1000)

    def run(self, attempt: Callable[[str], T]) -> tuple[str, T] | None:
        """Call ``attempt(model_id)`` along the chain until one succeeds; None when all failed."""
        for target in self._targets():
            while True:
                started = time.perf_counter()
                try:
                    result = attempt(target)
                except Exception as exc:  # every failure is an attempt the router handles
                    delay = self._failure(target, exc, started)
                else:
                    self._succeeded(target, started)
                    return target, result
                if delay is None:
                    break
                time.sleep(delay)
        return None

    async def arun(self, attempt: Callable[[str], Awaitable[T]]) -> tuple[str, T] | None:
        """``run`` for coroutines: waits with ``asyncio.sleep``."""
        for target in self._targets():
            while True:
                started = time.perf_counter()
                try:
                    result = await attempt(target)
                except Exception as exc:  # every failure is an attempt the router handles
                    delay = self._failure(target, exc, started)
                else:
                    self._succeeded(target, started)
                    return target, result
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
        self._failed_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._own: dict[str, frozenset[str]] = {}  # a name's own models (settings do not change under a router)
        self._members: dict[str, tuple[str, ...]] = {}

    def resolve(self, name: str, _depth: int = 0, *, order: bool = True) -> list[str]:
        """Concrete ids for a name, in the order to try them, before fallbacks.

        ``order=False`` gives the members without advancing a round robin (for lookups).
        """
        llm = self.settings.llm
        if _depth > 8:
            raise ConfigError(f"Alias {name!r} loops.", hint="check [llm.aliases] in hackkit.toml")
        if name in llm.aliases:
            return self.resolve(llm.aliases[name], _depth + 1, order=order)
        if name in llm.deployments:
            deployment = llm.deployments[name]
            members = self._order(name, deployment.models, deployment.strategy) if order else deployment.models
            return [m for model in members for m in self.resolve(model, _depth + 1, order=order)]
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
        own = self.own(name)
        return [model for model in self.chain(name) if model not in own]

    def own(self, name: str) -> frozenset[str]:
        """The concrete models ``name`` stands for, fallbacks aside."""
        found = self._own.get(name)
        if found is None:
            found = self._own[name] = frozenset(self.resolve(name, order=False))
        return found

    def members(self, name: str) -> tuple[str, ...]:
        """Every model that may answer a call for ``name``, fallbacks included, in no particular order."""
        found = self._members.get(name)
        if found is None:
            found = self._members[name] = tuple(
                dict.fromkeys([*self.resolve(name, order=False), *self.fallbacks(name)])
            )
        return found

    def is_fallback(self, name: str, model_id: str) -> bool:
        """Whether ``model_id`` answering a call for ``name`` is a fallback, not one of its own models."""
        return model_id not in self.own(name)

    def attempts(self, name: str) -> AttemptLoop:
        return AttemptLoop(self, self.chain(name), time.monotonic() + self.settings.llm.router.deadline)

    def delay(self, tries: int, retry_after: float | None) -> float | None:
        config = self.settings.llm.router
        if retry_after is not None:
            return retry_after if retry_after <= config.max_retry_after else None
        base = min(config.max_backoff, config.backoff * 2 ** (tries - 1))
        return base * (0.5 + random.random() / 2)

    def observe(self, model_id: str, latency_ms: float) -> None:
        """One successful attempt of ``model_id`` took ``latency_ms`` (to its first token, for streams)."""
        with self._lock:
            previous = self._latency.get(model_id)
            self._latency[model_id] = (
                latency_ms if previous is None else previous + LATENCY_WEIGHT * (latency_ms - previous)
            )
            self._failed_at.pop(model_id, None)

    def observe_failure(self, model_id: str, latency_ms: float) -> None:
        """A failure counts as an attempt as slow as the timeout, and sends the member to the back."""
        penalty = max(latency_ms, self.settings.llm.router.timeout * 1000)
        with self._lock:
            previous = self._latency.get(model_id, 0.0)
            self._latency[model_id] = previous + LATENCY_WEIGHT * (penalty - previous)
            self._failed_at[model_id] = time.monotonic()

    def cooling_down(self, model_id: str) -> bool:
        failed = self._failed_at.get(model_id)
        return failed is not None and time.monotonic() - failed < COOLDOWN_S

    def _order(self, name: str, models: list[str], strategy: str) -> list[str]:
        if strategy == "cheapest":
            ordered = sorted(models, key=lambda m: sum(price_of(m) or (float("inf"), 0.0)))
        elif strategy == "least_latency":
            ordered = sorted(models, key=lambda m: self._latency.get(m, 0.0))
        else:
            with self._lock:
                start = next(self._counters.setdefault(name, itertools.count())) % len(models)
            ordered = models[start:] + models[:start]
        return sorted(ordered, key=self.cooling_down)  # stable: healthy members keep their order
