"""The gateway's store on PostgreSQL, for a workshop that outgrows one machine.

Several gateway machines share one database and stay exact: every reservation is made under the
key's row lock, so two workers anywhere reserve for one key at a time, while different keys admit
in parallel. A request costs two statements (``postgres_admission.py``). Migrations take an
advisory lock, so machines starting together apply each one once. ``psycopg`` (3) comes with
``pip install 'hackkit-llm[gateway]'``.

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
from hackkit.server.store.base import Dialect, SQLStore
from hackkit.server.store.postgres_admission import PostgresAdmission

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


class PostgresStore(PostgresAdmission, SQLStore):
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

    def _lock_migrations(self) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))

    def lock_name(self, name: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))

    def day_expression(self) -> str:
        return "to_char(to_timestamp(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def masked(url: str) -> str:
    """The URL with its password hidden, for messages and the start-up banner."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)
