"""What pip would install for a target, from its ``--dry-run --report``, and what it cannot get there.

pip resolves with this machine's own configuration (its indexes and find-links), so a wheel it
finds here (such as a CPU torch in a local folder) is the one that lands in the wheelhouse.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
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


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    return subprocess.run(command, capture_output=True, text=True)


def dry_run(
    requirements: list[str], target: Target, links: Path, *, deps: bool = True
) -> subprocess.CompletedProcess[str]:
    """pip's resolution of ``requirements`` for ``target``; the report is on stdout."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        args = ["install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report)]
        args += ["--find-links", str(links), *target.pip_args(), *([] if deps else ["--no-deps"]), *requirements]
        if target.platform or target.python:  # pip takes another platform's tags only for a --target folder
            args += ["--target", str(Path(scratch) / "target")]
        done = pip(*args)
        done.stdout = report.read_text() if report.exists() else ""
    return done


def packages_in(report: str) -> list[Package]:
    found = []
    for item in json.loads(report)["install"]:
        info = item["download_info"]
        sha = info.get("archive_info", {}).get("hashes", {}).get("sha256", "")
        found.append(Package(item["metadata"]["name"], item["metadata"]["version"], info["url"], sha))
    return found


def resolve(requirements: list[str], target: Target, links: Path, *, deps: bool = True) -> Resolution:
    """Resolve; a requirement with no wheel for the target is left out and named, then pip tries again."""
    missing: list[Missing] = []
    wanted = list(requirements)
    while True:
        done = dry_run(wanted, target, links, deps=deps)
        if done.returncode == 0:
            return without_cuda(Resolution(packages_in(done.stdout), missing), target)
        match = NO_WHEEL.search(done.stderr)
        if not match:
            raise HackkitError(f"pip could not resolve the project for {target.name}:\n{done.stderr.strip()[-2000:]}")
        name = canonical(match.group(1))
        kept = [line for line in wanted if canonical(re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0]) != name]
        missing.append(Missing(name, f"no wheel for {target.name} on the indexes pip uses here"))
        if kept == wanted:  # needed by another requirement: pip cannot resolve around it
            raise HackkitError(
                f"{name} has no wheel for {target.name}, and a requirement needs it.", hint=hint_for(name)
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
    return Resolution(kept, [*resolution.missing, Missing("torch", reason)])


def hint_for(name: str) -> str:
    if CUDA_PACKAGE.match(name):  # pip reads torch's markers as this machine's (Linux), not the target's
        return (
            "torch's Linux CUDA packages were asked for: build this platform's wheelhouse on a machine of that platform"
        )
    return "choose another platform or Python (--platform, --python), or drop the requirement that needs it"
