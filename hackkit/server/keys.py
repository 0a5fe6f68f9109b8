"""Team keys as a mentor asks for them: from flags, from JSON, or a room's worth from a CSV file.

A key's limits start from ``[gateway.keys]`` and are overridden per key. The secret is random,
prefixed ``hk-``, shown once, and stored only as its SHA-256.
"""

from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hackkit.errors import ConfigError
from hackkit.server.config import KeyDefaults
from hackkit.server.store import KeyRecord, SQLStore

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
CSV_COLUMNS = ("team", "budget", "rpm", "tpm", "models", "max_tokens", "expires")


def parse_duration(text: str) -> float:
    """``"48h"`` -> 172800.0 seconds; ``s``, ``m``, ``h``, ``d`` and ``w`` are understood."""
    found = DURATION.match(text or "")
    if not found:
        raise ConfigError(f"{text!r} is not a duration.", hint="write a number and a unit: 30m, 48h, 7d")
    return float(found.group(1)) * SECONDS[found.group(2)]


@dataclass
class KeySpec:
    team: str
    budget: float | None = None
    rpm: int | None = None
    tpm: int | None = None
    models: list[str] | None = None
    max_tokens: int | None = None
    expires: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any], defaults: KeyDefaults) -> KeySpec:
        models = body.get("models")
        if isinstance(models, str):
            models = [m.strip() for m in models.split(",") if m.strip()]
        spec = cls(
            team=str(body.get("team") or ""),
            budget=_number(body.get("budget"), "budget", float),
            rpm=_number(body.get("rpm"), "rpm", int),
            tpm=_number(body.get("tpm"), "tpm", int),
            models=models,
            max_tokens=_number(body.get("max_tokens"), "max_tokens", int),
            expires=body.get("expires"),
        )
        return spec.with_defaults(defaults)

    def with_defaults(self, defaults: KeyDefaults) -> KeySpec:
        """Unset limits take ``[gateway.keys]``'s."""
        return KeySpec(
            self.team,
            defaults.budget if self.budget is None else self.budget,
            defaults.rpm if self.rpm is None else self.rpm,
            defaults.tpm if self.tpm is None else self.tpm,
            self.models,
            defaults.max_tokens if self.max_tokens is None else self.max_tokens,
            defaults.expires if self.expires is None else self.expires,
        )

    def check(self) -> None:
        if not self.team.strip():
            raise ConfigError("A key needs a team name.", hint="pass --team NAME (any text)")
        for name in ("budget", "rpm", "tpm", "max_tokens"):
            value = getattr(self, name)
            if value is not None and value < (0 if name == "budget" else 1):
                raise ConfigError(f"{name} must be {'0 or more' if name == 'budget' else 'at least 1'}, not {value}.")


def _number(value: Any, name: str, kind: type) -> Any:
    if value is None or value == "":
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, not {value!r}.") from None


def create(store: SQLStore, spec: KeySpec, actor: str = "admin") -> tuple[KeyRecord, str]:
    """One key from ``spec``: (its record, its secret)."""
    spec.check()
    expires_at = time.time() + parse_duration(spec.expires) if spec.expires else None
    return store.create_key(
        spec.team,
        budget_usd=spec.budget,
        rpm=spec.rpm,
        tpm=spec.tpm,
        max_tokens=spec.max_tokens,
        models=spec.models,
        expires_at=expires_at,
        actor=actor,
    )


def read_teams(path: Path, defaults: KeyDefaults) -> list[KeySpec]:
    """A CSV with a ``team`` column, and optionally budget, rpm, tpm, models (``a;b`` or ``a,b`` quoted)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    if "team" not in columns:
        raise ConfigError(f"{path} has no `team` column.", hint="the first line names the columns: team,budget,rpm")
    unknown = set(columns) - set(CSV_COLUMNS)
    if unknown:
        raise ConfigError(f"{path} has unknown columns: {', '.join(sorted(unknown))}.", hint=f"use {CSV_COLUMNS}")
    specs = []
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if not row.get("team"):
            continue
        if row.get("models"):
            row["models"] = row["models"].replace(";", ",")
        try:
            specs.append(KeySpec.from_json(row, defaults))
        except ConfigError as exc:
            raise ConfigError(f"{path}, line {line}: {exc.message}", hint=exc.hint) from None
    if not specs:
        raise ConfigError(f"{path} names no team.", hint="add one line per team under the header")
    return specs
