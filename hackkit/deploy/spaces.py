"""The Hugging Face Spaces bundle: which SDK, the README's front matter, and the calls a push makes.

Today's rules (2026): a free account gets HTTP 402 for a Gradio or Docker Space, even on
cpu-basic, but may host up to two ZeroGPU Gradio Spaces (``--hardware zero-a10g``: a
``@spaces.GPU`` function, Python 3.10 or 3.12) and any number of static Spaces. Streamlit goes
as a Docker Space on port 8501 with XSRF protection off, since the Streamlit SDK is deprecated.
"""

from __future__ import annotations

from pathlib import Path

from hackkit.deploy import frontmatter, secretscan, versions
from hackkit.deploy.appfiles import AppOptions, spaces_version, write_app
from hackkit.deploy.bundle import Bundle, BundleWriter, Call
from hackkit.deploy.containers import write_docker
from hackkit.deploy.errors import BundleError
from hackkit.deploy.frontmatter import FrontMatter
from hackkit.deploy.options import ZEROGPU, DeployOptions

ZEROGPU_PYTHON = "3.12"  # ZeroGPU runs 3.10 and 3.12 only
LICENSES = {"mit": "mit", "apache-2.0": "apache-2.0", "bsd-3-clause": "bsd-3-clause"}
TRUST_PROXY = {"HACKKIT_UI_TRUST_PROXY": "1"}  # the Hub's proxy is in front: the first X-Forwarded-For hop counts
ENTRY_NAME = "zerogpu_app.py"
ENTRY_FILE = '''"""ZeroGPU entry point, written by hackkit deploy: the team's app.py, its local models on a lent GPU.

ZeroGPU needs `import spaces` before anything touches CUDA, and at least one @spaces.GPU function:
hackkit.deploy.zerogpu has two (chat and stream), which every local/... model call goes through.
"""

import runpy

import spaces  # noqa: F401

from hackkit.deploy import zerogpu

zerogpu.install()
runpy.run_path("app.py", run_name="__main__")
'''
EXISTING = "only if the Space exists already (create_repo sets them for a new one)"
UPLOAD_IGNORE = [".env", "**/.env", ".env.*", "**/.env.*", ".git/**", "**/__pycache__/**", "*.pyc", ".hackkit/ledger*"]


def write_spaces(writer: BundleWriter, options: DeployOptions) -> Bundle:
    if options.static is not None:
        bundle = _static(writer, options)
    elif writer.project.ui == "streamlit":
        bundle = _streamlit(writer, options)
    else:
        bundle = _gradio(writer, options)
    bundle.target = "spaces"
    matter = bundle.front_matter
    assert matter is not None
    writer.write("README.md", matter.render() + _readme_body(writer, bundle))
    frontmatter.check(matter, set(bundle.files))
    if options.static is None:
        bundle.secrets = writer.project.secrets()
        if others := writer.project.other_env_names():
            bundle.notes.append(f"not sent (hackkit does not read them): {', '.join(others)} from .env")
    bundle.options.update(hardware=options.hardware, private=options.private, sdk=matter.sdk)
    return bundle


def _gradio(writer: BundleWriter, options: DeployOptions) -> Bundle:
    project, zero = writer.project, options.hardware == ZEROGPU
    also = {"spaces": spaces_version()} if zero else {}
    notes = write_app(writer, AppOptions(cpu_index=not zero, index=options.bake, local_model_file=True, also=also))
    if zero:
        writer.write(ENTRY_NAME, ENTRY_FILE)
        if not (project.settings.llm.model or "").startswith("local/"):
            notes.append("ZeroGPU lends a GPU to local/... models only: set [llm] model to one to use it")
    if project.rag and not options.bake:
        notes.append("no index in the bundle: the Space answers without your documents (hackkit ingest, then --bake)")
    bundle = Bundle("spaces", writer.folder, notes=notes)
    bundle.front_matter = _matter(writer, options, "gradio")
    bundle.front_matter.sdk_version = versions.installed_version("gradio")
    bundle.front_matter.python_version = ZEROGPU_PYTHON if zero else versions.python_version()
    bundle.front_matter.app_file = ENTRY_NAME if zero else "app.py"
    bundle.variables = {"HOST": "0.0.0.0", "PORT": "7860", **TRUST_PROXY}
    return bundle


def _streamlit(writer: BundleWriter, options: DeployOptions) -> Bundle:
    if options.hardware == ZEROGPU:
        raise BundleError(
            "ZeroGPU runs Gradio Spaces only, and this app is a Streamlit app.",
            hint="deploy it with --hardware cpu-basic (a Docker Space: PRO, or credits), or as "
            "`hackkit deploy docker` / `render` elsewhere",
        )
    bundle = write_docker(writer, options)
    bundle.commands = []
    bundle.front_matter = _matter(writer, options, "docker")
    bundle.front_matter.app_port = bundle.options["spec"].port
    bundle.variables = dict(TRUST_PROXY)
    return bundle


def _static(writer: BundleWriter, options: DeployOptions) -> Bundle:
    source = options.static
    assert source is not None
    folder = source if source.is_absolute() else writer.project.root / source
    pages = sorted(p.relative_to(folder).as_posix() for p in folder.glob("*.html")) if folder.is_dir() else []
    if not pages:
        raise BundleError(
            f"{folder} has no HTML page to publish.",
            hint="give the folder `hackkit pitch` writes (pitch/out/), with an index.html in it",
        )
    secretscan.raise_if_found(secretscan.env_files_under(folder, folder))
    secretscan.raise_if_found(secretscan.scan_files(folder, _all_files(folder)))
    writer.copy_tree(folder, ".")
    bundle = Bundle("spaces", writer.folder)
    bundle.front_matter = _matter(writer, options, "static")
    bundle.front_matter.app_file = "index.html" if "index.html" in pages else pages[0]
    return bundle


def _all_files(folder: Path) -> list[str]:
    return [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file()]


def _matter(writer: BundleWriter, options: DeployOptions, sdk: str) -> FrontMatter:
    ui = writer.project.settings.ui
    description = options.description
    if description is None:
        description = frontmatter.short_description(ui.description)
    license_ = LICENSES.get(str(writer.project.answers.get("license", "")))
    return FrontMatter(
        title=ui.title[: frontmatter.MAX_TITLE],
        sdk=sdk,
        short_description=description,
        emoji="💬" if sdk != "static" else "🎤",
        suggested_hardware=options.hardware if sdk != "static" else None,
        license=license_,
        tags=["hackkit"],
    )


def _readme_body(writer: BundleWriter, bundle: Bundle) -> str:
    ui = writer.project.settings.ui
    from hackkit import __version__

    return f"\n# {ui.title}\n\n{ui.description}\n\nDeployed with `hackkit deploy spaces` (hackkit {__version__}).\n"


def space_id(options: DeployOptions, user: str, writer: BundleWriter) -> str:
    """``--space`` as given (a bare NAME goes in your namespace), or your user and the project's name."""
    if options.space:
        return options.space if "/" in options.space else f"{user}/{options.space}"
    suffix = "-pitch" if options.static is not None else ""
    return f"{user}/{writer.project.slug}{suffix}"


def plan(bundle: Bundle, repo_id: str) -> list[Call]:
    """Every Hub call the push makes, in order; the dry run prints exactly these."""
    secrets = [{"key": key, "value": value} for key, value in bundle.secrets.items()]
    variables = [{"key": key, "value": value} for key, value in bundle.variables.items()]
    hardware = bundle.options["hardware"]
    create = {"repo_id": repo_id, "repo_type": "space", "space_sdk": bundle.options["sdk"], "exist_ok": True}
    if bundle.options["sdk"] != "static":
        create["space_hardware"] = hardware
    create["private"] = bundle.options["private"]
    if secrets:
        create["space_secrets"] = secrets
    if variables:
        create["space_variables"] = variables
    calls = [Call("repo_exists", {"repo_id": repo_id, "repo_type": "space"})]
    calls.append(Call("create_repo", create, secret_keys=("space_secrets",)))
    calls += [
        Call("add_space_secret", {"repo_id": repo_id, **s}, secret_keys=("value",), when=EXISTING) for s in secrets
    ]
    calls += [Call("add_space_variable", {"repo_id": repo_id, **v}, when=EXISTING) for v in variables]
    calls.append(Call("upload_folder", upload_args(bundle, repo_id)))
    return calls


def upload_args(bundle: Bundle, repo_id: str) -> dict[str, object]:
    """Exactly the bundle's files are allowed; .env and git folders are ignored on top (upload_folder
    reads no .gitignore)."""
    return {
        "repo_id": repo_id,
        "repo_type": "space",
        "folder_path": str(bundle.folder),
        "allow_patterns": [_literal(name) for name in bundle.files],
        "ignore_patterns": UPLOAD_IGNORE,
        "commit_message": "hackkit deploy",
    }


def _literal(name: str) -> str:
    """A file name as an fnmatch pattern that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in name)
