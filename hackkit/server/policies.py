"""Guardrails: ``[gateway.policies]``, off unless configured, run in order on every request.

```toml
[gateway.policies]
deny = [{ pattern = "(?i)ignore (all )?previous instructions", message = "Not here, please." }]
redact = ["email", "phone", "card", "iban"]   # before a request leaves the gateway, and in stored payloads
max_input_tokens = 4000
plugins = ["my-rule"]                         # entry points in the hackkit.policies group
```

The table's order is the order they run in. A ``deny`` rule that matches answers 400 with its
message, before any upstream call; ``redact`` replaces what it finds with ``[email]``, ``[phone]``,
``[card]`` (numbers that pass the Luhn check) or ``[iban]`` (the mod-97 check); ``max_input_tokens``
refuses a longer request. A plugin is any object with a ``name`` and ``check(request)`` that raises
:class:`~hackkit.server.errors.ApiError` to refuse and may change ``request.messages``; its entry
point is a factory called with its options. Every denial lands in the audit log.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hackkit.errors import ConfigError
from hackkit.llm.context import estimate_tokens
from hackkit.llm.types import text_of
from hackkit.server.errors import ApiError

ENTRY_POINT_GROUP = "hackkit.policies"


@dataclass
class PolicyRequest:
    """What a policy sees, and may change: the messages about to go upstream."""

    route: str  # chat, embeddings, prompt
    model: str
    messages: list[dict[str, Any]]
    denied_by: str | None = field(default=None, init=False)


class Policy(Protocol):
    name: str

    def check(self, request: PolicyRequest) -> None: ...


def denial(policy: str, message: str) -> ApiError:
    error = ApiError(400, message, code="policy_denied")
    error.policy = policy  # type: ignore[attr-defined]
    return error


@dataclass
class Deny:
    rules: list[tuple[re.Pattern[str], str]]
    name: str = "deny"

    @classmethod
    def from_config(cls, value: Any) -> Deny:
        if not isinstance(value, list):
            raise ConfigError("[gateway.policies] deny must be a list of {pattern, message}.")
        rules = []
        for n, rule in enumerate(value):
            if not isinstance(rule, dict) or not isinstance(rule.get("pattern"), str):
                raise ConfigError(f"[gateway.policies] deny[{n}] needs a pattern (a regular expression).")
            try:
                pattern = re.compile(rule["pattern"])
            except re.error as exc:
                raise ConfigError(f"[gateway.policies] deny[{n}] is not a valid regular expression: {exc}.") from None
            rules.append((pattern, str(rule.get("message") or "This request is not allowed on this gateway.")))
        return cls(rules)

    def check(self, request: PolicyRequest) -> None:
        for message in request.messages:
            text = text_of(message)
            for pattern, answer in self.rules:
                if pattern.search(text):
                    raise denial(f"deny:{pattern.pattern}", answer)


def luhn(digits: str) -> bool:
    total = 0
    for n, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if n % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"(?<![\w.+-])[+(]?\d[\d ().-]{5,18}\d(?![\w-])")


def phone_like(text: str) -> bool:
    """8 to 12 digits (15 after a +), one separator at a time, and not a date or an IP address."""
    digits = re.sub(r"\D", "", text)
    if not 8 <= len(digits) <= (15 if text.startswith("+") else 12):
        return False
    doubled = re.search(r"[ .-]{2,}", text)
    return not (doubled or re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{1,3}(\.\d{1,3}){3}", text))


def _cards(text: str) -> str:
    return CARD.sub(lambda m: "[card]" if luhn(re.sub(r"\D", "", m.group())) else m.group(), text)


def _ibans(text: str) -> str:
    return IBAN.sub(lambda m: "[iban]" if iban_valid(m.group()) else m.group(), text)


REDACTORS: dict[str, Callable[[str], str]] = {  # cards and IBANs first: a phone pattern would eat their digits
    "card": _cards,
    "iban": _ibans,
    "email": lambda text: EMAIL.sub("[email]", text),
    "phone": lambda text: PHONE.sub(lambda m: "[phone]" if phone_like(m.group()) else m.group(), text),
}


@dataclass
class Redact:
    kinds: list[str]
    name: str = "redact"

    @classmethod
    def from_config(cls, value: Any) -> Redact:
        kinds = [value] if isinstance(value, str) else value
        if not isinstance(kinds, list) or not all(k in REDACTORS for k in kinds):
            raise ConfigError(f"[gateway.policies] redact takes a list of {', '.join(REDACTORS)}.")
        return cls([k for k in REDACTORS if k in kinds])

    def text(self, text: str) -> str:
        for kind in self.kinds:
            text = REDACTORS[kind](text)
        return text

    def check(self, request: PolicyRequest) -> None:
        for message in request.messages:
            content = message.get("content")
            if isinstance(content, str):
                message["content"] = self.text(content)
            elif isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        part["text"] = self.text(part["text"])


@dataclass
class MaxInputTokens:
    limit: int
    name: str = "max_input_tokens"

    def check(self, request: PolicyRequest) -> None:
        tokens = estimate_tokens(request.messages)
        if tokens > self.limit:
            raise denial(
                self.name, f"The request is about {tokens:,} tokens; this gateway takes at most {self.limit:,}."
            )


def _plugins(value: Any) -> list[Policy]:
    from importlib.metadata import entry_points

    found = {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}
    policies = []
    for item in value if isinstance(value, list) else [value]:
        name, options = (item, {}) if isinstance(item, str) else (item.get("name"), dict(item))
        options.pop("name", None)
        if name not in found:
            raise ConfigError(
                f"No guardrail plugin is called {name!r}.",
                hint=f"install its package (it registers a {ENTRY_POINT_GROUP} entry point); found: "
                + (", ".join(sorted(found)) or "none"),
            )
        policies.append(found[name].load()(**options))
    return policies


def build(config: dict[str, Any]) -> list[Policy]:
    """The configured policies, in the table's order."""
    policies: list[Policy] = []
    for name, value in config.items():
        if name == "deny":
            policies.append(Deny.from_config(value))
        elif name == "redact":
            policies.append(Redact.from_config(value))
        elif name == "max_input_tokens":
            if not isinstance(value, int) or value < 1:
                raise ConfigError("[gateway.policies] max_input_tokens must be a positive integer.")
            policies.append(MaxInputTokens(value))
        elif name == "plugins":
            policies.extend(_plugins(value))
        else:
            raise ConfigError(
                f"[gateway.policies] has no policy {name!r}.", hint="use deny, redact, max_input_tokens or plugins"
            )
    return policies


class Guardrails:
    """The policies in order, and the redaction stored payloads get."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.policies = build(config)
        self.redact = next((p for p in self.policies if isinstance(p, Redact)), None)

    def __bool__(self) -> bool:
        return bool(self.policies)

    def apply(self, route: str, model: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run every policy; the (possibly redacted) messages, or an ApiError naming the rule."""
        request = PolicyRequest(route, model, [_copy(m) for m in messages])
        for policy in self.policies:
            policy.check(request)
        return request.messages

    def stored(self, text: str) -> str:
        return self.redact.text(text) if self.redact else text


def _copy(message: dict[str, Any]) -> dict[str, Any]:
    """A copy a policy may change without touching the caller's message (parts included)."""
    content = message.get("content")
    if isinstance(content, list):
        return {**message, "content": [dict(p) if isinstance(p, dict) else p for p in content]}
    return dict(message)
