"""What a deploy was asked for: the CLI's options, as one value the targets read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_HARDWARE = "cpu-basic"
ZEROGPU = "zero-a10g"


@dataclass
class DeployOptions:
    out: Path | None = None  # default: build/deploy/TARGET in the project
    dry_run: bool = False
    bake: bool = False  # ship the prebuilt index; in images, load the offline models at build too
    space: str | None = None  # USER/NAME; default: your user and the project's name
    hardware: str = DEFAULT_HARDWARE
    private: bool = False
    static: Path | None = None  # a folder of HTML to publish as a static Space
    description: str | None = None  # the Space's short_description (at most 60 characters)
    timeout: float = 1800.0  # seconds to wait for the Space to build and start
    poll_interval: float = 5.0
    question: str | None = None  # the canned question; default: the first of [ui] examples
