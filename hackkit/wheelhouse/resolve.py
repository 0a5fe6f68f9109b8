"""What a target would install, and what it cannot get there.

A resolver (pip's ``--dry-run --report`` here, or uv's ``pip compile`` in ``hackkit.wheelhouse.uv``)
gives the packages, or names a requirement with no wheel for the target; ``resolve`` leaves such
a requirement out, names it and tries again. Both resolve with this machine's pip configuration
(its indexes and find-links), so a wheel found here (such as a CPU torch in a local folder) is
the one that lands in the wheelhouse.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hackkit.errors import HackkitError
from hackkit.wheelhouse.platforms import Target

NO_WHEEL = re.compile(r"No matching distribution found for ([A-Za-z0-9][A-Za-z0-9._-]*)")
CUDA_PACKAGE = re.compile(r"^(nvidia-|cuda-|triton$)")
CPU_TORCH = "https://download.pytorch.org/whl/cpu/torch/"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    url: str
    sha256: str

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Missing:
    """A requirement the target cannot get from the indexes, and why."""

    name: str
    reason: str


@dataclass
class Resolution:
    packages: list[Package]
    missing: list[Missing]
    resolver: str = "pip"


@dataclass(frozen=True)
class Attempt:
    """One run of a resolver: the packages, or its error and the package it found no wheel for."""

    packages: list[Package] | None
    error: str
    no_wheel: str | None


@dataclass(frozen=True)
class Resolver:
    """A resolver of requirements for a target (``run``), and whose environment markers it reads."""

    tool: str
    markers: str
    run: Callable[[list[str], Target, Path, bool], Attempt]

    def __str__(self) -> str:
        return f"{self.tool}, with {self.markers} environment markers"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    return subprocess.run(command, capture_output=True, text=True)


def pip_dry_run(requirements: list[str], target: Target, links: Path, deps: bool = True) -> Attempt:
    """pip's resolution of ``requirements`` for ``target``, from its ``--report``."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        args = ["install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report)]
        args += ["--find-links", str(links), *target.pip_args(), *([] if deps else ["--no-deps"]), *requirements]
        if target.platform or target.python:  # pip takes another platform's tags only for a --target folder
            args += ["--target", str(Path(scratch) / "target")]
        done = pip(*args)
        if done.returncode != 0 or not report.exists():
            no_wheel = NO_WHEEL.search(done.stderr)
            return Attempt(None, done.stderr, no_wheel.group(1) if no_wheel else None)
        return Attempt(packages_in(report.read_text()), done.stderr, None)


PIP = Resolver("pip", "this machine's", pip_dry_run)  # even with --platform: pip reads no target's markers


def packages_in(report: str) -> list[Package]:
    found = []
    for item in json.loads(report)["install"]:
        info = item["download_info"]
        sha = info.get("archive_info", {}).get("hashes", {}).get("sha256", "")
        found.append(Package(item["metadata"]["name"], item["metadata"]["version"], info["url"], sha))
    return found


def resolve(
    requirements: list[str], target: Target, links: Path, *, deps: bool = True, resolver: Resolver = PIP
) -> Resolution:
    """Resolve; a requirement with no wheel for the target is left out and named, then the resolver tries again."""
    missing: list[Missing] = []
    wanted = list(requirements)
    while True:
        attempt = resolver.run(wanted, target, links, deps)
        if attempt.packages is not None:
            return without_cuda(Resolution(attempt.packages, missing, str(resolver)), target)
        if attempt.no_wheel is None:
            error = attempt.error.strip()[-2000:]
            raise HackkitError(f"{resolver.tool} could not resolve the project for {target.name}:\n{error}")
        name = canonical(attempt.no_wheel)
        kept = [line for line in wanted if canonical(re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0]) != name]
        missing.append(Missing(name, f"no wheel for {target.name} on the indexes pip uses here"))
        if kept == wanted:  # needed by another requirement: no resolving around it
            raise HackkitError(
                f"{name} has no wheel for {target.name}, and a requirement needs it.", hint=hint_for(name, resolver)
            )
        wanted = kept


def without_cuda(resolution: Resolution, target: Target) -> Resolution:
    """PyPI's torch for some platforms is the CUDA build: name it as missing rather than download gigabytes."""
    cuda = [p for p in resolution.packages if CUDA_PACKAGE.match(canonical(p.name))]
    if not cuda:
        return resolution
    kept = [p for p in resolution.packages if p not in cuda and canonical(p.name) != "torch"]
    reason = (
        f"only the CUDA build is on the indexes for {target.name} ({len(cuda)} CUDA packages left out): "
        f"put the CPU wheel from {CPU_TORCH} in the wheelhouse folder"
    )
    return Resolution(kept, [*resolution.missing, Missing("torch", reason)], resolution.resolver)


def hint_for(name: str, resolver: Resolver) -> str:
    if CUDA_PACKAGE.match(name) and resolver is PIP:  # pip read torch's markers as Linux's, not the target's
        return (
            "torch's Linux CUDA packages were asked for, as pip reads markers as this machine's: "
            "pip install uv (or hackkit-llm[wheelhouse]), which resolves with the platform's own markers"
        )
    return "choose another platform or Python (--platform, --python), or drop the requirement that needs it"
