"""Every error hackkit raises, each carrying what the user should do next.

The tree::

    HackkitError                 message + hint (the fix), exit code for the CLI
    ├── ConfigError              hackkit.toml / .env / environment is wrong
    │   └── MissingKeyError      a provider key variable is not set
    ├── MissingDependencyError   an optional package is not installed (gives the pip command)
    ├── UnknownModelError        a model id names no provider, alias or deployment
    ├── ProviderError            a provider answered badly or not at all
    │   ├── AuthenticationError  401 / 403
    │   ├── InvalidRequestError  400 / 404 / 422: the request itself is wrong, never retried
    │   ├── RateLimitError       429, with retry_after when the provider sent one
    │   ├── ServerError          5xx
    │   ├── ProviderTimeout      no answer in time
    │   ├── ProviderConnectionError  refused, reset, DNS
    │   └── StreamError          a stream that could not be parsed
    └── AllAttemptsFailed        the router ran out of retries and fallbacks
"""

from __future__ import annotations

from dataclasses import dataclass


class HackkitError(Exception):
    """Root of every hackkit error. ``hint`` says what to do about it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message


class ConfigError(HackkitError):
    exit_code = 2


class MissingKeyError(ConfigError):
    def __init__(self, variable: str, provider: str) -> None:
        super().__init__(
            f"{provider} needs an API key in ${variable}, and it is not set.",
            hint=f"export {variable}=... (or add `{variable}=...` to the project's .env file)",
        )
        self.variable = variable
        self.provider = provider


class MissingDependencyError(HackkitError):
    def __init__(self, what: str, install: str) -> None:
        super().__init__(f"{what} is not installed.", hint=install)
        self.install = install


class UnknownModelError(HackkitError):
    exit_code = 2


class ProviderError(HackkitError):
    """A provider failed. ``retryable`` tells the router whether trying again can help."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.provider = provider
        self.status = status
        self.retry_after = retry_after


class AuthenticationError(ProviderError):
    pass


class InvalidRequestError(ProviderError):
    pass


class RateLimitError(ProviderError):
    retryable = True


class ServerError(ProviderError):
    retryable = True


class ProviderTimeout(ProviderError):
    retryable = True


class ProviderConnectionError(ProviderError):
    retryable = True


class StreamError(ProviderError):
    retryable = True


@dataclass
class Attempt:
    """One try of one model, as the router saw it."""

    model: str
    error: HackkitError
    latency_ms: float = 0.0


class AllAttemptsFailed(HackkitError):
    def __init__(self, attempts: list[Attempt]) -> None:
        lines = [f"  {a.model}: {a.error.message}" for a in attempts]
        last = attempts[-1].error if attempts else None
        super().__init__(
            f"Every attempt failed ({len(attempts)}):\n" + "\n".join(lines),
            hint=(
                last.hint
                if last and last.hint
                else "check `hackkit doctor`, or add a fallback under [llm.router] fallbacks in hackkit.toml"
            ),
        )
        self.attempts = attempts

    @property
    def last_error(self) -> HackkitError | None:
        return self.attempts[-1].error if self.attempts else None


def error_for_status(status: int) -> type[ProviderError]:
    """The ProviderError subclass an HTTP status maps to."""
    if status in (401, 403):
        return AuthenticationError
    if status == 429:
        return RateLimitError
    if status in (408, 409) or status >= 500:
        return ServerError if status >= 500 else ProviderTimeout
    return InvalidRequestError
