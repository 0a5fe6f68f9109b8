"""The gateway's store: keys, budgets, rate windows and the request log, in SQL.

One implementation of every rule, over two databases (``sqlite.py``, ``postgres.py``) that differ
only in their :class:`Dialect`. Money is kept in integer nano-dollars, so sums are exact. By concern:
``keys.py`` (keys and approvals), ``admission.py`` (the transactions that keep budgets and limits
exact), ``reports.py`` (the log, usage, metrics), ``schema.py`` (append-only migrations).
"""

from __future__ import annotations

import time

from hackkit.server.store.admission import AdmissionMixin
from hackkit.server.store.keys import KeysMixin
from hackkit.server.store.records import (
    NANO,
    Admission,
    AdmissionRequest,
    KeyRecord,
    Limits,
    Settlement,
    check_key,
    hash_key,
    to_nano,
    to_usd,
)
from hackkit.server.store.reports import ReportsMixin
from hackkit.server.store.schema import migrations
from hackkit.server.store.sql import Dialect


class SQLStore(KeysMixin, AdmissionMixin, ReportsMixin):
    """Every rule of the store; a subclass gives the connection and the dialect.

    Every method is synchronous and short; the server calls them from its own threads (see
    ``hackkit.server.gateway``), never on the event loop.
    """

    def migrate(self, upto: int | None = None) -> list[str]:
        """Apply the migrations this store lacks, once, even when several processes start at once.

        ``upto``: only the first so many (to build an old store in a test of the upgrade).
        """
        applied = []
        with self.transaction():
            self._lock_migrations()  # PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against itself
            self.execute(f"CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied {self.dialect.real})")
        for name, statements in migrations(self.dialect)[:upto]:
            with self.transaction():
                self._lock_migrations()
                if self.one("SELECT 1 FROM _migrations WHERE name = ?", (name,)) is None:
                    for statement in statements:
                        self.execute(statement)
                    self.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))
                    applied.append(name)
        return applied


__all__ = [
    "NANO",
    "Admission",
    "AdmissionRequest",
    "Dialect",
    "KeyRecord",
    "Limits",
    "SQLStore",
    "Settlement",
    "check_key",
    "hash_key",
    "migrations",
    "to_nano",
    "to_usd",
]
