"""A deploy that reaches a running app: the loopback Hub builds each Space from the uploaded files alone,
in one fresh venv for the module (cached wheels, torch first), and runs it on loopback; `hackkit deploy
spaces` then asks it its canned question and prints the URL once the answer is there.

The Gradio Space is built as the Hub builds one (torch, then requirements.txt) and started from its
app_file. The Streamlit Space is a Docker Space: no image can be pulled here, so its Dockerfile's
install and start commands run in the same venv (the commands that change the system, useradd and
apt-get, are skipped: the venv stands in for the image). Its provider is a loopback Mistral wire
server that accepts only the key from the project's .env, so an answer proves the key arrived as a
Space secret.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import signal
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import OFFLINE_ENV, free_port, open_page
from click.testing import CliRunner
from deploy_hub import Space, TestHub, go_online

from hackkit import project as new_project
from hackkit.cli import cli
from hackkit.testing.wire import WireServer

pytestmark = pytest.mark.slow
KEY = "MISTRAL_API_KEY"
INSTALL_TIMEOUT = 900


def random_text(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


class SpaceHost:
    """What the Hub does with a Space's files, on this machine: build them in the venv, run them on loopback."""

    def __init__(self, venv: Path, root: Path, wire_url: str, cache: str) -> None:
        self.venv, self.root, self.wire_url, self.cache = venv, root, wire_url, cache
        self.processes: list[subprocess.Popen[bytes]] = []
        self.seconds: dict[str, float] = {}

    def env(self, space: Space, port: int) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("HACKKIT_")}
        clean.pop("HF_ENDPOINT", None)
        clean.pop("HF_TOKEN", None)
        return {
            **clean,
            **OFFLINE_ENV,
            "PIP_RETRIES": "0",  # the CPU torch index in requirements.txt cannot be reached from here
            "PATH": f"{self.venv / 'bin'}:{os.environ['PATH']}",
            **space.variables,
            **space.secrets,  # the Hub gives a Space its secrets as environment variables
            "HOST": "127.0.0.1",  # loopback here, where the Hub binds 0.0.0.0 inside its network
            "PORT": str(port),
            "MISTRAL_BASE_URL": self.wire_url,  # where "Mistral" is, seen from this Space
            "HACKKIT_CACHE_DIR": self.cache,
        }

    def checkout(self, space: Space) -> Path:
        folder = self.root / space.repo_id.replace("/", "--") / str(len(space.commits))
        for name, content in space.files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(content)
        return folder

    def __call__(self, space: Space) -> None:
        started = time.perf_counter()
        folder, port = self.checkout(space), free_port()
        env = self.env(space, port)
        readme = space.files["README.md"].decode()
        if space.sdk == "docker":
            command = self.build_docker(folder, env, space)
        else:
            torch = next(
                line for line in (folder / "requirements.txt").read_text().splitlines() if line.startswith("torch")
            )
            self.run(space, [str(self.venv / "bin" / "pip"), "install", "-q", "--no-compile", torch], folder, env)
            self.run(space, [str(self.venv / "bin" / "pip"), "install", "-q", "-r", "requirements.txt"], folder, env)
            app_file = re.search(r"^app_file: (\S+)$", readme, re.M)[1]  # type: ignore[index]
            command = [str(self.venv / "bin" / "python"), app_file]
        self.seconds[f"{space.sdk} build"] = time.perf_counter() - started
        space.stage = "APP_STARTING"
        self.start(space, command, folder, env, port)
        self.seconds[f"{space.sdk} build and start"] = time.perf_counter() - started

    def build_docker(self, folder: Path, env: dict[str, str], space: Space) -> list[str]:
        """The Dockerfile's RUN steps in the venv, in order; its CMD is what starts the app."""
        scratch = folder / ".docker-tmp"
        scratch.mkdir()
        command: list[str] = []
        for kind, args in dockerfile_steps((folder / "Dockerfile").read_text()):
            if kind == "RUN" and not args.startswith(("useradd", "apt-get")):
                self.run(space, ["sh", "-c", args.replace("/tmp/", f"{scratch}/")], folder, env)
            elif kind == "CMD":
                command = json.loads(args)
        return command

    def run(self, space: Space, command: list[str], folder: Path, env: dict[str, str]) -> None:
        result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        space.build_log += (result.stdout + result.stderr).splitlines()[-40:]
        if result.returncode:
            space.stage, space.error = "BUILD_ERROR", f"{shlex.join(command)} failed"
            raise RuntimeError(space.error)

    def start(self, space: Space, command: list[str], folder: Path, env: dict[str, str], port: int) -> None:
        log = (folder / "app.log").open("wb")
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        deadline = time.time() + 240
        while time.time() < deadline:
            if process.poll() is not None:
                space.run_log = (folder / "app.log").read_text().splitlines()[-40:]
                space.stage, space.error = "RUNTIME_ERROR", f"the app exited with {process.returncode}"
                return
            try:
                import socket

                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                space.host, space.stage = f"http://127.0.0.1:{port}", "RUNNING"
                return
            except OSError:
                time.sleep(0.3)
        space.stage, space.error = "RUNTIME_ERROR", "the app did not listen in time"

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)  # the app and anything it started
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def dockerfile_steps(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", "\n".join(line for line in text.splitlines() if not line.startswith("#")))
    return [(line.split(" ", 1)[0], line.split(" ", 1)[1]) for line in joined.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fresh, empty venv for the module; the Spaces install into it from their own files."""
    folder = tmp_path_factory.mktemp("space-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return folder


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WireServer, str]]:
    key = "sk-" + random_text(40)
    with WireServer("mistral", api_key=key) as server:
        yield server, key


@pytest.fixture(scope="module")
def host(
    venv: Path, wire: tuple[WireServer, str], tmp_path_factory: pytest.TempPathFactory, model_cache: str
) -> Iterator[SpaceHost]:
    spaces = SpaceHost(venv, tmp_path_factory.mktemp("spaces"), wire[0].url, model_cache)
    yield spaces
    spaces.stop()
    print("\nSpace build and start times:", {k: f"{v:.0f} s" for k, v in spaces.seconds.items()})


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, host: SpaceHost) -> Iterator[TestHub]:
    go_online(monkeypatch)
    with TestHub(token="hf_" + random_text(34)) as server:
        server.runner = host
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_TOKEN", server.token)
        yield server


def team_project(parent: Path, ui: str, key: str) -> Path:
    answers = {"project_name": f"Team {ui}", "project_slug": f"team-{ui}", "ui": ui, "rag": True}
    folder = new_project.create({**answers, "provider": "mistral", "license": "mit"}, parent).path
    (folder / ".env").write_text(f"{KEY}={key}\n")
    return folder


def deploy(folder: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.chdir(folder)
    command = ["deploy", "spaces", "--poll-interval", "0.5", "--timeout", str(INSTALL_TIMEOUT), *args]
    return CliRunner().invoke(cli, command)


def authorised_calls(server: WireServer, key: str) -> list[Any]:
    return [
        r
        for r in server.requests
        if {k.lower(): v for k, v in r.headers.items()}.get("authorization") == f"Bearer {key}"
    ]


def test_a_gradio_space_is_built_from_its_files_runs_and_answers_before_its_url_is_printed(
    hub: TestHub, wire: tuple[WireServer, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, key = wire
    folder = team_project(tmp_path, "gradio", key)
    ingest = subprocess.run([sys.executable, "-m", "hackkit", "ingest"], cwd=folder, capture_output=True, text=True)
    assert ingest.returncode == 0, ingest.stderr
    result = deploy(folder, monkeypatch, "--bake")
    assert result.exit_code == 0, result.output + "\n".join(hub.spaces["team/team-gradio"].build_log[-20:])
    space = hub.spaces["team/team-gradio"]
    assert f"Live at {space.host}" in result.output and "The app answered: 'Echo: " in result.output
    assert result.output.index("The app answered") < result.output.index("Live at")
    (call,) = authorised_calls(server, key)[-1:]  # the key reached the app as a Space secret, and was used
    assert "demo" in json.dumps(call.body) and "[1]" in json.dumps(call.body)  # answered over the shipped index
    assert any(name.startswith(".hackkit/rag/chroma/") for name in space.files)
    assert not any(key.encode() in content for content in space.files.values()) and key not in result.output
    record = json.loads((folder / ".hackkit" / "deploy.json").read_text())
    assert record["url"] == space.host and record["target"] == "spaces"


@pytest.mark.browser
def test_a_streamlit_docker_space_runs_its_dockerfile_commands_and_answers_in_a_browser(
    hub: TestHub, wire: tuple[WireServer, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, browser: Any
) -> None:
    server, key = wire
    folder = team_project(tmp_path, "streamlit", key)
    result = deploy(folder, monkeypatch)
    space = hub.spaces["team/team-streamlit"]
    assert result.exit_code == 0, result.output + "\n".join(space.build_log[-20:] + space.run_log[-20:])
    assert space.sdk == "docker" and f"Live at {space.host}" in result.output
    assert "healthy" in result.output
    box = "[data-testid='stChatInputTextArea']"
    before = len(authorised_calls(server, key))
    for page in open_page(browser, space.host, box):
        page.locator(box).fill("How are projects judged?")
        page.locator(box).press("Enter")
        page.get_by_text("Echo:").first.wait_for(timeout=90_000)
        page.get_by_text("judging.md").first.wait_for(timeout=30_000)  # indexed by the Dockerfile's ingest step
    assert len(authorised_calls(server, key)) > before
