"""A bundle: the folder a deploy target sends or builds, and the report of what is in it.

Every target writes its bundle the same way: into a folder that is either new or a previous
bundle (a folder with other files in it is refused, so nothing is lost), from the project's
non-ignored files, with the secret scan run over the project before anything is copied and over
the bundle once it is written.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hackkit.deploy import secretscan
from hackkit.deploy.errors import BundleError
from hackkit.deploy.frontmatter import FrontMatter
from hackkit.deploy.source import Project

MARKER = ".hackkit-bundle.json"  # lists what the bundle holds; never uploaded


def mask(value: str) -> str:
    """``sk-…(51 characters)``: enough to recognise which key, never enough to use it."""
    return f"{value[:3]}…({len(value)} characters)" if len(value) > 6 else "…"


@dataclass
class Call:
    """One call a deploy makes, as the dry run shows it: secret values masked."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    secret_keys: tuple[str, ...] = ()  # args whose values are secrets (masked when shown)
    when: str = ""  # a condition, when the call is not always made

    def __str__(self) -> str:
        shown = ", ".join(f"{key}={self._show(key, value)}" for key, value in self.args.items())
        return f"{self.name}({shown})" + (f"  [{self.when}]" if self.when else "")

    def _show(self, key: str, value: Any) -> str:
        if key in self.secret_keys:
            if isinstance(value, list):
                return "[" + ", ".join(f"{{key: {s['key']!r}, value: {mask(s['value'])}}}" for s in value) + "]"
            return mask(str(value))
        return repr(value)


@dataclass
class Bundle:
    target: str
    folder: Path
    front_matter: FrontMatter | None = None
    calls: list[Call] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # what to run next (docker build, modal deploy...)
    notes: list[str] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)  # sent as the host's secrets, never as files
    variables: dict[str, str] = field(default_factory=dict)  # plain settings for the host
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def files(self) -> dict[str, int]:
        """Every file in the bundle with its size, the marker left out."""
        return {
            path.relative_to(self.folder).as_posix(): path.stat().st_size
            for path in sorted(self.folder.rglob("*"))
            if path.is_file() and path.name != MARKER
        }


class BundleWriter:
    """Writes one bundle folder from a project; every copy goes through here."""

    def __init__(self, project: Project, folder: Path) -> None:
        self.project = project
        self.folder = folder
        self.copied_folders: list[str] = []

    def start(self) -> None:
        """An empty folder, or a previous bundle emptied; anything else is refused."""
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            raise BundleError(f"{folder} is a file.", hint="pass --out with a folder")
        if folder.is_dir() and any(folder.iterdir()) and not (folder / MARKER).is_file():
            raise BundleError(
                f"{folder} holds files that hackkit did not write; nothing was changed.",
                hint="pass --out with a new or empty folder (a previous bundle is replaced)",
            )
        if folder.is_dir():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        (folder / MARKER).write_text(json.dumps({"written_by": "hackkit deploy"}) + "\n", encoding="utf-8")

    def write(self, name: str, text: str) -> None:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def copy(self, name: str, to: str | None = None) -> None:
        source = self.project.root / name
        if not source.is_file():
            raise BundleError(f"{source} is missing.", hint=f"the bundle needs {name}: restore it, or run hackkit new")
        target = self.folder / (to or name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)

    def copy_folder(self, folder: str) -> int:
        """The folder's non-ignored files; a .env anywhere inside it (ignored or not) stops the deploy."""
        secretscan.raise_if_found(secretscan.env_files_under(self.project.root / folder, self.project.root))
        names = self.project.files_under(folder)
        for name in names:
            self.copy(name)
        self.copied_folders.append(folder)
        return len(names)

    def copy_tree(self, source: Path, to: str) -> None:
        """A folder copied whole, ignored files included (the prebuilt index, a static site)."""
        shutil.copytree(source, self.folder / to, dirs_exist_ok=True)


def scan_project(project: Project) -> None:
    """Every non-ignored file of the project, before anything is copied: SecretFound names file and line."""
    secretscan.raise_if_found(secretscan.scan_files(project.root, project.files))


def scan_bundle(bundle: Bundle) -> None:
    secretscan.raise_if_found(secretscan.scan_files(bundle.folder, list(bundle.files)))


def default_out(project: Project, target: str) -> Path:
    return project.root / "build" / "deploy" / target
