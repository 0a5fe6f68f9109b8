"""Admission and settlement: the transactions that keep budgets and rate limits exact.

Admission is one transaction that locks the key first (SQLite: ``BEGIN IMMEDIATE`` locks the
database; PostgreSQL: ``SELECT ... FOR UPDATE`` locks the key's row), then checks, in order: the
key exists, is active and not expired; the model is allowed; the sliding 60-second windows of
requests and tokens have room; the budget has room for the request's worst-case cost after every
live reservation. Then it records the request in the window and reserves its worst case. Because
every worker and every machine admits through that lock, budgets and limits hold exactly under any
concurrency. Settlement releases the reservation, charges what the call cost (never more than was
reserved) and writes the log row in the same transaction.

A reservation whose request never settled (its worker was killed) expires after its ``ttl``, so a
crash costs a team nothing for longer than that.
"""

from __future__ import annotations

import time
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
from hackkit.server.store.sql import KEY_COLUMNS, LOG_COLUMNS, SQLBase

LAPSED_SWEEP_EVERY = 500  # admissions between two sweeps of lapsed reservations


class AdmissionMixin(SQLBase):
    def admit(self, request: AdmissionRequest) -> Admission:
        """Check the key, its limits and its budget, and reserve the worst case, atomically."""
        with self.transaction():
            if request.admin is not None:
                self.lock_name(request.admin.id)
            key = request.admin or self._locked_key(request.key_hash)
            try:
                return self._admit(key, request)
            except ApiError as refusal:
                refusal.key = key  # type: ignore[attr-defined]  # so the refusal is logged under its team
                raise

    def _admit(self, key: KeyRecord, request: AdmissionRequest) -> Admission:
        """The checks and the reservation, inside admit's transaction."""
        check_key(key, request)
        reserve_nano, reserve_tokens = request.worst_case(key)
        limits = Limits()
        if key.rpm is not None or key.tpm is not None:  # a key without limits keeps no window: nothing to count
            limits = self._check_windows(key, request, reserve_tokens)
            self.execute(
                "INSERT INTO rate_events VALUES (?, ?, ?, ?)", (request.request_id, key.id, request.now, reserve_tokens)
            )
        if request.admin is None and key.budget_nano is not None:
            self._check_budget(key, request, reserve_nano)
            self.execute(
                "INSERT INTO reservations VALUES (?, ?, ?, ?)",
                (request.request_id, key.id, reserve_nano, request.now + request.ttl),
            )
        return Admission(key, limits, request.answer_cap(key), reserve_nano)

    def authenticate(self, key_hash: str, now: float | None = None) -> KeyRecord:
        """The active key with this hash (a read, for routes that admit nothing)."""
        row = self.one(f"SELECT {KEY_COLUMNS} FROM keys WHERE hash = ?", (key_hash,))
        if row is None:
            raise invalid_key()
        key = key_from_row(row)
        check_key(key, AdmissionRequest("", key_hash, "", 0, None, None, 0, now=now or time.time()))
        return key

    def _locked_key(self, key_hash: str) -> KeyRecord:
        row = self.one(f"SELECT {KEY_COLUMNS} FROM keys WHERE hash = ?{self.dialect.for_update}", (key_hash,))
        if row is None:
            raise invalid_key()
        return key_from_row(row)

    def _check_windows(self, key: KeyRecord, request: AdmissionRequest, reserve_tokens: int) -> Limits:
        since = request.now - WINDOW_S
        self.execute("DELETE FROM rate_events WHERE key_id = ? AND at <= ?", (key.id, since))
        count, tokens, oldest = self.one(
            "SELECT COUNT(*), COALESCE(SUM(tokens), 0), MIN(at) FROM rate_events WHERE key_id = ? AND at > ?",
            (key.id, since),
        )
        reset = (float(oldest) + WINDOW_S - request.now) if oldest is not None else WINDOW_S
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
            )
        return Limits(
            key.rpm,
            None if key.rpm is None else key.rpm - count - 1,
            key.tpm,
            None if key.tpm is None else max(0, key.tpm - int(tokens) - reserve_tokens),
            max(0.0, reset),
        )

    def _check_budget(self, key: KeyRecord, request: AdmissionRequest, reserve_nano: int) -> None:
        if key.budget_nano is None:
            return
        if request.price is None and request.refuse_unpriced:
            raise ApiError(
                403,
                f"The model {request.model!r} has no known price, and this key has a budget.",
                code="model_unpriced",
                param="model",
                hint="the organisers can set input_price and output_price for it under [gateway.models]",
            )
        self._forget_lapsed(request.now)
        reserved = self._reserved(key.id, request.now)
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
            )

    def _forget_lapsed(self, now: float) -> None:
        """Now and then, drop reservations that lapsed (their worker died); they count for nothing already."""
        count = getattr(self._local, "admissions", 0) + 1
        self._local.admissions = count
        if count % LAPSED_SWEEP_EVERY == 1:
            self.execute("DELETE FROM reservations WHERE expires_at <= ?", (now,))

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
        values = [row.get(column, 0 if column in ("stream", "fallback") else None) for column in LOG_COLUMNS]
        self.execute(
            f"INSERT INTO requests ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join('?' * len(LOG_COLUMNS))})", values
        )
