"""The platforms teams bring, as the tags pip resolves wheels for and the platforms uv resolves for."""

from __future__ import annotations

import platform as machine
import sys
from dataclasses import dataclass

from hackkit.errors import HackkitError

PYTHONS = ("3.10", "3.11", "3.12")
GLIBC_MINORS = range(17, 36)  # manylinux 2.17 (CentOS 7) to 2.35 (Ubuntu 22.04)
MACOS = "14.0"  # the oldest macOS PyPI's arm64 torch has wheels for; pip and uv accept wheels for 11.0 to this


@dataclass(frozen=True)
class Target:
    """Where the wheels will be installed: ``platform`` None is this machine, as pip sees it."""

    platform: str | None
    python: str | None

    @property
    def name(self) -> str:
        return f"{self.platform or 'this-machine'}, Python {self.python or this_python()}"

    @property
    def has_this_machines_markers(self) -> bool:
        """Whether environment markers read the same here and there: the same OS, CPU and Python."""
        return self.platform in (None, this_platform()) and self.python in (None, this_python())

    def pip_args(self) -> list[str]:
        """pip's options for this target: none for this machine, wheels only for any other."""
        if self.platform is None and self.python is None:
            return ["--prefer-binary"]
        args = ["--only-binary=:all:", "--implementation", "cp"]
        if self.python:
            args += ["--python-version", self.python]
        for tag in PLATFORM_TAGS.get(self.platform or "", []):
            args += ["--platform", tag]
        return args

    def uv_args(self) -> list[str]:
        """uv's options for this target, which also make it read environment markers as the target's."""
        args = ["--only-binary", ":all:", "--python-version", self.python or this_python()]
        return [*args, "--python-platform", UV_PLATFORMS[self.platform]] if self.platform else args

    def uv_env(self) -> dict[str, str]:
        """uv's macOS targets default to macOS 13.0: name the version the wheels are chosen for."""
        return {"MACOSX_DEPLOYMENT_TARGET": MACOS} if self.platform == "macos-arm64" else {}


def this_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def this_platform() -> str | None:
    """This machine as one of PLATFORM_TAGS' names, if it is one."""
    here = (sys.platform, machine.machine().lower())
    return {v: k for k, v in PLATFORM_SYSTEMS.items()}.get(here)


def _manylinux(arch: str) -> list[str]:
    tags = [f"manylinux_2_{minor}_{arch}" for minor in reversed(GLIBC_MINORS)]
    return [*tags, f"manylinux2014_{arch}"]


PLATFORM_TAGS = {
    "linux-x86_64": _manylinux("x86_64"),
    "linux-aarch64": _manylinux("aarch64"),
    "macos-arm64": [f"macosx_{MACOS.replace('.', '_')}_arm64"],  # pip adds macOS 11-13 and universal2
    "windows-x86_64": ["win_amd64"],
}
PLATFORM_SYSTEMS = {  # each as (sys.platform, platform.machine()) on it
    "linux-x86_64": ("linux", "x86_64"),
    "linux-aarch64": ("linux", "aarch64"),
    "macos-arm64": ("darwin", "arm64"),
    "windows-x86_64": ("win32", "amd64"),
}
UV_PLATFORMS = {  # uv's --python-platform for each, with the same glibc as PLATFORM_TAGS' newest
    "linux-x86_64": f"x86_64-manylinux_2_{GLIBC_MINORS[-1]}",
    "linux-aarch64": f"aarch64-manylinux_2_{GLIBC_MINORS[-1]}",
    "macos-arm64": "aarch64-apple-darwin",
    "windows-x86_64": "x86_64-pc-windows-msvc",
}


def target(platform: str | None, python: str | None) -> Target:
    if platform is not None and platform not in PLATFORM_TAGS:
        raise HackkitError(
            f"Unknown platform {platform!r}.", hint=f"use one of: {', '.join(PLATFORM_TAGS)} (or none for this machine)"
        )
    if python is not None and python not in PYTHONS:
        raise HackkitError(f"Unknown Python {python!r}.", hint=f"use one of: {', '.join(PYTHONS)}")
    return Target(platform, python)
