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

from hackkit.deploy.options import DeployOptions
from hackkit.deploy.pipeline import TARGETS, Outcome, build, deploy

__all__ = ["TARGETS", "DeployOptions", "Outcome", "build", "deploy"]
