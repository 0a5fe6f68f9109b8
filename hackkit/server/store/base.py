"""The gateway's store: keys, budgets, rate windows and the request log, in SQL.

One implementation of every rule, over two databases (``sqlite.py``, ``postgres.py``) that differ
only in their :class:`Dialect`. Money is kept in integer nano-dollars, so sums are exact.

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

import contextlib
import hashlib
import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from hackkit.errors import ConfigError
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


LOG_COLUMNS = (
    "request_id",
    "ts",
    "team",
    "key_id",
    "route",
    "model_asked",
    "model_used",
    "provider",
    "input_tokens",
    "output_tokens",
    "cost_nano",
    "latency_ms",
    "ttft_ms",
    "status",
    "http_status",
    "error_class",
    "error",
    "stream",
    "fallback",
    "payload",
)
KEY_COLUMNS = (
    "id, team, prefix, status, budget_nano, spent_nano, rpm, tpm, max_tokens, models, created_at, "
    "expires_at, revoked_at, note"
)


@dataclass(frozen=True)
class Dialect:
    name: str
    placeholder: str  # "?" or "%s"
    begin: str  # the statement that starts a locking write transaction
    for_update: str  # "" or " FOR UPDATE"
    real: str  # floating point column type
    serial: str  # an auto-incrementing integer primary key
    big: str  # a 64-bit integer


def migrations(d: Dialect) -> list[tuple[str, list[str]]]:
    """Append-only: a new schema change is a new entry at the end, never an edit."""
    return [
        (
            "001_initial",
            [
                f"""CREATE TABLE keys (
                    id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, team TEXT NOT NULL,
                    status TEXT NOT NULL, budget_nano {d.big}, spent_nano {d.big} NOT NULL DEFAULT 0,
                    rpm INTEGER, tpm INTEGER, max_tokens INTEGER, models TEXT, created_at {d.real} NOT NULL,
                    expires_at {d.real}, revoked_at {d.real}, note TEXT)""",
                f"""CREATE TABLE reservations (
                    request_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, amount_nano {d.big} NOT NULL,
                    expires_at {d.real} NOT NULL)""",
                "CREATE INDEX reservations_key ON reservations (key_id, expires_at)",
                f"""CREATE TABLE rate_events (
                    request_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, at {d.real} NOT NULL,
                    tokens INTEGER NOT NULL)""",
                "CREATE INDEX rate_events_key_at ON rate_events (key_id, at)",
                f"""CREATE TABLE requests (
                    id {d.serial}, request_id TEXT NOT NULL, ts {d.real} NOT NULL, team TEXT, key_id TEXT,
                    route TEXT NOT NULL, model_asked TEXT, model_used TEXT, provider TEXT,
                    input_tokens INTEGER, output_tokens INTEGER, cost_nano {d.big}, latency_ms {d.real},
                    ttft_ms {d.real}, status TEXT NOT NULL, http_status INTEGER NOT NULL, error_class TEXT,
                    error TEXT, stream INTEGER NOT NULL DEFAULT 0, fallback INTEGER NOT NULL DEFAULT 0,
                    payload TEXT)""",
                "CREATE INDEX requests_ts ON requests (ts)",
                "CREATE INDEX requests_team_ts ON requests (team, ts)",
                f"""CREATE TABLE audit (
                    id {d.serial}, ts {d.real} NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                    target TEXT, detail TEXT)""",
            ],
        ),
    ]


class SQLStore:
    """The rules; a subclass gives the connection and the dialect.

    Every method is synchronous and short; the server calls them from its own threads (see
    ``hackkit.server.app``), never on the event loop.
    """

    dialect: Dialect
    url: str

    def __init__(self) -> None:
        self._local = threading.local()

    # -- connections, what a subclass gives -------------------------------------------------

    def connect(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    @property
    def db(self) -> Any:
        """This thread's connection (each thread has its own)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self.connect()
        return db

    def _sql(self, sql: str) -> str:
        return sql if self.dialect.placeholder == "?" else sql.replace("?", "%s")

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self.db.execute(self._sql(sql), tuple(args))

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.execute(sql, args)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self.execute(sql, args).fetchone()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction that holds its lock from the start."""
        self.execute(self.dialect.begin)
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    # -- schema ---------------------------------------------------------------------------

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

    def _lock_migrations(self) -> None:
        """Hold other migrating processes back (SQLite's BEGIN IMMEDIATE already does)."""

    def lock_name(self, name: str) -> None:
        """Serialise transactions about ``name`` that have no row to lock (SQLite's lock is database-wide)."""

    def ping(self) -> bool:
        return self.one("SELECT 1")[0] == 1

    # -- keys -----------------------------------------------------------------------------

    def create_key(
        self,
        team: str,
        *,
        budget_usd: float | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        max_tokens: int | None = None,
        models: list[str] | None = None,
        expires_at: float | None = None,
        status: str = "active",
        note: str | None = None,
        actor: str = "admin",
    ) -> tuple[KeyRecord, str]:
        """A new key; the secret is returned here and never again."""
        if not team.strip():
            raise ConfigError("A key needs a team name.", hint="pass --team NAME")
        secret, key_id = new_secret(), "k" + secrets.token_hex(4)
        with self.transaction():
            self.execute(
                f"INSERT INTO keys ({KEY_COLUMNS}, hash) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (
                    key_id,
                    team.strip(),
                    secret[:10],
                    status,
                    to_nano(budget_usd),
                    rpm,
                    tpm,
                    max_tokens,
                    json.dumps(models) if models is not None else None,
                    time.time(),
                    expires_at,
                    note,
                    hash_key(secret),
                ),
            )
            self._audit(actor, "key.create", key_id, {"team": team.strip(), "status": status})
        key = self.find_key(key_id)
        assert key is not None
        return key, secret

    def find_key(self, key_id: str) -> KeyRecord | None:
        row = self.one(f"SELECT {KEY_COLUMNS} FROM keys WHERE id = ?", (key_id,))
        return self._key(row, self._reserved(key_id, time.time())) if row else None

    def list_keys(self) -> list[KeyRecord]:
        now = time.time()
        reserved = {
            r[0]: int(r[1])
            for r in self.execute(
                "SELECT key_id, SUM(amount_nano) FROM reservations WHERE expires_at > ? GROUP BY key_id", (now,)
            ).fetchall()
        }
        rows = self.execute(f"SELECT {KEY_COLUMNS} FROM keys ORDER BY created_at").fetchall()
        return [self._key(row, reserved.get(row[0], 0)) for row in rows]

    def revoke_key(self, key_id: str, actor: str = "admin") -> KeyRecord:
        with self.transaction():
            self._require_key(key_id)
            self.execute("UPDATE keys SET status = 'revoked', revoked_at = ? WHERE id = ?", (time.time(), key_id))
            self._audit(actor, "key.revoke", key_id, {})
        return self._found(key_id)

    def rotate_key(self, key_id: str, actor: str = "admin") -> tuple[KeyRecord, str]:
        """A new secret for the same record: its budget, spend and limits stay."""
        secret = new_secret()
        with self.transaction():
            self._require_key(key_id)
            self.execute("UPDATE keys SET hash = ?, prefix = ? WHERE id = ?", (hash_key(secret), secret[:10], key_id))
            self._audit(actor, "key.rotate", key_id, {})
        return self._found(key_id), secret

    def update_key(self, key_id: str, actor: str = "admin", **changes: Any) -> KeyRecord:
        """Change a key's status or limits (``budget_usd``, ``rpm``, ``tpm``, ``max_tokens``, ``models``, ``note``)."""
        columns = {"budget_usd": "budget_nano", "rpm": "rpm", "tpm": "tpm", "max_tokens": "max_tokens"}
        columns |= {"models": "models", "note": "note", "status": "status", "expires_at": "expires_at"}
        values: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in columns:
                raise ConfigError(f"A key has no setting {name!r}.", hint=f"use one of {', '.join(columns)}")
            values[columns[name]] = to_nano(value) if name == "budget_usd" else value
        if "models" in values and values["models"] is not None:
            values["models"] = json.dumps(values["models"])
        with self.transaction():
            self._require_key(key_id)
            if values:
                assignments = ", ".join(f"{column} = ?" for column in values)
                self.execute(f"UPDATE keys SET {assignments} WHERE id = ?", (*values.values(), key_id))
            self._audit(actor, "key.update", key_id, {k: v for k, v in changes.items() if k != "note"})
        return self._found(key_id)

    def _require_key(self, key_id: str) -> None:
        if self.one("SELECT 1 FROM keys WHERE id = ?", (key_id,)) is None:
            raise ConfigError(f"No key has the id {key_id!r}.", hint="`hackkit gateway keys list` shows the ids")

    def _found(self, key_id: str) -> KeyRecord:
        key = self.find_key(key_id)
        assert key is not None
        return key

    def _reserved(self, key_id: str, now: float) -> int:
        row = self.one(
            "SELECT COALESCE(SUM(amount_nano), 0) FROM reservations WHERE key_id = ? AND expires_at > ?", (key_id, now)
        )
        return int(row[0])

    @staticmethod
    def _key(row: Sequence[Any], reserved: int = 0) -> KeyRecord:
        (key_id, team, prefix, status, budget, spent, rpm, tpm, max_tokens, models, created, expires, revoked, note) = (
            row
        )
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
            max_tokens,
            json.loads(models) if models else None,
            float(created),
            expires,
            revoked,
            note,
        )

    # -- the request path -----------------------------------------------------------------

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
        limits = self._check_windows(key, request, reserve_tokens)
        if request.admin is None:
            self._check_budget(key, request, reserve_nano)
            self.execute(
                "INSERT INTO reservations VALUES (?, ?, ?, ?)",
                (request.request_id, key.id, reserve_nano, request.now + request.ttl),
            )
        self.execute(
            "INSERT INTO rate_events VALUES (?, ?, ?, ?)", (request.request_id, key.id, request.now, reserve_tokens)
        )
        return Admission(key, limits, request.answer_cap(key), reserve_nano)

    def authenticate(self, key_hash: str, now: float | None = None) -> KeyRecord:
        """The active key with this hash (a read, for routes that admit nothing)."""
        row = self.one(f"SELECT {KEY_COLUMNS} FROM keys WHERE hash = ?", (key_hash,))
        if row is None:
            raise invalid_key()
        key = self._key(row)
        check_key(key, AdmissionRequest("", key_hash, "", 0, None, None, 0, now=now or time.time()))
        return key

    def _locked_key(self, key_hash: str) -> KeyRecord:
        row = self.one(f"SELECT {KEY_COLUMNS} FROM keys WHERE hash = ?{self.dialect.for_update}", (key_hash,))
        if row is None:
            raise invalid_key()
        return self._key(row)

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
        self.execute("DELETE FROM reservations WHERE key_id = ? AND expires_at <= ?", (key.id, request.now))
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

    def settle(self, settlement: Settlement) -> int:
        """Release the reservation, charge the cost (capped at what was reserved) and log; the charge."""
        with self.transaction():
            row = self.one("SELECT amount_nano FROM reservations WHERE request_id = ?", (settlement.request_id,))
            charge = settlement.cost_nano if row is None else min(settlement.cost_nano, int(row[0]))
            self.execute("DELETE FROM reservations WHERE request_id = ?", (settlement.request_id,))
            if charge:
                self.execute("UPDATE keys SET spent_nano = spent_nano + ? WHERE id = ?", (charge, settlement.key_id))
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

    # -- reading --------------------------------------------------------------------------

    def logs(self, *, after: int = 0, team: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Log rows with id > ``after``, oldest first (``after=0`` and a limit: the newest ``limit``)."""
        where, args = ["id > ?"], [after]  # type: list[str], list[Any]
        if team is not None:
            where.append("team = ?")
            args.append(team)
        columns = f"id, {', '.join(c for c in LOG_COLUMNS if c != 'payload')}, payload"
        if after:
            sql = f"SELECT {columns} FROM requests WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
            return self.rows(sql, (*args, limit))
        sql = f"SELECT {columns} FROM requests WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?"
        return list(reversed(self.rows(sql, (*args, limit))))

    def usage(self, by: str = "team", since: float | None = None) -> list[dict[str, Any]]:
        """Requests, errors, tokens and cost grouped by ``team``, ``model`` or ``day``."""
        groups = {"team": "team", "model": "model_asked", "day": self.day_expression()}
        if by not in groups:
            raise ConfigError(f"Usage cannot be grouped by {by!r}.", hint="use team, model or day")
        where = "WHERE ts >= ?" if since else ""
        sql = (
            f"SELECT {groups[by]} AS {by}, COUNT(*) AS requests, "
            "SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END) AS errors, "
            "COALESCE(SUM(input_tokens), 0) AS input_tokens, COALESCE(SUM(output_tokens), 0) AS output_tokens, "
            f"CAST(COALESCE(SUM(cost_nano), 0) AS BIGINT) AS cost_nano FROM requests {where} "
            f"GROUP BY {groups[by]} ORDER BY {groups[by]}"
        )
        rows = self.rows(sql, (since,) if since else ())
        for row in rows:
            row["cost_usd"] = int(row.pop("cost_nano")) / NANO
        return rows

    def day_expression(self) -> str:
        raise NotImplementedError

    def metric_totals(self) -> list[dict[str, Any]]:
        """Totals by team, model and status, for /metrics."""
        return self.rows(
            "SELECT team, model_asked AS model, status, COUNT(*) AS requests, "
            "COALESCE(SUM(input_tokens), 0) AS input_tokens, COALESCE(SUM(output_tokens), 0) AS output_tokens, "
            "CAST(COALESCE(SUM(cost_nano), 0) AS BIGINT) AS cost_nano FROM requests GROUP BY team, model_asked, status"
        )

    def latency_buckets(self, column: str, bounds: Sequence[float]) -> tuple[list[int], float, int]:
        """Cumulative counts of ``column`` (latency_ms or ttft_ms) at or under each bound, its sum and count."""
        if column not in ("latency_ms", "ttft_ms"):
            raise ValueError(column)
        cases = ", ".join(f"SUM(CASE WHEN {column} <= {float(b)} THEN 1 ELSE 0 END)" for b in bounds)
        row = self.one(f"SELECT {cases}, COALESCE(SUM({column}), 0), COUNT({column}) FROM requests")
        return [int(v or 0) for v in row[: len(bounds)]], float(row[-2]), int(row[-1])

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        return self.rows("SELECT ts, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,))

    def _audit(self, actor: str, action: str, target: str | None, detail: dict[str, Any]) -> None:
        self.execute(
            "INSERT INTO audit (ts, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (time.time(), actor, action, target, json.dumps(detail, ensure_ascii=False)),
        )


def check_key(key: KeyRecord, request: AdmissionRequest) -> None:
    """The key may make this request at all: active, not expired, allowed this model."""
    if key.status == "revoked":
        raise invalid_key("This API key was revoked.")
    if key.status == "pending":
        raise ApiError(
            403,
            "This key is waiting for approval by the organisers.",
            code="key_pending",
            hint="ask a mentor to approve it; it works as soon as they do",
        )
    if key.status == "denied":
        raise ApiError(403, f"This key's request was denied: {key.note or 'no reason given'}.", code="key_denied")
    if key.expires_at is not None and request.now >= key.expires_at:
        raise invalid_key("This API key has expired.")
    if request.model and key.models is not None and request.model not in key.models:
        raise ApiError(
            403,
            f"This key may not use the model {request.model!r}; it may use: {', '.join(key.models) or 'none'}.",
            code="model_not_allowed",
            param="model",
        )


Connector = Callable[[], Any]
