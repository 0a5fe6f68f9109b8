"""What a bundle installs: requirements pinned to this environment, and the hackkit wheel it carries.

Until ``hackkit-llm`` is on PyPI, a bundle carries the wheel of the hackkit that built it in
``wheels/`` and its requirements point at that file, so a Space or an image builds without the
package index knowing hackkit. Every package hackkit's chosen extras name is pinned to the version
installed here, the one the app was tested with.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path

from hackkit import __version__
from hackkit.deploy.errors import BundleError

DISTRIBUTION = "hackkit-llm"
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


def installed_version(name: str) -> str | None:
    """``2.13.0`` for torch ``2.13.0+cpu``; None when it is not installed."""
    try:
        return version(name).split("+")[0]
    except PackageNotFoundError:
        return None


def extras_for(ui: str, rag: bool) -> list[str]:
    return ["rag" if rag else "local", ui]


def direct_requirements(extras: list[str]) -> list[str]:
    """The distributions hackkit-llm's extras name, following ``hackkit-llm[local]`` inside ``rag``."""
    from packaging.requirements import Requirement

    names: list[str] = []
    seen: set[str] = set()
    todo = list(extras)
    while todo:
        extra = todo.pop(0)
        if extra in seen:
            continue
        seen.add(extra)
        for line in requires(DISTRIBUTION) or []:
            requirement = Requirement(line)
            if requirement.marker is None or not requirement.marker.evaluate({"extra": extra}):
                continue
            if requirement.name == DISTRIBUTION:
                todo += sorted(requirement.extras)
            elif requirement.name not in names:
                names.append(requirement.name)
    return names


@dataclass
class Requirements:
    """The lines of a bundle's requirements.txt, and the wheel file it points at (if any)."""

    lines: list[str]
    wheel: Path | None = None

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def pinned(
    extras: list[str], wheel_name: str | None, *, cpu_index: bool, also: dict[str, str | None] | None = None
) -> Requirements:
    """``requirements.txt`` for a bundle: torch first, hackkit from its wheel (or the index), the rest pinned."""
    torch = installed_version("torch") or "2.13.0"
    lines = [f"# Pinned by hackkit {__version__} deploy from the environment that built this bundle."]
    if cpu_index:
        lines.append(f"--extra-index-url {CPU_TORCH_INDEX}  # CPU torch: the default Linux wheel brings CUDA")
    lines.append(f"torch=={torch}")
    extra_list = ",".join(extras)
    if wheel_name:
        lines.append(f"./wheels/{wheel_name}[{extra_list}]  # hackkit-llm {__version__}, carried in this bundle")
    else:
        lines.append(f"{DISTRIBUTION}[{extra_list}]=={__version__}")
    for name in [*direct_requirements(extras), *(also or {})]:
        if name == "torch":
            continue
        pin = (also or {}).get(name) or installed_version(name)
        lines.append(f"{name}=={pin}" if pin else name)
    return Requirements(lines)


def hackkit_wheel(folder: Path) -> Path | None:
    """The wheel of this hackkit in ``folder``: built from its checkout, copied, or None from an index."""
    from hackkit.project import installed_from

    source = installed_from()
    folder.mkdir(parents=True, exist_ok=True)
    if not source:
        return None
    if source.startswith("file://") and source.endswith(".whl"):
        path = Path(source.removeprefix("file://"))
        return Path(shutil.copy(path, folder / path.name))
    return _build_wheel(source, folder)


CHECKOUT_PARTS = ("pyproject.toml", "setup.py", "README.md", "hackkit", "template")


def _build_wheel(source: str, folder: Path) -> Path:
    """The wheel of a checkout (kept in the cache under a fingerprint of its files), or of a pip URL."""
    location = source.removeprefix("file://") if source.startswith("file://") else source
    cached = _cached_wheel(Path(location)) if Path(location).is_dir() else None
    if cached is not None and cached.is_file():
        return Path(shutil.copy2(cached, folder / cached.name))
    wheel = _pip_wheel(location, folder)
    if cached is not None:
        _keep(wheel, cached.with_name(wheel.name))
    return wheel


def _keep(wheel: Path, kept: Path) -> None:
    """A copy of the wheel in the cache, renamed into place whole so another deploy never reads half of it."""
    kept.parent.mkdir(parents=True, exist_ok=True)
    partial = kept.with_name(f".{kept.name}.{os.getpid()}.partial")
    shutil.copy2(wheel, partial)
    os.replace(partial, kept)


def _cached_wheel(checkout: Path) -> Path | None:
    """Where the wheel of the checkout as it is now is kept: unchanged files, the same wheel."""
    from hackkit.llm.providers.local import cache_root

    digest = hashlib.sha256()
    for part in CHECKOUT_PARTS:
        paths = sorted(p for p in (checkout / part).rglob("*") if p.is_file()) if (checkout / part).is_dir() else []
        for path in paths or [checkout / part]:
            if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path):
                stat = path.stat()
                digest.update(f"{path.relative_to(checkout)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    folder = cache_root() / "wheels" / digest.hexdigest()[:16]
    found = sorted(folder.glob("hackkit_llm-*.whl")) if folder.is_dir() else []
    return found[0] if found else folder / "pending.whl"


def _pip_wheel(location: str, folder: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="hackkit-wheel-") as scratch:
        if Path(location).is_dir():  # a clean copy: setuptools' build/ in a checkout keeps files deleted since
            location = _clean_copy(Path(location), Path(scratch) / "source")
        command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", scratch]
        result = subprocess.run([*command, location], capture_output=True, text=True)
        wheels = sorted(Path(scratch).glob("hackkit_llm-*.whl"))
        if result.returncode or not wheels:
            raise BundleError(
                f"Could not build the hackkit wheel from {location}: {result.stderr.strip()[-500:]}",
                hint="pip wheel needs setuptools in this environment: pip install setuptools",
            )
        for old in folder.glob("hackkit_llm-*.whl"):
            old.unlink()
        return Path(shutil.move(str(wheels[0]), folder / wheels[0].name))


def _clean_copy(checkout: Path, target: Path) -> str:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for part in CHECKOUT_PARTS:
        source = checkout / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=ignore)
        elif source.is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)
    return str(target)


def python_version() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def requirement_names(text: str) -> list[str]:
    """The distribution names a requirements text installs (tests and checks read it)."""
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        if line.startswith("./wheels/"):
            names.append(DISTRIBUTION)
            continue
        names.append(re.split(r"[\[=<>!~ ;@]", line, maxsplit=1)[0])
    return names
