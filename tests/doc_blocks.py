"""The rule every shell or Python block in docs/*.md and recipes/**/*.md follows.

A block is run by a test, or says on its first line why not. Its first line is one of:

- ``# runs offline``: a Python example that tests/test_docs.py runs;
- ``# run by tests/MODULE.py``: MODULE runs the block's commands, and fails when a block marked
  for it is one it does not run (see :func:`marked_for`);
- ``# not run by the tests: REASON``.

The recipes' READMEs also allow blocks that tests/test_recipes.py finds by a command they hold.
Generated pages (the CLI and configuration references, troubleshooting) are checked against the
code they come from instead.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from pathlib import Path

from browser import OFFLINE_ENV

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```(bash|sh|shell|console|python)\n(.*?)```", re.S)
RUNS_OFFLINE = "# runs offline"
NOT_RUN = "# not run by the tests:"
RUN_BY = "# run by "
# The modules a `# run by` block may name: each checks it runs every block marked for it.
RUNNERS = ("tests/test_quickstart.py", "tests/test_doc_commands.py")
GENERATED = ("cli.md", "config-reference.md", "troubleshooting.md")


def fenced(path: Path) -> list[tuple[str, str]]:
    """(language, text) of each shell or Python block of ``path``, in page order."""
    return BLOCK.findall(path.read_text(encoding="utf-8"))


def blocks(path: Path) -> list[str]:
    return [text for _, text in fenced(path)]


def first_line(block: str) -> str:
    return block.splitlines()[0] if block.strip() else ""


def commands(block: str) -> list[str]:
    """The block's command lines, comments dropped."""
    lines = (line.split("  #")[0].strip() for line in block.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def doc_pages() -> list[Path]:
    """The hand-written pages of docs/ (the generated ones are checked against their source)."""
    return [path for path in sorted((ROOT / "docs").glob("*.md")) if path.name not in GENERATED]


def recipe_pages() -> list[Path]:
    return sorted((ROOT / "recipes").rglob("*.md"))


def name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def problem(language: str, block: str) -> str | None:
    """Why ``block`` breaks the rule, or None when it follows it."""
    first = first_line(block)
    if first == RUNS_OFFLINE:
        return None if language == "python" else f"{RUNS_OFFLINE!r} marks Python examples, not {language}"
    if first.startswith(RUN_BY):
        runner = first.removeprefix(RUN_BY).strip()
        return None if runner in RUNNERS else f"{runner!r} is not one of the modules that run blocks: {RUNNERS}"
    if first.startswith(NOT_RUN) and first.removeprefix(NOT_RUN).strip():
        return None
    return f"no marker on its first line: {first!r}"


def unaccounted(paths: list[Path], run_elsewhere: dict[str, list[str]] | None = None) -> list[str]:
    """``PAGE block N: why`` for every block of ``paths`` that breaks the rule.

    ``run_elsewhere`` maps a page to commands that a test finds its blocks by (the recipes' way).
    """
    found = []
    for path in paths:
        held = (run_elsewhere or {}).get(name(path), [])
        for n, (language, block) in enumerate(fenced(path)):
            why = problem(language, block)
            if why and not any(command in block for command in held):
                found.append(f"{name(path)} block {n}: {why}")
    return found


def marked_for(runner: str) -> list[tuple[str, int]]:
    """(page, block number) of every block, in docs and recipes, marked ``# run by RUNNER``."""
    return [
        (name(path), n)
        for path in doc_pages() + recipe_pages()
        for n, block in enumerate(blocks(path))
        if first_line(block) == RUN_BY + runner
    ]


def offline_env(home: Path, model_cache: str) -> dict[str, str]:
    """For the runners: the shell of someone who just activated this venv, offline, with no key or hackkit setting."""
    secret = ("_API_KEY", "_TOKEN")
    clean = {k: v for k, v in os.environ.items() if not k.endswith(secret) and not k.startswith("HACKKIT_")}
    venv_bin = str(Path(sys.executable).parent)
    extra = {"HOME": str(home), "HACKKIT_CACHE_DIR": model_cache, "OMP_NUM_THREADS": "1"}
    extra["VIRTUAL_ENV"] = str(Path(venv_bin).parent)
    return {**clean, **OFFLINE_ENV, **extra, "PATH": f"{venv_bin}{os.pathsep}{clean['PATH']}"}


def argv(command: str, env: dict[str, str]) -> list[str]:
    """``command``'s words, its program found on ``env``'s PATH as the shell would find it."""
    words = shlex.split(command)
    found = shutil.which(words[0], path=env["PATH"])
    assert found, f"{words[0]} is not on PATH"
    return [found, *words[1:]]
