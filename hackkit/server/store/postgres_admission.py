"""PostgreSQL's request path: admission in one statement for a key the worker knows, settlement in one.

A request costs two statements, each its own transaction (the first version sent ten, the second
three), and only the first before its answer ends:

1. ``hackkit_admit_known`` (migration 005), for a key this worker admitted before: it finds the
   key by its hash under its row lock and reserves only when the key's settings are still those
   the worker read (a rotated secret finds no row; a revoked, expired or re-limited key differs)
   and the window and the budget, as they are under the lock, have room. It returns the window's
   counts for the x-ratelimit headers. When it reserves nothing, the request goes the long way:
2. the long way (a key's first request in a worker, or the first after a change): admission's
   read, the key, its settings' fingerprint and its state (live reservations, the 60-second
   window) in one snapshot, where the checks (``decide``, shared with SQLite) run, so a refusal
   from it is exact; then ``hackkit_admit`` (migration 004), which under the key's row lock looks
   at the window and the budget again and reserves. When the key's settings changed or the room
   went since the read, it reserves nothing and the request is admitted again the common way,
   under the lock from the start (``AdmissionMixin.admit``), which decides afresh;
3. settlement, after the answer, from the worker's journal (``journal.py``): ``hackkit_settle_many``
   (migration 006) releases the reservations, charges what the calls cost (at most what was
   reserved), counts their tokens and writes their log rows, many requests in one call under load.
   ``settle`` (one statement, data-modifying CTEs) does the same for one request before its
   answer ends, when the journal cannot be written.

What a worker remembers of a key is only a shortcut to that one call: nothing it holds can admit a
request the database would refuse, so a change on any machine applies to the next request.

The gateway calls these from the store's threads, as before: an async connection on the event
loop was measured too, and served fewer requests a second at concurrency 32, with more CPU in
PostgreSQL (docs/benchmarks.md).
"""

from __future__ import annotations

import json
from typing import Any

from hackkit.server.errors import ApiError, invalid_key
from hackkit.server.store.admission import (
    STATE,
    AdmissionMixin,
    Decision,
    KeyState,
    check_windows,
    decide,
    refusals_under,
)
from hackkit.server.store.journal import clean_value
from hackkit.server.store.records import WINDOW_S, Admission, AdmissionRequest, KeyRecord, Settlement, key_from_row
from hackkit.server.store.sql import KEY_COLUMNS, LOG_COLUMNS, log_values

# Admission's read: the key, its settings' fingerprint and its state, in one snapshot (now, since, hash).
READ = (
    f"SELECT {KEY_COLUMNS}, hackkit_key_settings(k), s.* FROM keys k "
    f"CROSS JOIN LATERAL ({STATE.format(key='k.id')}) s WHERE k.hash = ?"
)
ADMIT = "SELECT hackkit_admit(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
ADMIT_KNOWN = "SELECT * FROM hackkit_admit_known(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
KNOWN_KEYS = 10_000  # keys a worker remembers (a workshop has tens); past it, it forgets them all and reads again
# Settlement in one statement: the data-modifying CTEs run once each, on one snapshot, in one
# transaction; the charge is computed once, from the reservation the same statement deletes, and
# the key's UPDATE adds to its latest spend, as any UPDATE does. The key's row is locked first
# (``locked``, which the other CTEs wait on), in the order admission takes its locks: key, then
# the key's reservations and rate events. Locking the request's own rows first deadlocked with an
# admission of the same key that prunes old rate events under the key's lock (a stream over 60 s).
SETTLE = f"""WITH locked AS (SELECT count(*) AS n FROM (SELECT 1 FROM keys WHERE id = ? FOR UPDATE) k),
    released AS (DELETE FROM reservations WHERE request_id = ? AND (SELECT n FROM locked) >= 0
                 RETURNING amount_nano),
    charge AS (SELECT LEAST(?::BIGINT, COALESCE((SELECT amount_nano FROM released), ?::BIGINT)) AS nano),
    spent AS (UPDATE keys SET spent_nano = spent_nano + (SELECT nano FROM charge)
              WHERE id = ? AND (SELECT nano FROM charge) > 0),
    counted AS (UPDATE rate_events SET tokens = ? WHERE request_id = ? AND ?::BOOLEAN AND (SELECT n FROM locked) >= 0)
INSERT INTO requests ({", ".join(LOG_COLUMNS)})
VALUES ({", ".join("(SELECT nano FROM charge)" if c == "cost_nano" else "?" for c in LOG_COLUMNS)})
RETURNING cost_nano"""
SETTLE_MANY = "SELECT hackkit_settle_many(?::json)"  # migration 006: many journaled settlements, idempotent


class PostgresAdmission(AdmissionMixin):
    """Admission and settlement for ``PostgresStore`` (which gives the connection)."""

    # Lapsed reservations a settlement is releasing under its key's lock are skipped (a sweep that
    # waited for them could deadlock with a batch releasing two of them).
    LAPSED_SWEEP = (
        "DELETE FROM reservations WHERE request_id IN "
        "(SELECT request_id FROM reservations WHERE expires_at <= ? FOR UPDATE SKIP LOCKED)"
    )

    def __init__(self) -> None:
        super().__init__()
        self._known: dict[str, tuple[KeyRecord, str]] = {}  # key hash -> the key as last read, its settings

    def admit(self, request: AdmissionRequest) -> Admission:
        """Check the key, its limits and its budget, and reserve the worst case (see the module's docstring)."""
        if request.admin is not None:
            return super().admit(request)  # the admin key has no row to read: its advisory lock is the common way's
        known = self._known.get(request.key_hash)
        if known is not None:
            admission = self._admit_known(request, *known)
            if admission is not None:
                return admission
        row = self.one(READ, (request.now, request.now - WINDOW_S, request.key_hash))
        if row is None:
            raise invalid_key()
        key, settings, state = key_from_row(row[:-5]), row[-5], KeyState(*row[-4:])
        with refusals_under(key):
            decision = decide(key, request, state)
        if not (decision.windowed or decision.budgeted):
            self._known.pop(request.key_hash, None)  # nothing to count or to reserve: the read is its one statement
            return decision.admission
        if decision.budgeted:
            self._forget_lapsed(request.now)
        reserved = self.one(ADMIT, [key.id, *_admit_args(settings, request, decision)])[0]
        if not reserved:
            return super().admit(request)
        if len(self._known) >= KNOWN_KEYS:
            self._known.clear()
        self._known[request.key_hash] = (key, settings)
        return decision.admission

    def _admit_known(self, request: AdmissionRequest, key: KeyRecord, settings: str) -> Admission | None:
        """Admission in one statement for a key read before; None when it must be read again.

        The checks run first on the key as it was read, with an empty window and nothing reserved
        (a refusal from them is not trusted: the key may have changed); ``hackkit_admit_known``
        then finds the key by its hash under its lock, and reserves only when its settings are
        still these and the window and the budget, as they are now, have room.
        """
        try:
            decision = decide(key, request, KeyState(0, 0, 0, None))
        except ApiError:
            return None
        if not (decision.windowed or decision.budgeted):
            return None
        if decision.budgeted:
            self._forget_lapsed(request.now)
        row = self.one(ADMIT_KNOWN, [request.key_hash, *_admit_args(settings, request, decision)])
        if row is None:
            self._known.pop(request.key_hash, None)
            return None
        if decision.windowed:  # the headers count what the window held before this request
            limits = check_windows(key, request, decision.reserve_tokens, KeyState(0, *row))
            decision.admission.limits = limits
        return decision.admission

    def settle(self, settlement: Settlement) -> int:
        """Release, charge (capped at what was reserved), count and log, in one statement."""
        log = {c: clean_value(v) for c, v in zip(LOG_COLUMNS, log_values(settlement.log), strict=True)}
        del log["cost_nano"]  # the statement's own charge
        head = (settlement.key_id, settlement.request_id, settlement.cost_nano, settlement.cost_nano, settlement.key_id)
        counted = (settlement.tokens, settlement.request_id, settlement.windowed)
        return int(self.one(SETTLE, (*head, *counted, *log.values()))[0])

    def identity(self) -> str:
        """This database's own random id (migration 006): what its journal files are named after."""
        return str(self.one("SELECT id FROM store_identity")[0])

    def settle_many(self, entries: list[dict[str, Any]]) -> int:
        """Settle journaled entries (``journal.journal_entry``) in one call; how many were new to the log."""
        return int(self.one(SETTLE_MANY, (json.dumps(entries, ensure_ascii=False),))[0])


def _admit_args(settings: str, request: AdmissionRequest, decision: Decision) -> list[Any]:
    """The arguments after the key's id or hash, for ``hackkit_admit`` and ``hackkit_admit_known``."""
    admission, since = decision.admission, request.now - WINDOW_S
    args = [settings, request.request_id, request.now, since, decision.reserve_tokens]
    return [*args, admission.reserved_nano, request.now + request.ttl, decision.windowed, decision.budgeted]
