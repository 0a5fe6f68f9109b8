"""``pitch/pitch.yaml``: the deck's story, written by the team (or drafted, then edited, by them).

Every key is optional to the loader, so a half-written outline still renders (a missing text shows
on its slide as "not written yet"); a key of the wrong type, an unknown key or a bad colour is a
:class:`PitchSpecError` naming the field and the fix.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hackkit.errors import ConfigError

SPEC_FILE = Path("pitch") / "pitch.yaml"
TEXT_FIELDS = ("tagline", "who", "problem", "solution", "ask", "market", "business_model")
LIST_FIELDS = ("demo", "how_it_works", "next_steps", "results")
SLIDE_KEYS = (
    "title",
    "problem",
    "solution",
    "demo",
    "market",
    "business_model",
    "how_it_works",
    "results",
    "next_steps",
    "ask",
)
HEX = re.compile(r"#[0-9a-fA-F]{6}")
URL = re.compile(r"https?://\S+")

# The guidance sentences hackkit 0.1.0's template wrote as values: an outline still holding them is unwritten.
OLD_PLACEHOLDERS = {
    "Who has the problem, and what does it cost them today? One sentence, one number if you have one.",
    "What your app does for them, in one sentence.",
    "What you would build with one more week.",
    "What you want from the judges or the audience.",
}


class PitchSpecError(ConfigError):
    """``pitch/pitch.yaml`` cannot be read: the message names the field."""


class Colors(BaseModel):
    """The team's colours, as ``#rrggbb``; the built-in theme fills in the rest."""

    model_config = ConfigDict(extra="forbid")

    primary: str | None = None  # titles and the accent band
    accent: str | None = None  # highlights, chart bars, diagram arrows
    background: str | None = None
    text: str | None = None

    @field_validator("*")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None and not HEX.fullmatch(value):
            raise ValueError(f"{value!r} is not a colour written as #rrggbb (for example #1f6feb)")
        return value


class PitchSpec(BaseModel):
    """The keys of ``pitch/pitch.yaml``; see docs/pitch.md."""

    model_config = ConfigDict(extra="forbid")

    title: str = ""
    tagline: str = ""
    team: str = ""
    minutes: float = Field(default=5, gt=0, le=60)
    problem: str = ""
    solution: str = ""
    demo: list[str] = Field(default_factory=list)  # the demo's steps, in order
    how_it_works: list[str] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)
    ask: str = ""
    # optional
    demo_url: str | None = None  # used until `hackkit deploy` writes .hackkit/deploy.json
    who: str = ""  # who has the problem: the users, in a few words
    results: list[str] = Field(default_factory=list)  # the team's own results, beside the measured ones
    track: Literal["demo", "startup"] = "demo"
    market: str = ""  # startup track
    business_model: str = ""  # startup track
    colors: Colors = Field(default_factory=Colors)
    notes: dict[str, str] = Field(default_factory=dict)  # slide key -> the team's own speaker notes

    @field_validator(*TEXT_FIELDS, "title", "team", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator(*LIST_FIELDS, mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    @field_validator("demo_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value and not URL.fullmatch(value.strip()):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value.strip() if value else None

    @field_validator("notes")
    @classmethod
    def _slide_keys(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(SLIDE_KEYS))
        if unknown:
            raise ValueError(f"no slide is called {', '.join(unknown)}; the slides are {', '.join(SLIDE_KEYS)}")
        return value

    def written(self, name: str) -> bool:
        """Whether the team (or an accepted draft) wrote field ``name``; guidance placeholders do not count."""
        value = getattr(self, name)
        if isinstance(value, list):
            return any(_is_text(item) for item in value)
        return _is_text(value)

    def missing(self) -> list[str]:
        """The text fields this deck shows and nobody has written yet, in the order the deck uses them."""
        wanted = ["tagline", "who", "problem", "solution", "demo", "next_steps", "ask"]
        if self.track == "startup":
            wanted[5:5] = ["market", "business_model"]
        return [name for name in wanted if not self.written(name)]


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and value.strip() not in OLD_PLACEHOLDERS


def spec_path(project: Path) -> Path:
    return project / SPEC_FILE


def load_spec(project: Path) -> PitchSpec:
    """The project's ``pitch/pitch.yaml``, validated; an empty spec when the file does not exist."""
    path = spec_path(project)
    if not path.is_file():
        return PitchSpec()
    return parse_spec(path.read_text(encoding="utf-8"), path)


def parse_spec(text: str, where: Path | str = SPEC_FILE) -> PitchSpec:
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise PitchSpecError(f"{where} is not valid YAML: {exc}", hint="fix the line it names") from None
    if not isinstance(data, dict):
        raise PitchSpecError(f"{where} must be a mapping of keys (title: ..., problem: ...).", hint=_HINT)
    try:
        return PitchSpec.model_validate(data)
    except ValidationError as exc:
        raise _spec_error(exc, where) from None


_HINT = "see docs/pitch.md for every key of pitch.yaml"


def _spec_error(exc: ValidationError, where: Path | str) -> PitchSpecError:
    problems = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key `{path}`{_nearest(err['loc'])}")
        else:
            problems.append(f"`{path}`: {err['msg'].removeprefix('Value error, ')}")
    return PitchSpecError(f"{where} is not valid:\n  " + "\n  ".join(problems), hint=_HINT)


def _nearest(loc: tuple[int | str, ...]) -> str:
    model: type[BaseModel] = Colors if loc[0] == "colors" and len(loc) > 1 else PitchSpec
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    prefix = "colors." if model is Colors else ""
    return f" (did you mean `{prefix}{close[0]}`?)" if close else f" (valid keys: {', '.join(model.model_fields)})"
