"""Settlements written to the gateway machine's disk before an answer ends, shipped to PostgreSQL after.

On PostgreSQL a settlement (release the reservation, charge, count, write the log row) is a round
trip to the database, and the log promises that an answer the client received in full is logged
even if its worker is killed right after: so it had to finish before the answer's last byte, a
third of the time the gateway added. Now the worker appends it to its own file instead, one
``write`` before the last byte. A file written survives ``kill -9`` of its process (the kernel
holds the data), the same promise as PostgreSQL's ``synchronous_commit = off``. A thread of the
worker ships what was written right after, many settlements in one call under load
(``hackkit_settle_many``), and empties the file once everything in it is shipped.

Why budgets stay exact: an answered request keeps its worst case reserved until its settlement
ships (a millisecond or so), so what it did not spend is released late, never spent twice. A
refusal for budget or tokens per minute waits for this worker's journal and a moment for the
others', then decides again (``Gateway.admit``). The log, ``keys list`` and the usage show a call
a few milliseconds after its answer.

A worker's file is locked (``flock``) while the worker lives. A file nobody locks is an orphan: a
worker was killed. The worker that uvicorn starts in its place, any other within
``ADOPT_EVERY_S``, or the next start ships it and removes it. Shipping twice settles nothing
twice: an entry whose log row exists already (``request_id`` is unique) is not charged again.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from hackkit.server.store.records import Settlement
from hackkit.server.store.sql import LOG_COLUMNS, log_values

log = logging.getLogger("hackkit.gateway")

BATCH = 256  # settlements in one call at most
ADOPT_EVERY_S = 2.0  # how often a worker looks for files that killed workers left
EMPTY_AT_BYTES = 1 << 20  # the file is emptied when everything in it is shipped and it is this big
RETRY_MAX_S = 2.0  # the longest pause between two tries while the database is away


class Shipper(Protocol):
    def settle_many(self, entries: list[dict[str, Any]]) -> int: ...


class SettlementJournal:
    """One worker's journal: ``append`` before the answer ends; a thread ships it to the store."""

    def __init__(self, store: Shipper, folder: Path) -> None:
        self.store, self.folder = store, folder
        self.path, self._fd = _claim_new_file(folder)
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # the shipper waits here for something to ship
        self._shipped_cond = threading.Condition(self._lock)  # ``wait`` waits here for the shipper
        self._pending: list[dict[str, Any]] = []  # written, not yet shipped, in order
        self._written = self._shipped = self._size = 0
        self._closing = self._refused = False
        self._thread = threading.Thread(target=self._ship_forever, name="hackkit-gateway-journal", daemon=True)
        self._thread.start()

    # -- the request path ------------------------------------------------------------------

    def append(self, settlement: Settlement) -> int | None:
        """Write one settlement down; its ticket for ``wait``, or None when the disk refused it."""
        entry = journal_entry(settlement)
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            try:
                _write_all(self._fd, line)
            except OSError as exc:
                if not self._refused:
                    log.warning("the settlement journal %s refused a write (%s): settling in the store", self.path, exc)
                self._refused = True
                return None
            self._size += len(line)
            self._pending.append(entry)
            self._written += 1
            self._work.notify()
            return self._written

    @property
    def backlog(self) -> int:
        """Settlements written and not yet shipped."""
        return len(self._pending)

    def wait(self, ticket: int | None = None, timeout: float = 10.0) -> bool:
        """Block until every settlement up to ``ticket`` (default: all written) is in the store."""
        with self._lock:
            target = self._written if ticket is None else ticket
            return self._shipped_cond.wait_for(lambda: self._shipped >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Ship what is left and remove the file; what could not be shipped stays for the next start."""
        with self._lock:
            self._closing = True
            self._work.notify()
        self._thread.join(timeout)
        with self._lock:
            if not self._pending:
                self.path.unlink(missing_ok=True)
            os.close(self._fd)  # the lock goes with it: a file left behind is an orphan now
            self._fd = -1  # a late write fails (and settles in the store) instead of reaching a reused descriptor

    # -- the shipper's thread ----------------------------------------------------------------

    def _ship_forever(self) -> None:
        adopted = 0.0
        failures = 0
        while True:
            if time.monotonic() - adopted >= ADOPT_EVERY_S:
                self.adopt_orphans()
                adopted = time.monotonic()
            with self._lock:
                self._work.wait_for(lambda: self._pending or self._closing, ADOPT_EVERY_S)
                if self._closing and (not self._pending or failures):
                    return  # a clean stop ships everything; with the database away, the file keeps it
                batch = self._pending[:BATCH]
            if batch and not self._ship(batch):
                failures += 1
                time.sleep(min(RETRY_MAX_S, 0.05 * 2**failures))
            elif batch:
                failures = 0

    def _ship(self, batch: list[dict[str, Any]]) -> bool:
        try:
            self.store.settle_many(batch)
        except Exception as exc:  # the database is away or refused: keep everything, try again
            log.warning("could not ship %d settlements to the store yet (%s: %s)", len(batch), type(exc).__name__, exc)
            return False
        with self._lock:
            del self._pending[: len(batch)]
            self._shipped += len(batch)
            if not self._pending and self._size >= EMPTY_AT_BYTES and self._fd >= 0:
                os.ftruncate(self._fd, 0)  # appends hold the lock too: nothing is written meanwhile
                self._size = 0
            self._shipped_cond.notify_all()
        return True

    def adopt_orphans(self) -> int:
        """Ship and remove the files of workers that were killed; how many settlements they held."""
        shipped = 0
        for path in sorted(self.folder.glob("*.jsonl")):
            if path != self.path:
                try:
                    shipped += self._adopt(path)
                except Exception as exc:  # the database is away: the file stays, tried again later
                    log.warning("could not ship %s yet (%s: %s)", path.name, type(exc).__name__, exc)
        return shipped

    def _adopt(self, path: Path) -> int:
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return 0  # another worker adopted it meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # its worker lives
            if not _still_named(fd, path):
                return 0  # adopted and removed by another worker between the open and the lock
            entries, torn = _read_entries(fd)
            for start in range(0, len(entries), BATCH):
                self.store.settle_many(entries[start : start + BATCH])
            path.unlink()
        finally:
            os.close(fd)
        if entries or torn:
            torn_note = f"; {torn} torn line skipped (its answer never ended)" if torn else ""
            log.warning("shipped %d settlements a stopped worker left in %s%s", len(entries), path.name, torn_note)
        return len(entries)


def journal_for(store: Any, folder: Path) -> SettlementJournal | None:
    """The journal of a store that ships settlements in batches (PostgreSQL's); None for SQLite's."""
    return SettlementJournal(store, folder) if hasattr(store, "settle_many") else None


def journal_entry(settlement: Settlement) -> dict[str, Any]:
    """A settlement as one flat JSON object: its log row (the charge is the store's) and what to settle."""
    entry = dict(zip(LOG_COLUMNS, log_values(settlement.log), strict=True))
    del entry["cost_nano"]
    entry["request_id"] = settlement.request_id
    return {**entry, "_key": settlement.key_id, "_cost": settlement.cost_nano, "_tokens": settlement.tokens,
            "_windowed": settlement.windowed}  # fmt: skip


def _claim_new_file(folder: Path) -> tuple[Path, int]:
    """A new journal file, locked before it gets the name other workers look for."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
    draft = folder / f".{name}.new"
    fd = os.open(draft, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    path = folder / f"{name}.jsonl"
    os.rename(draft, path)
    return path, fd


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _still_named(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), path.stat())
    except FileNotFoundError:
        return False


def _read_entries(fd: int) -> tuple[list[dict[str, Any]], int]:
    """The entries of a journal file, and how many lines were torn (a write cut short by ``kill -9``)."""
    with os.fdopen(os.dup(fd), "rb") as file:
        lines = file.read().splitlines()
    entries, torn = [], 0
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            torn += 1
    return entries, torn
