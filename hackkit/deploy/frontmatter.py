"""A Space's README front matter, checked against the Spaces configuration reference before a push.

The Hub refuses some of these only when the files arrive (a ``short_description`` over 60
characters, an unknown ``sdk``), and quietly ignores others (a hex colour); both are caught here,
with the fix. ``suggested_hardware`` only suggests: the hardware a Space runs on is set when it is
created (``space_hardware``), not by this file.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from hackkit.deploy.errors import FrontMatterError

SDKS = ("gradio", "docker", "static")
COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
HARDWARE = (
    "cpu-basic",
    "cpu-upgrade",
    "zero-a10g",
    "t4-small",
    "t4-medium",
    "l4x1",
    "l4x4",
    "l40sx1",
    "l40sx4",
    "l40sx8",
    "a10g-small",
    "a10g-large",
    "a10g-largex2",
    "a10g-largex4",
    "a100-large",
    "a100x4",
    "a100x8",
)
MAX_SHORT_DESCRIPTION = 60
MAX_TITLE = 100


@dataclass
class FrontMatter:
    """The keys hackkit writes, in the Hub's names; ``None`` leaves a key out."""

    title: str
    sdk: str
    short_description: str = ""
    emoji: str = "🚀"
    colorFrom: str = "blue"  # the Hub spells these in camelCase
    colorTo: str = "indigo"
    sdk_version: str | None = None
    python_version: str | None = None
    app_file: str | None = None
    app_port: int | None = None
    suggested_hardware: str | None = None
    pinned: bool = False
    license: str | None = None
    tags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, [], "")}

    def render(self) -> str:
        import yaml

        text = yaml.safe_dump(self.as_dict(), sort_keys=False, allow_unicode=True, width=1000)
        return f"---\n{text}---\n"


def problems(matter: FrontMatter, files: set[str] | None = None) -> list[str]:
    """What the Hub would refuse or ignore, each with its fix; ``files`` (the bundle) checks ``app_file``."""
    found = [*_sdk_problems(matter), *_text_problems(matter), *_look_problems(matter)]
    if matter.suggested_hardware is not None and matter.suggested_hardware not in HARDWARE:
        flavours = ", ".join(HARDWARE)
        found.append(f"suggested_hardware {matter.suggested_hardware!r} is not a Spaces flavour ({flavours})")
    if files is not None and matter.app_file and matter.app_file not in files:
        found.append(f"app_file {matter.app_file!r} is not in the bundle (NO_APP_FILE on the Hub)")
    return found


def check(matter: FrontMatter, files: set[str] | None = None) -> None:
    if found := problems(matter, files):
        raise FrontMatterError(
            "The Space's README front matter would be refused:\n  " + "\n  ".join(found),
            hint="see https://huggingface.co/docs/hub/spaces-config-reference",
        )


def _sdk_problems(matter: FrontMatter) -> list[str]:
    if matter.sdk == "streamlit":
        return ["sdk 'streamlit' is deprecated on Spaces: a Streamlit app goes as sdk 'docker' on port 8501"]
    if matter.sdk not in SDKS:
        return [f"sdk {matter.sdk!r} is not one of {', '.join(SDKS)}"]
    found = []
    if matter.sdk == "gradio" and not matter.sdk_version:
        found.append("sdk 'gradio' needs sdk_version (the Gradio version the app was tested with)")
    if matter.app_port is not None and matter.sdk != "docker":
        found.append("app_port is for sdk 'docker' only")
    if matter.app_port is not None and not 1 <= matter.app_port <= 65535:
        found.append(f"app_port {matter.app_port} is not a port")
    if matter.python_version is not None and not _is_python_version(matter.python_version):
        found.append(f"python_version {matter.python_version!r} is not a version such as '3.11'")
    return found


def _text_problems(matter: FrontMatter) -> list[str]:
    found = []
    if len(matter.short_description) > MAX_SHORT_DESCRIPTION:
        found.append(
            f"short_description is {len(matter.short_description)} characters; the Hub takes at most "
            f"{MAX_SHORT_DESCRIPTION} (shorten [ui] description, or pass --description)"
        )
    if "\n" in matter.short_description:
        found.append("short_description must be one line")
    if not matter.title.strip() or len(matter.title) > MAX_TITLE:
        found.append(f"title must be 1 to {MAX_TITLE} characters")
    return found


def _look_problems(matter: FrontMatter) -> list[str]:
    found = []
    for key in ("colorFrom", "colorTo"):
        value = getattr(matter, key)
        if value not in COLORS:
            hint = " (hex colours are not accepted)" if str(value).startswith("#") else ""
            found.append(f"{key} {value!r} is not one of {', '.join(COLORS)}{hint}")
    if not is_emoji(matter.emoji):
        found.append(f"emoji {matter.emoji!r} is not a single emoji")
    return found


def is_emoji(text: str) -> bool:
    """One emoji, possibly a sequence joined by ZWJ or with a variation selector (👩‍💻, ❤️)."""
    if not text or len(text) > 10:
        return False
    joiners = {"\u200d", "\ufe0f", "\ufe0e"}
    symbols = [c for c in text if c not in joiners and not 0x1F3FB <= ord(c) <= 0x1F3FF]
    return bool(symbols) and all(unicodedata.category(c) == "So" for c in symbols) and len(symbols) <= 4


def _is_python_version(value: str) -> bool:
    parts = value.split(".")
    return 2 <= len(parts) <= 3 and all(part.isdigit() for part in parts) and parts[0] == "3"


def short_description(text: str) -> str:
    """A description that fits the Hub's 60 characters, cut at a word, or "" for none."""
    line = " ".join(text.split())
    if len(line) <= MAX_SHORT_DESCRIPTION:
        return line
    cut = line[: MAX_SHORT_DESCRIPTION - 1].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"
