"""``hackkit deploy``: Hugging Face Spaces, Docker, Render and Modal, with the checks done first.

    from hackkit.deploy import DeployOptions, deploy
    outcome = deploy("spaces", DeployOptions(dry_run=True))   # the bundle, its checks, the calls

Modules, one concept each: ``source`` (the project), ``secretscan``, ``frontmatter``,
``files`` (the Dockerfile, .dockerignore, render.yaml and Modal app that ``hackkit new`` writes
too), ``versions`` (pinned requirements, the hackkit wheel), ``appfiles`` and ``bundle`` (what a
bundle holds), ``spaces`` and ``containers`` (the targets), ``hub`` (the push), ``probe`` (the
canned question), ``record`` (``.hackkit/deploy.json``), ``zerogpu`` (local models on ZeroGPU).
Importing this package imports no heavy library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hackkit.deploy.options import DeployOptions
    from hackkit.deploy.pipeline import TARGETS, Outcome, build, deploy

__all__ = ["TARGETS", "DeployOptions", "Outcome", "build", "deploy"]
_HOMES = {"DeployOptions": "options", "TARGETS": "pipeline", "Outcome": "pipeline", "build": "pipeline"}


def __getattr__(name: str) -> Any:
    """The pipeline is imported on first use: ``hackkit new`` needs only ``files``, not the settings' 0.1 s."""
    if name in __all__:
        return getattr(importlib.import_module(f"hackkit.deploy.{_HOMES.get(name, 'pipeline')}"), name)
    raise AttributeError(f"module 'hackkit.deploy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
