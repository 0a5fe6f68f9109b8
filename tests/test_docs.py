"""The docs stay true: their offline examples run, and the CLI reference matches --help."""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
RECIPES = sorted((ROOT / "recipes").rglob("*.md"))  # their shell blocks: tests/test_recipes.py
EXAMPLES = [
    pytest.param(block, id=f"{path.relative_to(ROOT).as_posix()}:{n}")
    for path in DOCS + RECIPES
    for n, block in enumerate(re.findall(r"```python\n(# runs offline\n.*?)```", path.read_text(), re.S))
]


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
