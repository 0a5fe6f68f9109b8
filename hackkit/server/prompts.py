"""Prompts published as REST endpoints: ``POST /v1/prompts/{name}``.

The gateway folder's ``prompts/`` holds versioned templates in the client's format (front matter,
Jinja body); ``model`` names a ``[gateway.models]`` entry. Only that folder is published, never
hackkit's built-in prompts. Files are re-read when they change, so an edit needs no restart.

Several versions can be live at once with weights, for an A/B test::

    [gateway.prompts.summarise]
    versions = {"2" = 0.9, "3" = 0.1}     # one version, weight 1, pins it: the rollback

Each key sees one version (a hash of the key and the prompt picks it), so a team's experience
is stable and the test's groups are disjoint. Without weights, the newest published version
answers. The front matter's ``status`` sets the lifecycle: ``draft`` (the admin key only),
``published`` (the default), ``deprecated`` (answers, with a ``Deprecation`` header) and
``retired`` (410, naming ``replaced_by``).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hackkit.errors import ConfigError
from hackkit.llm.prompts import Prompt, _version_key, parse_prompt
from hackkit.server.errors import ApiError, bad_request


@dataclass
class Endpoint:
    """One published prompt name, with every version on disk."""

    name: str
    versions: dict[str, Prompt]
    weights: dict[str, float] = field(default_factory=dict)  # from [gateway.prompts.NAME] versions

    @property
    def newest(self) -> Prompt:
        live = [v for v, p in self.versions.items() if p.status in ("published", "deprecated")] or list(self.versions)
        return self.versions[max(live, key=_version_key)]

    @property
    def description(self) -> str:
        return self.newest.description

    @property
    def model(self) -> str | None:
        return self.newest.model

    @property
    def status(self) -> str:
        return self.newest.status

    def variables(self) -> list[str]:
        return sorted(self.newest.variables())

    def choose(self, key_id: str) -> Prompt:
        """The version this key sees: sticky, spread by the weights."""
        if not self.weights:
            return self.newest
        total = sum(self.weights.values())
        point = int.from_bytes(hashlib.sha256(f"{self.name}:{key_id}".encode()).digest()[:8], "big") / 2**64 * total
        for version, weight in sorted(self.weights.items(), key=lambda item: _version_key(item[0])):
            point -= weight
            if point < 0:
                return self.versions[version]
        return self.versions[max(self.weights, key=_version_key)]


class PromptRegistry:
    """The ``prompts/`` folder, re-read when a file in it changes."""

    def __init__(self, folder: Path, config: dict[str, Any]) -> None:
        self.folder = folder
        self.config = config
        self._lock = threading.Lock()
        self._signature: tuple[tuple[str, int], ...] | None = None
        self._endpoints: dict[str, Endpoint] = {}

    def endpoints(self) -> dict[str, Endpoint]:
        signature = self._stat()
        with self._lock:
            if signature != self._signature:
                self._endpoints = self._load()
                self._signature = signature
            return self._endpoints

    def _stat(self) -> tuple[tuple[str, int], ...]:
        if not self.folder.is_dir():
            return ()
        found = []
        for entry in sorted(os.scandir(self.folder), key=lambda e: e.name):
            if entry.name.endswith(".md") and entry.is_file():
                found.append((entry.name, entry.stat().st_mtime_ns))
        return tuple(found)

    def _load(self) -> dict[str, Endpoint]:
        versions: dict[str, dict[str, Prompt]] = {}
        for path in sorted(self.folder.glob("*.md")) if self.folder.is_dir() else []:
            prompt = parse_prompt(path.read_text(encoding="utf-8"), str(path))
            versions.setdefault(prompt.name, {})[prompt.version] = prompt
        endpoints = {}
        for name, found in versions.items():
            weights = _weights(name, self.config.get(name) or {}, found)
            endpoints[name] = Endpoint(name, found, weights)
        return endpoints

    def get(self, name: str, *, admin: bool) -> Endpoint:
        try:
            endpoints = self.endpoints()
        except ConfigError as exc:  # a file edited into something invalid: say which, keep serving the rest
            raise ApiError(500, f"The gateway's prompt files cannot be read: {exc.message}", hint=exc.hint) from None
        endpoint = endpoints.get(name)
        if endpoint is None or (endpoint.status == "draft" and not admin):
            names = [n for n, e in endpoints.items() if admin or e.status != "draft"]
            raise ApiError(
                404,
                f"No prompt endpoint is called {name!r}. Published here: {', '.join(names) or 'none'}.",
                code="prompt_not_found",
            )
        return endpoint


def _weights(name: str, config: dict[str, Any], found: dict[str, Prompt]) -> dict[str, float]:
    unknown = set(config) - {"versions"}
    if unknown:
        raise ConfigError(f"[gateway.prompts.{name}] has unknown keys {sorted(unknown)}.", hint="only versions")
    weights = {str(v): float(w) for v, w in (config.get("versions") or {}).items()}
    missing = [v for v in weights if v not in found]
    if missing:
        raise ConfigError(
            f"[gateway.prompts.{name}] weighs versions {', '.join(missing)}, which prompts/ does not have.",
            hint=f"it has {', '.join(sorted(found, key=_version_key))}",
        )
    if weights and (any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0):
        raise ConfigError(f"[gateway.prompts.{name}] versions need positive weights.")
    return {v: w for v, w in weights.items() if w > 0}


def check_variables(prompt: Prompt, given: Any) -> dict[str, Any]:
    """The variables, or a 400 that names the missing and the extra ones."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise bad_request("`variables` must be an object of name: value.", "variables")
    wanted = prompt.variables()
    missing, extra = sorted(wanted - set(given)), sorted(set(given) - wanted)
    if missing or extra:
        parts = [f"missing {', '.join(missing)}" if missing else "", f"unknown {', '.join(extra)}" if extra else ""]
        raise bad_request(
            f"Prompt {prompt.name!r} (version {prompt.version}) takes {', '.join(sorted(wanted)) or 'no variables'}: "
            + "; ".join(p for p in parts if p)
            + ".",
            "variables",
        )
    return given
