"""Prompt templates: Markdown files with YAML front matter and a Jinja body.

A file in the project's ``prompts/`` folder (or shipped with hackkit)::

    ---
    name: summarise
    version: 2
    model: mistral/mistral-small-latest     # optional default model
    params: {temperature: 0.2}
    system: You summarise for busy judges.   # optional, Jinja too
    examples:                                # optional few-shot turns
      - user: "..."
        assistant: "..."
    ---
    Summarise in three bullets: {{ text }}

Several versions of one name live side by side (``summarise.v1.md``, ``summarise.v2.md``);
``load_prompt("summarise")`` takes the highest, ``load_prompt("summarise@1")`` pins one. The name
and version of every call made with a prompt are recorded in the ledger.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from hackkit.errors import ConfigError
from hackkit.llm.types import Message

BUILTIN_PACKAGE = "hackkit.prompts"
# A prompt published by a workshop gateway also has a lifecycle: see docs/gateway.md.
STATUSES = ("draft", "published", "deprecated", "retired")
FRONT_MATTER = {"name", "version", "model", "params", "system", "examples", "description"}
FRONT_MATTER |= {"status", "replaced_by", "approval_required"}


@dataclass
class Prompt:
    name: str
    version: str
    body: str
    system: str | None = None
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    examples: list[dict[str, str]] = field(default_factory=list)
    source: str = ""
    description: str = ""
    status: str = "published"  # draft, published, deprecated, retired (for prompts a gateway publishes)
    replaced_by: str | None = None
    approval_required: bool = True

    def variables(self) -> set[str]:
        """The names the body and system message use: what a caller must fill in."""
        return set(_variables(self.body)) | set(_variables(self.system or ""))

    def render(self, **variables: Any) -> RenderedPrompt:
        messages: list[Message] = []
        if self.system:
            messages.append({"role": "system", "content": _template(self.system).render(**variables)})
        for example in self.examples:
            messages.append({"role": "user", "content": example["user"]})
            messages.append({"role": "assistant", "content": example["assistant"]})
        messages.append({"role": "user", "content": _template(self.body).render(**variables).strip()})
        return RenderedPrompt(self, messages)


@dataclass
class RenderedPrompt:
    """A prompt filled in; pass it to ``chat()`` in place of messages."""

    prompt: Prompt
    messages: list[Message]


@functools.lru_cache(maxsize=256)
def _variables(source: str) -> frozenset[str]:
    import jinja2.meta

    return frozenset(jinja2.meta.find_undeclared_variables(_jinja().parse(source)))


@functools.lru_cache(maxsize=256)
def _template(source: str) -> Any:
    """The compiled template of ``source``: compiling costs far more than rendering (a gateway renders per call)."""
    return _jinja().from_string(source)


@functools.cache
def _jinja() -> Any:
    import jinja2

    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


def parse_prompt(text: str, source: str = "") -> Prompt:
    import yaml

    if not text.startswith("---"):
        raise ConfigError(
            f"Prompt {source} has no front matter.",
            hint="start the file with a --- block holding at least `name:` and `version:`",
        )
    _, front, body = text.split("---", 2)
    meta = yaml.safe_load(front) or {}
    missing = {"name", "version"} - set(meta)
    if missing:
        raise ConfigError(f"Prompt {source} lacks {', '.join(sorted(missing))}.", hint="add them to the front matter")
    unknown = set(meta) - FRONT_MATTER
    if unknown:
        raise ConfigError(
            f"Prompt {source} has unknown keys {sorted(unknown)}.",
            hint=f"allowed: {', '.join(sorted(FRONT_MATTER))}",
        )
    if meta.get("status", "published") not in STATUSES:
        raise ConfigError(f"Prompt {source} has status {meta['status']!r}.", hint=f"use one of {', '.join(STATUSES)}")
    return Prompt(
        name=str(meta["name"]),
        version=str(meta["version"]),
        body=body.strip(),
        system=meta.get("system"),
        model=meta.get("model"),
        params=meta.get("params") or {},
        examples=meta.get("examples") or [],
        source=source,
        description=str(meta.get("description") or ""),
        status=str(meta.get("status") or "published"),
        replaced_by=meta.get("replaced_by"),
        approval_required=bool(meta.get("approval_required", True)),
    )


def available_prompts(folder: Path | None = None) -> dict[str, dict[str, Prompt]]:
    """name -> version -> Prompt; the project's files override the built-in ones by name."""
    found: dict[str, dict[str, Prompt]] = {}
    builtin = resources.files(BUILTIN_PACKAGE)
    for entry in builtin.iterdir():
        if entry.name.endswith(".md"):
            prompt = parse_prompt(entry.read_text(encoding="utf-8"), f"hackkit:{entry.name}")
            found.setdefault(prompt.name, {})[prompt.version] = prompt
    if folder is not None and folder.is_dir():
        project: dict[str, dict[str, Prompt]] = {}
        for path in sorted(folder.glob("**/*.md")):
            prompt = parse_prompt(path.read_text(encoding="utf-8"), str(path))
            project.setdefault(prompt.name, {})[prompt.version] = prompt
        found.update(project)
    return found


def load_prompt(spec: str, folder: Path | None = None) -> Prompt:
    """``"name"`` (newest version) or ``"name@version"``."""
    name, _, version = spec.partition("@")
    versions = available_prompts(folder).get(name)
    if not versions:
        raise ConfigError(
            f"No prompt is called {name!r}.", hint=f"add prompts/{name}.md, or list them with `hackkit prompts`"
        )
    if version:
        if version not in versions:
            raise ConfigError(
                f"Prompt {name!r} has no version {version!r} (it has {', '.join(versions)}).",
                hint="pin one of the versions that exist",
            )
        return versions[version]
    return versions[max(versions, key=_version_key)]


def _version_key(version: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in version.replace("-", ".").split("."))
