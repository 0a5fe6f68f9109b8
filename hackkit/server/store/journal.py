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
Files are named after the database (``store_identity``, migration 006), so a folder served
against another database never ships its orphans there.

Nothing blocks the journal: values the database would refuse (a NUL in an upstream's error, a NaN,
a token count past 32 bits) are cleaned when written; an entry the database still refuses is
set aside in ``rejected.jsonl`` and the rest ship. While the database does not answer, requests
settle before their answers again (the journal takes nothing it cannot ship), and a settlement
that lands after its reservation lapsed is charged at most what the budget has left.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import math
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
BATCH_BYTES = 4 << 20  # and at most this much JSON (payloads can be large)
ADOPT_EVERY_S = 2.0  # how often a worker looks for files that killed workers left
ROTATE_AT_BYTES = 1 << 20  # a file this big is closed to new entries and removed once they all shipped
REFUSED_PAUSE_S = 60.0  # after the disk refused a write, requests settle in the store this long
RETRY_MAX_S = 2.0  # the longest pause between two tries while the database is away
REJECTED = "rejected.jsonl"  # entries the database refused even cleaned, kept for the organisers
INT32, INT64 = 2**31 - 1, 2**63 - 1
BIG_FIELDS = ("_cost", "_tokens")  # BIGINT; the log's integers are INTEGER


class Shipper(Protocol):
    def settle_many(self, entries: list[dict[str, Any]]) -> int: ...

    def identity(self) -> str: ...


class SettlementJournal:
    """One worker's journal: ``append`` before the answer ends; a thread ships it to the store."""

    def __init__(self, store: Shipper, folder: Path) -> None:
        self.store, self.folder = store, folder
        self.prefix = store.identity()[:12]  # files of this database only
        self.path, self._fd = _claim_new_file(folder, self.prefix)
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # the shipper waits here for something to ship
        self._shipped_cond = threading.Condition(self._lock)  # ``wait`` waits here for the shipper
        self._pending: list[tuple[dict[str, Any], int]] = []  # written, not yet shipped, in order, with sizes
        self._retired: list[tuple[int, Path, int]] = []  # (last ticket, path, fd) of full files
        self._written = self._shipped = self._size = 0
        self._closing = False
        self._refused_at: float | None = None  # when the disk last refused a write: a minute off the journal
        self._healthy = True  # the last ship worked: while it did not, requests settle in the store
        self._thread = threading.Thread(target=self._ship_forever, name="hackkit-gateway-journal", daemon=True)
        self._thread.start()

    # -- the request path ------------------------------------------------------------------

    def append(self, settlement: Settlement) -> int | None:
        """Write one settlement down; its ticket for ``wait``, or None: settle it in the store instead."""
        entry = journal_entry(settlement)
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            if not self._takes():
                return None  # the database is away, or the disk refused: the journal takes nothing it cannot ship
            try:
                _write_all(self._fd, line)
            except OSError as exc:
                self._refused_at = time.monotonic()
                log.warning("the settlement journal %s refused a write (%s): settling in the store", self.path, exc)
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._size)  # no half line for the next one to be glued to
                return None
            self._size += len(line)
            self._pending.append((entry, len(line)))
            self._written += 1
            if self._size >= ROTATE_AT_BYTES:
                self._rotate()
            self._work.notify()
            return self._written

    def _takes(self) -> bool:
        """Whether a new settlement may go to the journal (under the lock)."""
        if self._refused_at is not None and time.monotonic() - self._refused_at < REFUSED_PAUSE_S:
            return False
        return self._healthy and self._fd >= 0 and self._thread.is_alive()

    @property
    def healthy(self) -> bool:
        """The last shipment worked: refusals may wait for the journal."""
        return self._healthy

    def _rotate(self) -> None:
        """Close the full file to new entries (it goes once they shipped) and write to a new one."""
        try:
            path, fd = _claim_new_file(self.folder, self.prefix)
        except OSError as exc:
            log.warning("the settlement journal could not start a new file (%s): it keeps the full one", exc)
            return
        self._retired.append((self._written, self.path, self._fd))
        self.path, self._fd, self._size = path, fd, 0

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
        """Ship what is left and remove the files; what could not be shipped stays for the next start."""
        with self._lock:
            self._closing = True
            self._work.notify()
        self._thread.join(timeout)
        with self._lock:
            self._forget_shipped_files()
            for _, path, fd in [*self._retired, (0, self.path, self._fd)]:
                if not self._pending:
                    path.unlink(missing_ok=True)
                os.close(fd)  # the lock goes with it: a file left behind is an orphan now
            self._retired.clear()
            self._fd = -1  # a late write settles in the store instead of reaching a reused descriptor

    # -- the shipper's thread ----------------------------------------------------------------

    def _ship_forever(self) -> None:
        adopted = 0.0
        failures = 0
        while True:
            try:
                if time.monotonic() - adopted >= ADOPT_EVERY_S:
                    self.adopt_orphans()
                    adopted = time.monotonic()
                with self._lock:
                    self._work.wait_for(lambda: self._pending or self._closing, ADOPT_EVERY_S)
                    if self._closing and (not self._pending or failures):
                        return  # a clean stop ships everything; with the database away, the file keeps it
                    batch = [entry for entry, _ in _batch(self._pending)]
                shipped = self._ship(batch) if batch else True
            except Exception as exc:  # never let the thread die: the journal would look alive and ship nothing
                log.error("the settlement journal's shipper failed (%s: %s); trying again", type(exc).__name__, exc)
                shipped = False
            if shipped:
                failures = 0
                continue
            with self._lock:
                self._healthy = False  # requests settle in the store until a shipment works
            failures += 1
            time.sleep(min(RETRY_MAX_S, 0.05 * 2**failures))

    def _ship(self, batch: list[dict[str, Any]]) -> bool:
        """Ship a batch; False when the database is away (what is left is tried again), True once all of it is done."""
        try:
            self.store.settle_many(batch)
            done = len(batch)
        except Exception as exc:
            if not refused_as_data(exc):
                log.warning(
                    "could not ship %d settlements to the store yet (%s: %s)", len(batch), type(exc).__name__, exc
                )
                return False
            done = self._ship_one_by_one(batch)
        with self._lock:
            self._healthy = done == len(batch)
            del self._pending[:done]
            self._shipped += done
            self._forget_shipped_files()
            self._shipped_cond.notify_all()
        return done == len(batch)

    def _ship_one_by_one(self, batch: list[dict[str, Any]]) -> int:
        """A value in the batch was refused: ship each entry alone, set aside what is refused; how many are done."""
        for done, entry in enumerate(batch):
            try:
                self.store.settle_many([entry])
            except Exception as exc:
                if not refused_as_data(exc):
                    log.warning("could not ship settlements to the store yet (%s: %s)", type(exc).__name__, exc)
                    return done  # the database went away meanwhile: the rest is tried again
                self._set_aside(entry, exc)
        return len(batch)

    def _set_aside(self, entry: dict[str, Any], exc: BaseException) -> None:
        """Keep an entry the database refuses in ``rejected.jsonl`` (0600, once per request) and say so."""
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        log.error("the store refused the settlement of %s (%s); kept in %s, its reservation lapses",
                  entry.get("request_id"), reason, REJECTED)  # fmt: skip
        path = self.folder / REJECTED
        try:
            if path.exists() and f'"request_id":{json.dumps(entry.get("request_id"))}' in path.read_text("utf-8"):
                return  # set aside before (the file it came from was shipped again)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as kept:
                kept.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
        except OSError as error:
            log.error("could not keep it in %s (%s): the entry was %s", path, error, json.dumps(entry))

    def _forget_shipped_files(self) -> None:
        """Remove the full files whose every entry shipped (under the lock)."""
        while self._retired and self._retired[0][0] <= self._shipped:
            _, path, fd = self._retired.pop(0)
            path.unlink(missing_ok=True)
            os.close(fd)

    def adopt_orphans(self) -> int:
        """Ship and remove the files of workers that were killed; how many settlements were new to the log."""
        shipped = 0
        mine = {self.path, *(path for _, path, _ in self._retired)}
        for path in sorted(self.folder.glob(f"{self.prefix}-*.jsonl")):
            if path not in mine:
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
            left, new = entries, 0
            while left:
                batch = [entry for entry, _ in _batch(left)]
                try:
                    new += self.store.settle_many(batch)
                except Exception as exc:
                    if not refused_as_data(exc) or self._ship_one_by_one(batch) < len(batch):
                        raise
                left = left[len(batch) :]
            path.unlink()
        finally:
            os.close(fd)
        if new or torn:
            torn_note = f"; {torn} torn line skipped (its answer never ended)" if torn else ""
            log.warning("shipped %d settlements a stopped worker left in %s%s", new, path.name, torn_note)
        return new


def journal_for(store: Any, folder: Path) -> SettlementJournal | None:
    """The journal of a store that ships settlements in batches (PostgreSQL's); None: settle in the store."""
    if not hasattr(store, "settle_many"):
        return None
    try:
        return SettlementJournal(store, folder)
    except Exception as exc:  # a read-only folder (a container's), a store without its identity: as before it
        log.warning("no settlement journal in %s (%s): requests settle in the store before their answers", folder, exc)
        return None


def refused_as_data(exc: BaseException) -> bool:
    """The database refused a value, or it could not be encoded: trying again will not help.

    SQLSTATE classes 22 (data exception), 23 (integrity) and 54 (a program limit: a value too long
    for an index). Anything else (the connection, a deadlock, a missing function, a permission)
    says nothing about the entries: they are tried again.
    """
    return isinstance(exc, ValueError) or str(getattr(exc, "sqlstate", None) or "")[:2] in ("22", "23", "54")


def journal_entry(settlement: Settlement) -> dict[str, Any]:
    """A settlement as one flat JSON object: its log row (the charge is the store's) and what to settle.

    Values the database would refuse are cleaned: NUL characters and lone surrogates in text, NaN
    and infinite numbers (null), integers past their column's range (clamped).
    """
    entry = {c: clean_value(v, INT32) for c, v in zip(LOG_COLUMNS, log_values(settlement.log), strict=True)}
    del entry["cost_nano"]
    entry["request_id"] = clean_value(settlement.request_id, INT32)
    big = {k: clean_value(v, INT64) for k, v in zip(BIG_FIELDS, (settlement.cost_nano, settlement.tokens), strict=True)}
    return {**entry, **big, "_key": settlement.key_id, "_windowed": bool(settlement.windowed)}


def clean_value(value: Any, largest: int = INT32) -> Any:
    """A value as PostgreSQL takes it: text without NUL or lone surrogates, finite floats, integers in range."""
    if isinstance(value, str):
        if not value.isascii():
            value = value.encode("utf-8", "replace").decode("utf-8")
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return max(-largest - 1, min(largest, value))
    return value


def _batch(pending: list[tuple[dict[str, Any], int]]) -> list[tuple[dict[str, Any], int]]:
    """The next batch: up to BATCH entries and BATCH_BYTES of JSON, at least one."""
    batch: list[tuple[dict[str, Any], int]] = []
    size = 0
    for entry, length in pending[:BATCH]:
        if batch and size + length > BATCH_BYTES:
            break
        batch.append((entry, length))
        size += length
    return batch


def _claim_new_file(folder: Path, prefix: str) -> tuple[Path, int]:
    """A new journal file, locked before it gets the name other workers look for."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{prefix}-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
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


def _read_entries(fd: int) -> tuple[list[tuple[dict[str, Any], int]], int]:
    """A journal file's entries with their sizes, and how many lines were torn (a write cut short by ``kill -9``)."""
    with os.fdopen(os.dup(fd), "rb") as file:
        lines = file.read().splitlines()
    entries, torn = [], 0
    for line in lines:
        try:
            entries.append((json.loads(line), len(line) + 1))
        except ValueError:
            torn += 1
    return entries, torn
