"""Every error hackkit raises, each carrying what the user should do next.

The tree::

    HackkitError                 message + hint (the fix), exit code for the CLI
    ├── ConfigError              hackkit.toml / .env / environment is wrong
    │   └── MissingKeyError      a provider key variable is not set
    ├── MissingDependencyError   an optional package is not installed (gives the pip command)
    ├── UnknownModelError        a model id names no provider, alias or deployment
    ├── ClientClosedError        a Client used after close()
    ├── ContextTooLongError      the prompt cannot fit the model's context window
    ├── StreamNotFinished        a stream's full response asked for after it was abandoned
    ├── ProviderError            a provider answered badly or not at all
    │   ├── AuthenticationError  401 / 403
    │   ├── InvalidRequestError  400 / 404 / 422: the request itself is wrong, never retried
    │   ├── RateLimitError       429, with retry_after when the provider sent one
    │   ├── ServerError          5xx
    │   ├── ProviderTimeout      no answer in time
    │   ├── ProviderConnectionError  refused, reset, DNS
    │   ├── StreamError          a stream that could not be parsed
    │   └── UnexpectedProviderError  any other exception a provider raised (a bug, an odd body)
    ├── DeadlineExceeded         the call's overall deadline passed across retries and fallbacks
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


class ClientClosedError(HackkitError):
    def __init__(self) -> None:
        super().__init__(
            "This hackkit Client was closed.",
            hint="create a new Client (or use `with Client() as client:` around every call that needs it)",
        )


class ContextTooLongError(HackkitError):
    exit_code = 2


class StreamNotFinished(HackkitError):
    pass


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


class UnexpectedProviderError(ProviderError):
    """A provider raised something that is not a hackkit error: a bug, or a body it could not read."""

    @classmethod
    def wrap(cls, exc: BaseException, provider: str) -> UnexpectedProviderError:
        error = cls(
            f"{provider or 'the provider'} failed unexpectedly: {type(exc).__name__}: {str(exc)[:300]}",
            provider=provider,
            hint="the endpoint may not speak this wire format (check base_url and kind), or the model could not "
            "load; a fallback under [llm.router] fallbacks answers meanwhile",
        )
        error.__cause__ = exc
        return error


class DeadlineExceeded(ProviderError):
    pass


@dataclass
class Attempt:
    """One try of one model, as the router saw it."""

    model: str
    error: HackkitError
    latency_ms: float = 0.0

    @property
    def reason(self) -> str:
        """Why it failed, in a few words a person can act on."""
        return failure_reason(self.error)


def failure_reason(error: HackkitError) -> str:
    """``MISTRAL_API_KEY is not set``, ``key rejected (HTTP 401)``, ``provider down (...)``..."""
    if isinstance(error, MissingKeyError):
        return f"{error.variable} is not set"
    if isinstance(error, ProviderError):
        if isinstance(error, AuthenticationError):
            return f"key rejected (HTTP {error.status})" if error.status else "key rejected"
        if isinstance(error, (ServerError, ProviderTimeout, ProviderConnectionError, DeadlineExceeded)):
            return f"provider down ({_short(error.message)})"
        if isinstance(error, RateLimitError):
            return "rate limited (HTTP 429)"
    return _short(error.message)


def _short(text: str, limit: int = 120) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class AllAttemptsFailed(HackkitError):
    def __init__(self, attempts: list[Attempt]) -> None:
        lines = [f"  {a.model}: {a.reason}" for a in attempts]
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
