"""Resolution with uv (``uv pip compile``): another platform's packages, read with that platform's markers.

pip's ``--platform`` changes the wheel tags it accepts but still evaluates environment markers as
this machine's, so from Linux it asks Windows for torch's CUDA packages and leaves out
``colorama``. uv's ``--python-platform`` evaluates them as the target's. Its ``pylock.toml``
names, for each package, the one wheel it chose, with its URL and hash: what pip downloads.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

from hackkit._compat import tomllib
from hackkit.wheelhouse.pipconfig import pip_settings, uv_env_of, uv_index_args
from hackkit.wheelhouse.platforms import Target
from hackkit.wheelhouse.resolve import PIP, Attempt, Package, Resolver

NAME = r"([A-Za-z0-9][A-Za-z0-9._-]*)"
NO_WHEEL = (  # what uv says of a package the target cannot get, most precise first
    re.compile(r"Wheels are (?:required|available) for `([^`]+)`"),  # none for this platform or Python
    re.compile(rf"there are no versions of {NAME}"),  # not on the indexes at all
    re.compile(rf"Because only {NAME}[{{<>=!~][^,]*? is available"),  # not in a version that fits
)


def uv_binary() -> str | None:
    """The uv command: the one the ``uv`` package installed beside hackkit, else one on the PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def resolver_for(target: Target) -> Resolver:
    """uv, when installed, where markers read differently than here; pip (what pip would install) otherwise.

    Not uv everywhere: asked for ``torch==2.13.0``, pip takes a local ``2.13.0+cpu`` wheel from its
    find-links over PyPI's CUDA ``2.13.0``, and uv does not.
    """
    if target.has_this_machines_markers:
        return PIP
    uv = uv_binary()
    if uv is None:
        return PIP
    return Resolver("uv", "the target's", partial(uv_compile, uv, pip_settings()))


def uv_compile(
    uv: str, settings: dict[str, str], requirements: list[str], target: Target, links: Path, deps: bool = True
) -> Attempt:
    """uv's resolution of ``requirements`` for ``target``, from the indexes in pip's ``settings`` and ``links``."""
    with tempfile.TemporaryDirectory() as scratch:
        wanted, lock = Path(scratch) / "requirements.in", Path(scratch) / "pylock.toml"
        wanted.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        command = [uv, "pip", "compile", str(wanted), "-o", str(lock), "--quiet", "--no-config", "--no-header"]
        command += ["--python", sys.executable, "--no-python-downloads", "--find-links", str(links)]
        command += [*target.uv_args(), *uv_index_args(settings), *([] if deps else ["--no-deps"])]
        env = {**os.environ, **uv_env_of(settings), **target.uv_env()}
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0 or not lock.is_file():
            return Attempt(None, done.stderr, no_wheel_in(done.stderr))
        return Attempt(packages_in_lock(lock.read_text(encoding="utf-8")), done.stderr, None)


def no_wheel_in(error: str) -> str | None:
    for pattern in NO_WHEEL:
        if found := pattern.search(error):
            return found.group(1)
    return None


def packages_in_lock(text: str) -> list[Package]:
    """Each package of a ``pylock.toml`` (PEP 751) with the wheel chosen for it."""
    found = []
    for item in tomllib.loads(text).get("packages", []):
        file = (item.get("wheels") or [item.get("archive") or {}])[0]
        sha256 = file.get("hashes", {}).get("sha256", "")
        found.append(Package(item["name"], item["version"], file.get("url", ""), sha256))
    return found
