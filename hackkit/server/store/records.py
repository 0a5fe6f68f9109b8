"""The values the gateway's store deals in: keys, admissions, settlements, and money in nano-dollars."""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hackkit.server.errors import ApiError, invalid_key

NANO = 1_000_000_000  # nano-dollars per dollar
WINDOW_S = 60.0
KEY_PREFIX = "hk-"


def to_nano(usd: float | None) -> int | None:
    return None if usd is None else math.ceil(round(usd * NANO, 3))


def to_usd(nano: int | None) -> float | None:
    return None if nano is None else nano / NANO


def usd(nano: int) -> str:
    """``$0.000125``: enough digits for a cheap call, none wasted."""
    return "$" + (f"{nano / NANO:.6f}".rstrip("0").rstrip(".") or "0")


def hash_key(secret: str) -> str:
    """Keys are stored as SHA-256: fast enough for every request, and useless to whoever reads the database."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


@dataclass
class KeyRecord:
    id: str
    team: str
    prefix: str
    status: str  # active, revoked, pending (waiting for approval), denied
    budget_nano: int | None = None
    spent_nano: int = 0
    reserved_nano: int = 0
    rpm: int | None = None
    tpm: int | None = None
    max_tokens: int | None = None
    models: list[str] | None = None  # None: every model
    created_at: float = 0.0
    expires_at: float | None = None
    revoked_at: float | None = None
    note: str | None = None
    contact: str | None = None  # who asked, for a key requested from the catalog
    reason: str | None = None  # what they said they need it for
    decision: str | None = None  # the organisers' reason, when they denied it
    decided_at: float | None = None

    @property
    def budget_usd(self) -> float | None:
        return to_usd(self.budget_nano)

    @property
    def spent_usd(self) -> float:
        return self.spent_nano / NANO

    def public(self) -> dict[str, Any]:
        """What `keys list` and `/admin/keys` show: never the secret, never its hash."""
        return {
            "id": self.id,
            "team": self.team,
            "prefix": self.prefix,
            "status": self.status,
            "budget_usd": self.budget_usd,
            "spent_usd": round(self.spent_usd, 9),
            "reserved_usd": round(self.reserved_nano / NANO, 9),
            "rpm": self.rpm,
            "tpm": self.tpm,
            "max_tokens": self.max_tokens,
            "models": self.models,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "note": self.note,
            "contact": self.contact,
            "reason": self.reason,
            "decision": self.decision,
            "decided_at": self.decided_at,
        }


@dataclass
class AdmissionRequest:
    """One request at the door: who, which model, and what it may cost at worst.

    The worst case is ``input_bound`` input tokens (the request body's length in bytes, which no
    tokenizer exceeds) plus the answer's cap: the request's ``max_tokens``, never more than the
    key's. ``price`` is nano-dollars per (input, output) token, or None for an unpriced model.
    """

    request_id: str
    key_hash: str
    model: str  # the gateway name asked for
    input_bound: int
    max_tokens: int | None  # what the request asked for, if anything
    price: tuple[float, float] | None
    ttl: float  # seconds until an unsettled reservation lapses
    default_max_tokens: int = 1024
    refuse_unpriced: bool = True
    approval_required: bool = True  # False: a key still waiting for approval may call this model
    now: float = field(default_factory=time.time)
    admin: KeyRecord | None = None  # the admin key, admitted against its own limits only

    def answer_cap(self, key: KeyRecord) -> int:
        cap = key.max_tokens or self.default_max_tokens
        return min(self.max_tokens, cap) if self.max_tokens else cap

    def worst_case(self, key: KeyRecord) -> tuple[int, int]:
        """(nano-dollars, tokens) this request may cost this key at most."""
        cap = self.answer_cap(key)
        tokens = self.input_bound + cap
        if self.price is None:
            return 0, tokens
        return math.ceil(self.input_bound * self.price[0] + cap * self.price[1]), tokens


@dataclass
class Limits:
    """What the x-ratelimit-* headers say after an admission."""

    rpm: int | None = None
    rpm_left: int | None = None
    tpm: int | None = None
    tpm_left: int | None = None
    reset_s: float = WINDOW_S


@dataclass
class Admission:
    key: KeyRecord
    limits: Limits
    max_tokens: int  # the answer's cap to send upstream
    reserved_nano: int


@dataclass
class Settlement:
    request_id: str
    key_id: str
    cost_nano: int
    tokens: int
    log: dict[str, Any]  # the request log row
    windowed: bool = True  # the key has rpm or tpm, so its window's entry gets the real token count


def key_from_row(row: Sequence[Any], reserved: int = 0) -> KeyRecord:
    """A KeyRecord from a row of ``KEY_COLUMNS``."""
    key_id, team, prefix, status, budget, spent, rpm, tpm, cap, models, created, expires, revoked, note, *rest = row
    return KeyRecord(
        key_id,
        team,
        prefix,
        status,
        None if budget is None else int(budget),
        int(spent),
        reserved,
        rpm,
        tpm,
        cap,
        json.loads(models) if models else None,
        float(created),
        expires,
        revoked,
        note,
        *rest,
    )


def check_key(key: KeyRecord, request: AdmissionRequest) -> None:
    """The key may make this request at all: active (or pending, for an open model), not expired, allowed it."""
    if key.status == "revoked":
        raise invalid_key("This API key was revoked.")
    if key.status == "pending" and (request.approval_required or not request.model):
        raise ApiError(
            403,
            "This key is waiting for approval by the organisers.",
            code="key_pending",
            hint="ask a mentor to approve it; it works as soon as they do",
        )
    if key.status == "denied":
        reason = key.decision or "no reason given"
        raise ApiError(403, f"The organisers denied this key's request: {reason}.", code="key_denied")
    if key.expires_at is not None and request.now >= key.expires_at:
        raise invalid_key("This API key has expired.")
    if request.model and key.models is not None and request.model not in key.models:
        raise ApiError(
            403,
            f"This key may not use the model {request.model!r}; it may use: {', '.join(key.models) or 'none'}.",
            code="model_not_allowed",
            param="model",
        )
