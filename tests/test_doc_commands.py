"""Cheap, offline blocks of the docs run as written: each page's block here is marked
``# run by tests/test_doc_commands.py``, and a block marked so that no test here runs fails."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from doc_blocks import ROOT, RUN_BY, argv, blocks, commands, first_line, marked_for, offline_env

RUNNER = "tests/test_doc_commands.py"
RUN_HERE = [("docs/ledger.md", 0), ("docs/new.md", 0), ("docs/new.md", 2)]


def page_block(page: str, n: int) -> list[str]:
    block = blocks(ROOT / page)[n]
    assert first_line(block) == RUN_BY + RUNNER, f"{page} block {n} is run here: mark it {RUN_BY + RUNNER!r}"
    return commands(block)


@pytest.fixture
def env(tmp_path: Path, model_cache: str) -> dict[str, str]:
    (tmp_path / "home").mkdir()
    return offline_env(tmp_path / "home", model_cache)


def run(command: str, cwd: Path, env: dict[str, str], stdin: str = "") -> str:
    ran = subprocess.run(argv(command, env), cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, f"`{command}` exited {ran.returncode}: {ran.stdout[-2000:]}{ran.stderr[-2000:]}"
    return ran.stdout


def test_every_block_marked_for_this_module_is_run_here():
    assert marked_for(RUNNER) == RUN_HERE


def test_the_ledger_commands(isolated, env):
    for prompt in ("first question", "second question"):
        run(f'hackkit chat -m fake/echo "{prompt}"', isolated, env)
    logs, full, as_json, usage, by_model = (run(line, isolated, env) for line in page_block("docs/ledger.md", 0))
    assert logs.index("first question") < logs.index("second question")  # oldest first
    assert "Echo: second question" in full
    newest = [json.loads(line)["prompt"] for line in as_json.splitlines()]
    assert "second question" in newest[0] and "first question" in newest[1]  # newest first
    assert "fake/echo" in usage and usage.splitlines()[-1].startswith("total")
    assert by_model.splitlines()[0].startswith("model") and "fake/echo  2" in by_model


def test_hackkit_new_asks_or_takes_every_choice_and_update_finds_nothing_to_merge(tmp_path, env):
    asking, choosing = page_block("docs/new.md", 0)
    for folder, line, answers in (("asked", asking, "\n" * 8), ("chosen", choosing, "")):
        (tmp_path / folder).mkdir()
        out = run(line, tmp_path / folder, env, stdin=answers)  # Enter takes the default
        assert "Created" in out and (tmp_path / folder / "study-buddy" / "app.py").is_file()
    asked, chosen = (tmp_path / folder / "study-buddy" for folder in ("asked", "chosen"))
    assert "gradio_app" in (asked / "app.py").read_text() and "MIT" in (asked / "LICENSE").read_text()
    assert "streamlit" in (chosen / "app.py").read_text() and "Apache" in (chosen / "LICENSE").read_text()
    assert not (chosen / "data").exists()  # --no-rag
    (update,) = page_block("docs/new.md", 2)
    assert "Already up to date" in run(update, chosen, env)
