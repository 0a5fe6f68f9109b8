"""Admission and settlement: the transactions that keep budgets and rate limits exact.

Admission is one transaction that locks the key first (SQLite: ``BEGIN IMMEDIATE`` locks the
database; PostgreSQL: ``SELECT ... FOR UPDATE`` locks the key's row), then checks, in order: the
key exists, is active and not expired; the model is allowed; the sliding 60-second windows of
requests and tokens have room; the budget has room for the request's worst-case cost after every
live reservation. Then it records the request in the window and reserves its worst case. Because
every worker and every machine admits through that lock, budgets and limits hold exactly under any
concurrency. Settlement releases the reservation, charges what the call cost (never more than was
reserved) and writes the log row in the same transaction.

PostgreSQL's store runs the same checks (``decide``) and reserves in one locked call that looks
at the key's row first, after a lock-free read the first time a worker sees a key
(``postgres_admission.py``); when that look finds the room gone, the request is admitted here, in
the transaction above.

A reservation whose request never settled (its worker was killed) expires after its ``ttl``, so a
crash costs a team nothing for longer than that.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from hackkit.server.errors import ApiError, invalid_key
from hackkit.server.store.records import (
    WINDOW_S,
    Admission,
    AdmissionRequest,
    KeyRecord,
    Limits,
    Settlement,
    check_key,
    key_from_row,
    usd,
)
from hackkit.server.store.sql import KEY_COLUMNS, LOG_COLUMNS, SQLBase, log_values

LAPSED_SWEEP_EVERY = 500  # admissions between two sweeps of lapsed reservations
# A key's state: its live reservations and its 60-second window ({key}: whose; then now, since).
STATE = (
    "SELECT (SELECT COALESCE(SUM(amount_nano), 0) FROM reservations WHERE key_id = {key} AND expires_at > ?) "
    "AS reserved, w.n, w.tokens, w.oldest FROM (SELECT COUNT(*) AS n, COALESCE(SUM(tokens), 0) AS tokens, "
    "MIN(at) AS oldest FROM rate_events WHERE key_id = {key} AND at > ?) w"
)


@dataclass
class KeyState:
    """What a key holds at one moment: live reservations and the last 60 seconds' requests and tokens."""

    reserved_nano: int
    requests: int
    tokens: int
    oldest: float | None


@dataclass
class Decision:
    """What admission decided from a key and its state, before anything is written."""

    admission: Admission
    reserve_tokens: int
    windowed: bool  # the key has rpm or tpm: the request goes into its window
    budgeted: bool  # the key has a budget: the worst case is reserved


class AdmissionMixin(SQLBase):
    LAPSED_SWEEP = "DELETE FROM reservations WHERE expires_at <= ?"

    def admit(self, request: AdmissionRequest) -> Admission:
        """Check the key, its limits and its budget, and reserve the worst case, atomically."""
        with self.transaction():
            if request.admin is not None:
                self.lock_name(request.admin.id)
            key = request.admin or _key_from(
                self.one(f"SELECT {KEY_COLUMNS} FROM keys WHERE hash = ?{self.dialect.for_update}", (request.key_hash,))
            )
            state = self._state(key, request)
            with refusals_under(key):
                decision = decide(key, request, state)
            self._record(request, decision)
            return decision.admission

    def _state(self, key: KeyRecord, request: AdmissionRequest) -> KeyState:
        """The locked key's state: what its limits and budget need, in one statement (or none)."""
        if key.rpm is not None or key.tpm is not None:
            return KeyState(*self.one(STATE.format(key="?"), (key.id, request.now, key.id, request.now - WINDOW_S)))
        if request.admin is None and key.budget_nano is not None:
            return KeyState(self._reserved(key.id, request.now), 0, 0, None)
        return KeyState(0, 0, 0, None)

    def _record(self, request: AdmissionRequest, decision: Decision) -> None:
        """Count the request in its key's window and reserve its worst case (inside admission's transaction)."""
        key = decision.admission.key
        if decision.windowed:
            self.execute("DELETE FROM rate_events WHERE key_id = ? AND at <= ?", (key.id, request.now - WINDOW_S))
            self.execute(
                "INSERT INTO rate_events VALUES (?, ?, ?, ?)",
                (request.request_id, key.id, request.now, decision.reserve_tokens),
            )
        if decision.budgeted:
            self._forget_lapsed(request.now)
            self.execute(
                "INSERT INTO reservations VALUES (?, ?, ?, ?)",
                (request.request_id, key.id, decision.admission.reserved_nano, request.now + request.ttl),
            )

    def authenticate(self, key_hash: str, now: float | None = None) -> KeyRecord:
        """The active key with this hash (a read, for routes that admit nothing)."""
        key = _key_from(self.one(f"SELECT {KEY_COLUMNS} FROM keys WHERE hash = ?", (key_hash,)))
        check_key(key, AdmissionRequest("", key_hash, "", 0, None, None, 0, now=now or time.time()))
        return key

    def _forget_lapsed(self, now: float) -> None:
        """Now and then, drop reservations that lapsed (their worker died); they count for nothing already."""
        count = getattr(self._local, "admissions", 0) + 1
        self._local.admissions = count
        if count % LAPSED_SWEEP_EVERY == 1:
            self.execute(self.LAPSED_SWEEP, (now,))

    def settle(self, settlement: Settlement) -> int:
        """Release the reservation, charge the cost (capped at what was reserved) and log; the charge."""
        with self.transaction():
            row = self.one(
                "DELETE FROM reservations WHERE request_id = ? RETURNING amount_nano", (settlement.request_id,)
            )
            charge = settlement.cost_nano if row is None else min(settlement.cost_nano, int(row[0]))
            if charge:
                self.execute("UPDATE keys SET spent_nano = spent_nano + ? WHERE id = ?", (charge, settlement.key_id))
            if settlement.windowed:
                self.execute(
                    "UPDATE rate_events SET tokens = ? WHERE request_id = ?", (settlement.tokens, settlement.request_id)
                )
            self._insert_log({**settlement.log, "cost_nano": charge})
        return charge

    def log(self, row: dict[str, Any]) -> None:
        """A request that never reached admission or an upstream (a refusal, a bad body)."""
        with self.transaction():
            self._insert_log(row)

    def _insert_log(self, row: dict[str, Any]) -> None:
        self.execute(
            f"INSERT INTO requests ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join('?' * len(LOG_COLUMNS))})",
            log_values(row),
        )


def _key_from(row: Sequence[Any] | None) -> KeyRecord:
    if row is None:
        raise invalid_key()
    return key_from_row(row)


def decide(key: KeyRecord, request: AdmissionRequest, state: KeyState) -> Decision:
    """Every check, in order, on a key and its state; a refusal is raised as its ApiError."""
    check_key(key, request)
    reserve_nano, reserve_tokens = request.worst_case(key)
    windowed = key.rpm is not None or key.tpm is not None  # a key without limits keeps no window
    limits = check_windows(key, request, reserve_tokens, state) if windowed else Limits()
    budgeted = request.admin is None and key.budget_nano is not None
    if budgeted:
        check_budget(key, request, reserve_nano, state.reserved_nano)
    admission = Admission(key, limits, request.answer_cap(key), reserve_nano)
    return Decision(admission, reserve_tokens, windowed, budgeted)


@contextlib.contextmanager
def refusals_under(key: KeyRecord) -> Iterator[None]:
    """A refusal raised inside is marked with its key, so it is logged under its team."""
    try:
        yield
    except ApiError as refusal:
        refusal.key = key  # type: ignore[attr-defined]
        raise


def check_windows(key: KeyRecord, request: AdmissionRequest, reserve_tokens: int, state: KeyState) -> Limits:
    """The key's limits once this request counts; 429 when its window has no room for it."""
    count, tokens = state.requests, state.tokens
    reset = (float(state.oldest) + WINDOW_S - request.now) if state.oldest is not None else WINDOW_S
    if key.rpm is not None and count >= key.rpm:
        raise ApiError(
            429,
            f"Rate limit reached: {key.rpm} requests per minute for this key.",
            code="rate_limit_exceeded",
            retry_after=reset,
            hint="wait and retry; ask the organisers for a higher limit if you need one",
        )
    if key.tpm is not None and tokens + reserve_tokens > key.tpm:
        raise ApiError(
            429,
            f"Rate limit reached: {key.tpm} tokens per minute for this key "
            f"({int(tokens)} used, this request may use {reserve_tokens}).",
            code="rate_limit_exceeded",
            retry_after=reset,
            hint="wait and retry, send shorter prompts, or set a lower max_tokens",
            held=True,
        )
    return Limits(
        key.rpm,
        None if key.rpm is None else key.rpm - count - 1,
        key.tpm,
        None if key.tpm is None else max(0, key.tpm - int(tokens) - reserve_tokens),
        max(0.0, reset),
    )


def check_budget(key: KeyRecord, request: AdmissionRequest, reserve_nano: int, reserved: int) -> None:
    """403 for an unpriced model when unpriced calls are refused; 429 when the worst case does not fit."""
    assert key.budget_nano is not None
    if request.price is None and request.refuse_unpriced:
        raise ApiError(
            403,
            f"The model {request.model!r} has no known price, and this key has a budget.",
            code="model_unpriced",
            param="model",
            hint="the organisers can set input_price and output_price for it under [gateway.models]",
        )
    left = key.budget_nano - key.spent_nano - reserved
    if reserve_nano > left:
        held = f", {usd(reserved)} held by requests in flight" if reserved else ""
        raise ApiError(
            429,
            f"This key's budget is spent: {usd(key.spent_nano)} of {usd(key.budget_nano)} used{held}; "
            f"this request may cost up to {usd(reserve_nano)}.",
            code="insufficient_quota",
            type="insufficient_quota",
            hint="ask the organisers for more budget, or set a lower max_tokens",
            held=reserved > 0,
        )
