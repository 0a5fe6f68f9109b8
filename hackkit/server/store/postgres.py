"""The gateway's store on PostgreSQL, for a workshop that outgrows one machine.

Several gateway machines share one database and stay exact: every reservation is made under the
key's row lock, so two workers anywhere reserve for one key at a time, while different keys admit
in parallel. A request costs three statements, each its own transaction: admission's read (the
key and its state, one snapshot: a refusal from it is exact), ``hackkit_admit`` (migration 004:
under the lock, a fresh look at the window and the budget, then the reservation, or no when the
room went meanwhile, and then admission decides again under the lock, the common way), and
settlement (one statement). Before, admission and settlement were a transaction of five
statements each; the round trips were most of the time and CPU PostgreSQL added to a request.
Migrations take an advisory lock, so machines starting together apply each one once. ``psycopg``
(3) comes with ``pip install 'hackkit-llm[gateway]'``.

Commits do not wait for the disk (``synchronous_commit = off``): the same promise as the SQLite
store's WAL with ``synchronous=NORMAL``. A committed row survives any gateway process being
killed, and PostgreSQL itself crashing; only a power cut or an OS crash of the database machine
can lose the last fraction of a second (at most three ``wal_writer_delay``, 0.6 s by default).
Waiting for the disk cost two flushes a request, 4 of the 6 ms the gateway added here. A URL
that sets ``synchronous_commit`` itself (``?options=-c%20synchronous_commit%3Don``) keeps it.
"""

from __future__ import annotations

import re
from typing import Any

from hackkit.errors import ConfigError, MissingDependencyError
from hackkit.server.errors import invalid_key
from hackkit.server.store.admission import STATE, Decision, KeyState, decide, refusals_under
from hackkit.server.store.base import Admission, AdmissionRequest, Dialect, Settlement, SQLStore
from hackkit.server.store.records import WINDOW_S, key_from_row
from hackkit.server.store.sql import KEY_COLUMNS, LOG_COLUMNS, log_values

POSTGRES = Dialect(
    name="postgresql",
    placeholder="%s",
    begin="BEGIN",
    for_update=" FOR UPDATE",
    real="DOUBLE PRECISION",
    serial="BIGSERIAL PRIMARY KEY",
    big="BIGINT",
)
MIGRATION_LOCK = 7_2_0_1_1  # any constant: the advisory lock every migrating gateway waits on
# Admission's read: the key, its settings' fingerprint and its state, in one snapshot (now, since, hash).
READ = (
    f"SELECT {KEY_COLUMNS}, hackkit_key_settings(k), s.* FROM keys k "
    f"CROSS JOIN LATERAL ({STATE.format(key='k.id')}) s WHERE k.hash = ?"
)
# Settlement in one statement: the data-modifying CTEs run once each, on one snapshot, atomically;
# the charge is computed once, from the reservation the same statement deletes.
SETTLE = f"""WITH released AS (DELETE FROM reservations WHERE request_id = ? RETURNING amount_nano),
    charge AS (SELECT LEAST(?::BIGINT, COALESCE((SELECT amount_nano FROM released), ?::BIGINT)) AS nano),
    spent AS (UPDATE keys SET spent_nano = spent_nano + (SELECT nano FROM charge)
              WHERE id = ? AND (SELECT nano FROM charge) > 0),
    counted AS (UPDATE rate_events SET tokens = ? WHERE request_id = ? AND ?::BOOLEAN)
INSERT INTO requests ({", ".join(LOG_COLUMNS)})
VALUES ({", ".join("(SELECT nano FROM charge)" if c == "cost_nano" else "?" for c in LOG_COLUMNS)})
RETURNING cost_nano"""


class PostgresStore(SQLStore):
    dialect = POSTGRES

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._connections: list[Any] = []

    def connect(self) -> Any:
        try:
            import psycopg
        except ImportError:
            raise MissingDependencyError(
                "psycopg (PostgreSQL's driver)", "pip install 'hackkit-llm[gateway]'"
            ) from None
        try:
            db = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise ConfigError(
                f"Cannot connect to PostgreSQL at {masked(self.url)}: {str(exc).strip()[:300]}",
                hint="check the URL (postgresql://USER:PASSWORD@HOST:PORT/DATABASE) and that the server runs",
            ) from None
        if "synchronous_commit" not in self.url:
            db.execute("SET synchronous_commit = off")
        self._connections.append(db)
        return db

    def close(self) -> None:
        for db in self._connections:
            db.close()
        self._connections.clear()
        self._local.__dict__.clear()

    def admit(self, request: AdmissionRequest) -> Admission:
        """One read, the checks, then one locked check-and-reserve: two statements, no transaction held open.

        The read is one snapshot, so a refusal from it is exact. ``hackkit_admit`` (migration 004)
        then locks the key's row and reserves only if the key's settings are still those the
        decision was taken on and the window and the budget still have room; when they do not
        (another request took the room meanwhile, or the key changed), admission runs again the
        common way, under the lock from the start, and decides afresh.
        """
        if request.admin is not None:
            return super().admit(request)
        row = self.one(READ, (request.now, request.now - WINDOW_S, request.key_hash))
        if row is None:
            raise invalid_key()
        key, settings, state = key_from_row(row[:-5]), row[-5], KeyState(*row[-4:])
        with refusals_under(key):
            decision = decide(key, request, state)
        if not (decision.windowed or decision.budgeted):
            return decision.admission  # nothing to count or to reserve
        if decision.budgeted:
            self._forget_lapsed(request.now)
        reserved = self._reserve(settings, request, decision)
        return decision.admission if reserved else super().admit(request)

    def _reserve(self, settings: str, request: AdmissionRequest, decision: Decision) -> bool:
        """``hackkit_admit``: under the key's lock, count and reserve if the decision still holds."""
        admission, since = decision.admission, request.now - WINDOW_S
        args = [admission.key.id, settings, request.request_id, request.now, since, decision.reserve_tokens]
        args += [admission.reserved_nano, request.now + request.ttl, decision.windowed, decision.budgeted]
        return bool(self.one("SELECT hackkit_admit(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", args)[0])

    def settle(self, settlement: Settlement) -> int:
        """Release, charge (capped at what was reserved), count and log in one statement: one round trip."""
        log = dict(zip(LOG_COLUMNS, log_values(settlement.log), strict=True))
        del log["cost_nano"]  # the statement's own charge
        head = (settlement.request_id, settlement.cost_nano, settlement.cost_nano, settlement.key_id)
        counted = (settlement.tokens, settlement.request_id, settlement.windowed)
        return int(self.one(SETTLE, (*head, *counted, *log.values()))[0])

    def _lock_migrations(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))

    def lock_name(self, name: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))

    def day_expression(self) -> str:
        return "to_char(to_timestamp(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def masked(url: str) -> str:
    """The URL with its password hidden, for messages and the start-up banner."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)
