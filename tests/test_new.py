"""``hackkit new`` and ``hackkit update``: what a team gets, and that it works.

Every combination is rendered and linted; each UI x RAG combination runs its own tests here; two
(Gradio and Streamlit, both with RAG) are installed into fresh venvs where their tests run and their
app answers a question in Chromium.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from browser import OFFLINE_ENV, ask_in, free_port, open_page, serve
from click.testing import CliRunner

from hackkit import __version__, project
from hackkit.cli import cli
from hackkit.cli.new import CHOICES
from hackkit.config import load_settings

TEMPLATE = project.template_dir()
DEFAULT_FILES = {
    ".dockerignore",
    ".env.example",
    ".github/workflows/ci.yml",
    ".gitignore",
    ".hackkit-answers.yml",
    "Dockerfile",
    "LICENSE",
    "README.md",
    "app.py",
    "data/faq.md",
    "data/judging.md",
    "data/schedule.md",
    "hackkit.toml",
    "pitch/pitch.yaml",
    "prompts/assistant.md",
    "prompts/rag-answer.md",
    "pyproject.toml",
    "render.yaml",
    "requirements.txt",
    "tests/conftest.py",
    "tests/test_app.py",
    "tests/test_rag.py",
}
MODEL_OF = {
    "mistral": "mistral/mistral-small-latest",
    "openai": "openai/gpt-4o-mini",
    "anthropic": "anthropic/claude-haiku-4-5",
    "ollama": "ollama/llama3.2",
    "gateway": "gateway/default",
    "local": "local/smollm2",
}
# Every UI x RAG x provider, with the licences taken in turn so each appears with each UI, and finetune/
# on every other one (so with each UI and RAG choice, and on in the first of each, whose own tests run).
COMBINATIONS = [
    {
        "ui": ui,
        "rag": rag,
        "provider": provider,
        "license": CHOICES["license"][i % len(CHOICES["license"])],
        "finetune": i % 2 == 0,
    }
    for i, (ui, rag, provider) in enumerate(itertools.product(CHOICES["ui"], (True, False), CHOICES["provider"]))
]


def title_of(i: int) -> str:
    """Each combination's title holds template syntax, which must come out as typed (the page, the prompts)."""
    return f"Combo {i} {{{{ 6*7 }}}}"


def new(*args: str) -> Any:
    return CliRunner().invoke(cli, ["new", *args], catch_exceptions=False)


def files_of(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts}


def run(command: list[str], cwd: Path, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("HACKKIT_")}
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**clean, **OFFLINE_ENV, **env}
    )


TEAM = {"GIT_AUTHOR_NAME": "Team", "GIT_AUTHOR_EMAIL": "team@example.com"}
TEAM |= {"GIT_COMMITTER_NAME": "Team", "GIT_COMMITTER_EMAIL": "team@example.com"}


def git(folder: Path, *args: str) -> str:
    """git as the team runs it (with an identity, whatever this machine's git config says)."""
    env = {**os.environ, **TEAM}
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True, env=env).stdout


# -- what the default project holds ------------------------------------------------------------


def test_the_default_project_has_exactly_these_files_committed_on_main_and_the_template_branch(isolated: Path) -> None:
    result = new("study-buddy", "--no-input")
    assert result.exit_code == 0, result.output
    folder = isolated / "study-buddy"
    assert files_of(folder) == DEFAULT_FILES
    assert set(git(folder, "ls-files").split()) == DEFAULT_FILES
    branches = subprocess.run(
        ["git", "branch", "--format=%(refname:short)"], cwd=folder, capture_output=True, text=True
    )
    assert set(branches.stdout.split()) == {"main", project.TEMPLATE_BRANCH}
    assert "Created" in result.output and "hackkit ingest" in result.output


def test_a_machine_without_a_git_identity_still_gets_its_first_commit(tmp_path: Path) -> None:
    no_config = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    result = run([sys.executable, "-m", "hackkit", "new", "owl", "--no-input"], tmp_path, **no_config)
    assert result.returncode == 0, result.stderr
    log = subprocess.run(["git", "log", "--format=%an <%ae>"], cwd=tmp_path / "owl", capture_output=True, text=True)
    assert log.stdout.strip() == "hackkit <hackkit@localhost>"


def test_answers_and_versions_are_recorded(isolated: Path) -> None:
    new("study-buddy", "--no-input", "--ui", "streamlit", "--no-rag", "--provider", "local", "--license", "none")
    folder = isolated / "study-buddy"
    stored = yaml.safe_load((folder / project.ANSWERS_FILE).read_text())
    assert stored["template_version"] == __version__
    assert stored["answers"] == {
        "project_name": "Study buddy",
        "project_slug": "study-buddy",
        "description": "A chat assistant that knows its job.",  # the default follows --no-rag
        "author": "The team",
        "ui": "streamlit",
        "rag": False,
        "provider": "local",
        "license": "none",
        "finetune": False,
        "year": "2026",
    }
    requirements = (folder / "requirements.txt").read_text().splitlines()
    # hackkit is installed from this checkout here, so the project records where from: its install works offline.
    source = project.installed_from()
    assert source.startswith("file://")
    assert f"hackkit-llm[local,streamlit] @ {source}" in requirements
    assert f"# PyPI yet). Once it is published, this line becomes: hackkit-llm[local,streamlit]=={__version__}" in (
        requirements
    )


def test_installed_from_an_index_the_project_pins_the_version(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project, "installed_from", lambda: "")
    assert new("owl", "--no-input", "--no-git").exit_code == 0
    requirements = (isolated / "owl" / "requirements.txt").read_text().splitlines()
    assert f"hackkit-llm[rag,gradio]=={__version__}" in requirements
    assert not any(" @ " in line for line in requirements)


def test_the_template_choices_match_the_cli(isolated: Path) -> None:
    assert project.choices() == CHOICES
    assert project.template_defaults()["__hackkit_version"] == __version__


def test_interactive_prompts_take_answers_and_defaults(isolated: Path) -> None:
    # ui, rag, provider, licence, finetune, description, author: Enter keeps the default.
    answers = "\n".join(["streamlit", "n", "", "apache-2.0", "y", "A study helper", "Team Owl"]) + "\n"
    result = CliRunner().invoke(cli, ["new", "owl", "--no-git"], input=answers)
    assert result.exit_code == 0, result.output
    stored = yaml.safe_load((isolated / "owl" / project.ANSWERS_FILE).read_text())["answers"]
    assert (stored["ui"], stored["rag"], stored["provider"], stored["license"]) == (
        "streamlit",
        False,
        "mistral",
        "apache-2.0",
    )
    assert stored["author"] == "Team Owl" and stored["finetune"] is True
    assert (isolated / "owl" / "finetune" / "recipe.yaml").is_file()
    assert "Apache License" in (isolated / "owl" / "LICENSE").read_text()
    assert 'team: "Team Owl"' in (isolated / "owl" / "pitch" / "pitch.yaml").read_text()
    assert "A study helper" in (isolated / "owl" / "README.md").read_text()


def test_new_says_to_install_the_requirements_when_a_package_is_missing(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "streamlit" else real(name, *a))
    result = new("owl", "--no-input", "--ui", "streamlit", "--no-git")
    assert "pip install -r requirements.txt   # streamlit not installed here" in result.output
    assert "pip install" not in new("bat", "--no-input", "--no-git").output  # Gradio and RAG are installed


def test_no_answers_on_stdin_says_to_pass_no_input(isolated: Path) -> None:
    result = CliRunner().invoke(cli, ["new", "owl"], input="")
    assert result.exit_code != 0
    assert "--no-input" in result.output
    assert not (isolated / "owl").exists()


# -- names and folders -------------------------------------------------------------------------


def test_an_existing_folder_is_never_touched_without_force(isolated: Path) -> None:
    folder = isolated / "owl"
    folder.mkdir()
    (folder / "notes.txt").write_text("our ideas")
    (folder / "app.py").write_text("# ours")
    result = new("owl", "--no-input")
    assert result.exit_code == 2
    assert "already exists and is not empty" in result.output and "--force" in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["app.py", "notes.txt"]
    assert (folder / "app.py").read_text() == "# ours"

    forced = new("owl", "--no-input", "--force", "--no-git")
    assert forced.exit_code == 0, forced.output
    assert (folder / "notes.txt").read_text() == "our ideas"  # what the template lacks is kept
    assert "gradio_app" in (folder / "app.py").read_text()


def test_inside_an_existing_repository_nothing_is_committed_and_it_says_why(isolated: Path) -> None:
    git(isolated, "init", "-q")
    result = new("owl", "--no-input")
    assert result.exit_code == 0
    assert "inside a git repository, so nothing was committed" in result.output
    assert not (isolated / "owl" / ".git").exists()
    assert "owl/" in git(isolated, "status", "--porcelain", "--untracked-files=normal")  # a plain folder to add


def test_an_empty_existing_folder_is_used(isolated: Path) -> None:
    (isolated / "owl").mkdir()
    assert new("owl", "--no-input").exit_code == 0
    assert (isolated / "owl" / "app.py").exists()


def test_template_hooks_make_no_network_calls(tmp_path: Path) -> None:
    """Render with plain cookiecutter; an audit hook in every Python process logs any socket use."""
    guard = tmp_path / "guard"
    guard.mkdir()
    log = tmp_path / "network.log"
    (guard / "sitecustomize.py").write_text(
        "import sys\n"
        "def _audit(event, args):\n"
        "    if event in ('socket.connect', 'socket.getaddrinfo', 'urllib.Request'):\n"
        f"        open({str(log)!r}, 'a').write(f'{{event}} {{args}}\\n')\n"
        "sys.addaudithook(_audit)\n"
    )
    output = tmp_path / "out"
    result = run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output), str(TEMPLATE), "rag=False"],
        tmp_path,
        PYTHONPATH=str(guard),
    )
    assert result.returncode == 0, result.stderr
    assert (output / "my-hackathon-app" / "app.py").exists()
    assert not (output / "my-hackathon-app" / "data").exists()  # the post-generation hook ran
    assert not log.exists(), log.read_text()
    hooks = "".join(p.read_text() for p in (TEMPLATE / "hooks").glob("*.py"))
    assert "import socket" not in hooks and "urllib" not in hooks and "subprocess" not in hooks


# -- every combination: renders, lints, configures the right model -------------------------------


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    parent = tmp_path_factory.mktemp("combinations")
    folders = {}
    for i, combination in enumerate(COMBINATIONS):
        answers = {"project_name": title_of(i), "project_slug": f"combo-{i}", **combination}
        folders[i] = project.create(answers, parent, git=False).path
    return folders


def test_every_combination_renders_and_passes_lint(rendered: dict[int, Path]) -> None:
    parent = next(iter(rendered.values())).parent
    ruff = Path(sys.executable).with_name("ruff")
    for args in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run([str(ruff), *args], cwd=parent, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("i", range(len(COMBINATIONS)), ids=lambda i: "-".join(map(str, COMBINATIONS[i].values())))
def test_each_combination_is_configured_as_chosen(rendered: dict[int, Path], i: int) -> None:
    combination, folder = COMBINATIONS[i], rendered[i]
    files = files_of(folder)
    settings = load_settings(folder)  # validates hackkit.toml against the schema
    assert settings.llm.model == MODEL_OF[combination["provider"]]
    if combination["provider"] != "local":
        assert settings.llm.router.fallbacks == {"*": ["local/smollm2"]}  # offline until the key arrives
    assert settings.ui.title == title_of(i)
    assert ("data/judging.md" in files) == combination["rag"]
    assert ("tests/test_rag.py" in files) == combination["rag"]
    assert (".streamlit/config.toml" in files) == (combination["ui"] == "streamlit")
    assert ("LICENSE" in files) == (combination["license"] != "none")
    finetune = {"finetune/train.jsonl", "finetune/recipe.yaml", "tests/test_finetune_data.py"}
    assert (finetune <= files) == combination["finetune"] and (finetune & files == set()) != combination["finetune"]
    assert ("## Fine-tune" in (folder / "README.md").read_text()) == combination["finetune"]
    extras = ",".join(
        ["rag" if combination["rag"] else "local", combination["ui"]] + ["finetune"] * combination["finetune"]
    )
    assert f"hackkit-llm[{extras}] @ {project.installed_from()}\n" in (folder / "requirements.txt").read_text()
    app = (folder / "app.py").read_text()
    assert ("gradio_app" in app) == (combination["ui"] == "gradio")
    assert len(app.splitlines()) < 40  # thin: behaviour lives in hackkit
    python = [(folder / name).read_text() for name in files if name.endswith(".py")]
    assert not any("class " in text for text in python)  # no provider code, retries or schemas copied in
    assert sum(len(text.splitlines()) for text in python) < 200
    readme, toml = ((folder / name).read_text().replace(title_of(i), "") for name in ("README.md", "hackkit.toml"))
    assert "{{" not in readme and "{%" not in toml  # all rendered, but the title
    yaml.safe_load((folder / "pitch" / "pitch.yaml").read_text())
    yaml.safe_load((folder / ".github" / "workflows" / "ci.yml").read_text())
    (service,) = yaml.safe_load((folder / "render.yaml").read_text())["services"]
    assert service["name"] == f"combo-{i}" and service["runtime"] == "docker"


@pytest.mark.slow
@pytest.mark.parametrize(("ui", "rag"), list(itertools.product(CHOICES["ui"], (True, False))))
def test_each_ui_and_rag_combination_passes_its_own_tests(rendered: dict[int, Path], ui: str, rag: bool) -> None:
    i = next(i for i, c in enumerate(COMBINATIONS) if (c["ui"], c["rag"]) == (ui, rag))
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], rendered[i])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
    assert not (rendered[i] / ".hackkit").exists()  # the tests worked in a copy


def test_a_projects_tests_say_what_to_install_when_a_package_is_missing(
    rendered: dict[int, Path], tmp_path: Path
) -> None:
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(  # as if gradio were not installed
        "import sys\n"
        "class NoGradio:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'gradio':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}')\n"
        "sys.meta_path.insert(0, NoGradio())\n"
    )
    i = next(i for i, c in enumerate(COMBINATIONS) if (c["ui"], c["rag"]) == ("gradio", False))
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], rendered[i], PYTHONPATH=str(guard))
    assert result.returncode == 4
    assert "gradio not installed: run pip install -r requirements.txt first" in result.stdout + result.stderr


# -- installed into a fresh venv, tested, served -----------------------------------------------


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("ui", CHOICES["ui"])
def test_a_project_installs_in_a_fresh_venv_passes_its_tests_and_answers_in_a_browser(
    tmp_path: Path, ui: str, browser: Any
) -> None:
    result = run([sys.executable, "-m", "hackkit", "new", "demo-app", "--no-input", "--ui", ui], tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "demo-app"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # The project's own instructions: torch first, then requirements.txt (hackkit from where it came from).
    torch_pin = next(
        line for line in (folder / "requirements.txt").read_text().splitlines() if line.startswith("torch")
    )
    # torch without byte-compiling its 15,000 files: 8 s instead of 32 here; what it imports compiles when imported
    for step in ([torch_pin, "--no-compile"], ["-r", "requirements.txt"]):
        installed = run([*pip, *step], folder)
        assert installed.returncode == 0, installed.stderr[-3000:]
    bin_ = venv / "bin"
    ingest = run([str(bin_ / "hackkit"), "ingest"], folder)
    assert ingest.returncode == 0 and "3 added" in ingest.stdout + ingest.stderr, ingest.stdout + ingest.stderr
    tests = run([str(bin_ / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], folder)
    assert tests.returncode == 0, tests.stdout[-4000:]
    assert "skipped" not in tests.stdout

    port = free_port()
    command = (
        [str(bin_ / "python"), "app.py"]
        if ui == "gradio"
        else [str(bin_ / "streamlit"), "run", "app.py", "--server.port", str(port)]
    )
    server = serve(command, folder, port, timeout=120, env={"PORT": str(port), "HACKKIT_MODEL": "fake/echo"})
    try:
        box = "#question textarea" if ui == "gradio" else "[data-testid='stChatInputTextArea']"
        for page in open_page(browser, f"http://127.0.0.1:{port}", box):
            ask_in(page, box, "How long is each team's demo?")
            if ui == "gradio":
                page.locator("#sources summary").first.wait_for(timeout=60_000)
                assert "judging.md" in page.locator("#sources").inner_text()
            else:
                page.get_by_text("judging.md").first.wait_for(timeout=60_000)
            page.get_by_text("Echo:").first.wait_for(timeout=30_000)
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_wheel_ships_the_template(tmp_path: Path) -> None:
    """Built the way pip builds it from a checkout: the template must be inside the package."""
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(root),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    import zipfile

    (wheel,) = tmp_path.glob("hackkit_llm-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.removeprefix("hackkit/_template/") for n in names if n.startswith("hackkit/_template/")}
    expected = {
        p.relative_to(TEMPLATE).as_posix() for p in TEMPLATE.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    assert shipped == expected
    assert (
        json.loads(zipfile.ZipFile(wheel).read("hackkit/_template/cookiecutter.json"))["__hackkit_version"]
        == __version__
    )
