"""The docs stay true: every example is run by a test or says why not, the offline examples run
here, and the CLI reference matches --help."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest
from doc_blocks import (
    NOT_RUN,
    RUN_BY,
    RUNNERS,
    RUNS_OFFLINE,
    doc_pages,
    fenced,
    first_line,
    name,
    recipe_pages,
    unaccounted,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
EXAMPLES = [  # the recipes' shell blocks: tests/test_recipes.py
    pytest.param(block, id=f"{name(path)}:{n}")
    for path in DOCS + recipe_pages()
    for n, block in enumerate(block for language, block in fenced(path) if language == "python")
    if first_line(block) == RUNS_OFFLINE
]


def test_every_block_in_the_docs_is_run_or_says_why():
    found = unaccounted(doc_pages())
    assert not found, (
        f"start each with {RUNS_OFFLINE!r} (Python), '{RUN_BY}MODULE' (one of {RUNNERS}) or '{NOT_RUN} why': {found}"
    )


def test_there_are_examples_to_run():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("block", EXAMPLES)
def test_offline_example_runs(block, tmp_path, capsys):
    script = tmp_path / "example.py"
    script.write_text(block)
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out.strip()  # every example shows the reader something


def test_cli_reference_is_generated_from_help():
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from gen_cli import render
    finally:
        sys.path.pop(0)
    assert (ROOT / "docs" / "cli.md").read_text() == render(), "run `make docs-cli`"


def test_every_doc_page_is_reachable_from_the_readme():
    readme = (ROOT / "README.md").read_text() + (ROOT / "docs" / "index.md").read_text()
    for path in DOCS:
        assert path.name in readme, f"{path.name} is not linked from README.md or docs/index.md"
