"""Keys in the store: created, listed, revoked, rotated, changed. Secrets are kept only as hashes."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from hackkit.errors import ConfigError
from hackkit.server.store.records import KeyRecord, hash_key, key_from_row, new_secret, to_nano
from hackkit.server.store.sql import KEY_COLUMNS, SQLBase

TEAM_NAME_MAX = 200


class KeysMixin(SQLBase):
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
        contact: str | None = None,
        reason: str | None = None,
        actor: str = "admin",
    ) -> tuple[KeyRecord, str]:
        """A new key; the secret is returned here and never again."""
        if not team.strip():
            raise ConfigError("A key needs a team name.", hint="pass --team NAME")
        if len(team.strip()) > TEAM_NAME_MAX:
            raise ConfigError(
                f"A team name is at most {TEAM_NAME_MAX} characters; this one has {len(team.strip())}.",
                hint="use a shorter --team NAME (it goes on every log line and handout)",
            )
        secret, key_id = new_secret(), "k" + secrets.token_hex(4)
        with self.transaction():
            self.execute(
                f"INSERT INTO keys ({KEY_COLUMNS}, hash) VALUES "
                "(?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, NULL, NULL, ?)",
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
                    contact,
                    reason,
                    hash_key(secret),
                ),
            )
            self._audit(actor, "key.create", key_id, {"team": team.strip(), "status": status})
        key = self.find_key(key_id)
        assert key is not None
        return key, secret

    def find_key(self, key_id: str) -> KeyRecord | None:
        row = self.one(f"SELECT {KEY_COLUMNS} FROM keys WHERE id = ?", (key_id,))
        return key_from_row(row, self._reserved(key_id, time.time())) if row else None

    def list_keys(self) -> list[KeyRecord]:
        now = time.time()
        reserved = {
            r[0]: int(r[1])
            for r in self.execute(
                "SELECT key_id, SUM(amount_nano) FROM reservations WHERE expires_at > ? GROUP BY key_id", (now,)
            ).fetchall()
        }
        rows = self.execute(f"SELECT {KEY_COLUMNS} FROM keys ORDER BY created_at").fetchall()
        return [key_from_row(row, reserved.get(row[0], 0)) for row in rows]

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

    def update_key(self, key_id: str, actor: str = "admin", action: str = "key.update", **changes: Any) -> KeyRecord:
        """Change a key's status or limits (``budget_usd``, ``rpm``, ``tpm``, ``max_tokens``, ``models``, ``note``)."""
        columns = {"budget_usd": "budget_nano", "rpm": "rpm", "tpm": "tpm", "max_tokens": "max_tokens"}
        columns |= {"models": "models", "note": "note", "status": "status", "expires_at": "expires_at"}
        columns |= {"decision": "decision", "decided_at": "decided_at"}
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
            self._audit(actor, action, key_id, {k: v for k, v in changes.items() if k != "note"})
        return self._found(key_id)

    def _require_key(self, key_id: str) -> None:
        if self.one("SELECT 1 FROM keys WHERE id = ?", (key_id,)) is None:
            raise ConfigError(f"No key has the id {key_id!r}.", hint="`hackkit gateway keys list` shows the ids")

    def _found(self, key_id: str) -> KeyRecord:
        key = self.find_key(key_id)
        assert key is not None
        return key

    # -- requests and approvals -----------------------------------------------------------

    def request_key(
        self, team: str, *, contact: str | None, reason: str | None, models: list[str] | None, limits: dict[str, Any]
    ) -> tuple[KeyRecord, str]:
        """A key a team asked for: handed over at once, inactive until a mentor approves it."""
        return self.create_key(
            team, status="pending", contact=contact, reason=reason, models=models, actor="request", **limits
        )

    def pending_keys(self) -> list[KeyRecord]:
        return [key for key in self.list_keys() if key.status == "pending"]

    def approve_key(self, key_id: str, actor: str = "admin", **limits: Any) -> KeyRecord:
        """Make a pending (or denied) key active, with ``limits`` (``models=None``: every model)."""
        self._require_status(key_id, {"pending", "denied"})
        return self.update_key(
            key_id, actor, "key.approve", status="active", decision=None, decided_at=time.time(), **limits
        )

    def deny_key(self, key_id: str, reason: str, actor: str = "admin") -> KeyRecord:
        if not reason.strip():
            raise ConfigError("A denial needs a reason: the team's calls show it.", hint="pass --reason TEXT")
        self._require_status(key_id, {"pending", "active"})
        return self.update_key(
            key_id, actor, "key.deny", status="denied", decision=reason.strip(), decided_at=time.time()
        )

    def count_pending(self) -> int:
        return int(self.one("SELECT COUNT(*) FROM keys WHERE status = 'pending'")[0])

    def _require_status(self, key_id: str, allowed: set[str]) -> None:
        key = self.find_key(key_id)
        if key is None:
            raise ConfigError(f"No key has the id {key_id!r}.", hint="`hackkit gateway keys pending` lists them")
        if key.status not in allowed:
            raise ConfigError(f"Key {key_id} is {key.status}, so it cannot be changed that way.")
