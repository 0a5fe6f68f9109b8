"""Open the gateway's store from ``--db``, ``HACKKIT_GATEWAY_DB`` or ``[gateway] db``.

A path (or nothing: ``.hackkit/gateway.sqlite`` in the gateway folder) is SQLite; a
``postgresql://`` URL is PostgreSQL, for gateways on several machines sharing one database.
"""

from __future__ import annotations

from pathlib import Path

from hackkit.server.store.base import (
    Admission,
    AdmissionRequest,
    KeyRecord,
    Limits,
    Settlement,
    SQLStore,
    hash_key,
    to_nano,
    to_usd,
)

DEFAULT_DB = ".hackkit/gateway.sqlite"


def open_store(url: str | None, root: Path | None = None, *, migrate: bool = True) -> SQLStore:
    """The store at ``url``, migrated to the current schema."""
    store: SQLStore
    if url and url.startswith(("postgresql://", "postgres://")):
        from hackkit.server.store.postgres import PostgresStore

        store = PostgresStore(url)
    else:
        path = Path(url or DEFAULT_DB).expanduser()
        if not path.is_absolute():
            path = (root or Path.cwd()) / path
        from hackkit.server.store.sqlite import SQLiteStore

        store = SQLiteStore(path)
    if migrate:
        store.migrate()
    return store


__all__ = [
    "DEFAULT_DB",
    "Admission",
    "AdmissionRequest",
    "KeyRecord",
    "Limits",
    "SQLStore",
    "Settlement",
    "hash_key",
    "open_store",
    "to_nano",
    "to_usd",
]
