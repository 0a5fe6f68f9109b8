"""``hackkit new``'s names and free-text answers: a bad one is refused with its own message and fix,
before anything is written; a good one comes out in the project exactly as it was typed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_new import TEMPLATE, files_of, git, new, run

from hackkit import project
from hackkit.cli import cli
from hackkit.config import load_settings
from hackkit.llm.prompts import load_prompt

# A name, and how the message about it starts; None: the name is fine. Plain cookiecutter's hook
# must agree with hackkit on every one (the hook repeats the rule on purpose, standard library only).
NAMES: dict[str, str | None] = {
    "study-buddy": None,
    "a": None,
    "x" * 64: None,
    "con-app": None,
    "com10": None,
    "../x": "'../x' is a path; a project name is one folder name.",
    "a\\b": "'a\\\\b' is a path",
    "x" * 100: "The project name is 100 characters long; the most is 64.",
    "日本語": "'日本語' is not ASCII",
    "café": "'café' is not ASCII",
    "9lives": "'9lives' is not a valid project name.",
    "a--b": "'a--b' is not a valid project name.",
    'a"b': "'a\"b' is not a valid project name.",
    "con": "'con' is a device name on Windows",
    "nul": "'nul' is a device name on Windows",
    "com1": "'com1' is a device name on Windows",
    "lpt9": "'lpt9' is a device name on Windows",
    "class": "'class' is a Python keyword",
    "gradio": "'gradio' would shadow the module 'gradio'",
    "tests": "'tests' would shadow the module 'tests'",
}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../x", "'../x' is a path; a project name is one folder name."),
        ("x" * 100, "The project name is 100 characters long; the most is 64."),
        ("日本語", "'日本語' is not ASCII; a project name is made of a-z, 0-9 and hyphens."),
        ("con", "'con' is a device name on Windows"),
        ("nul", "'nul' is a device name on Windows"),
        ("class", "'class' is a Python keyword"),
        ("9lives", "'9lives' is not a valid project name."),
        ("!!!", "'!!!' is not a valid project name."),
        ("gradio", "'gradio' would shadow the module 'gradio' that the app imports."),
        ("hackkit", "'hackkit' would shadow the module 'hackkit' that the app imports."),
    ],
)
def test_bad_names_are_refused_before_anything_is_written(isolated: Path, name: str, message: str) -> None:
    result = new(name, "--no-input")
    assert result.exit_code == 2
    assert f"error: {message}" in result.output and "fix:" in result.output
    assert list(isolated.iterdir()) == [isolated / "hackkit.toml"]
    assert not (isolated.parent / "x").exists()


def test_a_path_is_refused_with_the_command_that_creates_it_there(isolated: Path) -> None:
    result = new("../owl", "--no-input")
    assert "fix: pass the name 'owl' alone, and the folder to create it in with -o (here: -o ..)" in result.output
    assert not (isolated / "owl").exists() and not (isolated.parent / "owl").exists()
    assert new("owl", "-o", "..", "--no-input", "--no-git").exit_code == 0  # what the fix says works
    assert (isolated.parent / "owl" / "app.py").exists()


@pytest.mark.parametrize("name", NAMES)
def test_plain_cookiecutter_refuses_the_same_names_in_the_same_words(
    name: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from cookiecutter.exceptions import FailedHookException
    from cookiecutter.main import cookiecutter

    problem, expected = project.name_problem(name), NAMES[name]
    assert problem is None if expected is None else problem and problem[0].startswith(expected), problem
    out = tmp_path / "out"
    out.mkdir()
    try:
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            output_dir=str(out),
            extra_context={"project_slug": name},
            default_config={"replay_dir": str(tmp_path / "replay")},
        )
    except FailedHookException:
        assert problem is not None, f"the hook refused {name!r}, hackkit accepts it"
        assert f"error: {problem[0]}\n  fix: {problem[1]}\n" in capfd.readouterr().err
        assert not any(out.iterdir()) and not (tmp_path / "x").exists()
    else:
        assert problem is None, f"the hook accepted {name!r}: {problem}"
        assert (out / name / "app.py").exists()


def test_plain_cookiecutter_from_the_command_line_refuses_a_name(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(tmp_path), str(TEMPLATE)]
    result = run([*command, "project_slug=gradio"], tmp_path)
    assert result.returncode != 0 and "would shadow" in result.stdout + result.stderr
    assert not (tmp_path / "gradio").exists()


def test_a_title_becomes_a_slug(isolated: Path) -> None:
    result = new("Study Buddy!", "--no-input", "--no-git")
    assert result.exit_code == 0, result.output
    toml = (isolated / "study-buddy" / "hackkit.toml").read_text()
    assert 'title = "Study Buddy!"' in toml


def test_quotes_in_a_description_are_refused(isolated: Path) -> None:
    result = new("owl", "--no-input", "--description", 'say "hi"')
    assert result.exit_code == 2 and "double quotes" in result.output
    assert not (isolated / "owl").exists()


# -- template syntax in answers stays text ------------------------------------------------------

# Text a team may well type. Cookiecutter renders every answer as Jinja: this used to become "Ducks 42".
TITLE = "Ducks {{ 6*7 }} {# not a comment #} }}"
PLAIN = {"--title": "Ducks PLAIN", "--description": "Answers PLAIN", "--author": "Team PLAIN"}
TRICKY = {
    "--title": TITLE,
    "--description": "Questions in, {{ 2 + 2 }} answers out",
    "--author": "Team {# anonymous #}",
}


def render_owl(where: str, answers: dict[str, str]) -> Path:
    result = new("owl", "-o", where, "--no-input", "--no-git", *(part for item in answers.items() for part in item))
    assert result.exit_code == 0, result.output
    return Path(where) / "owl"


def as_typed(text: str) -> str:
    for flag, value in PLAIN.items():
        text = text.replace(value, TRICKY[flag])
    return text


def test_template_syntax_in_answers_comes_out_literally_in_every_file(isolated: Path) -> None:
    plain, tricky = render_owl("plain", PLAIN), render_owl("tricky", TRICKY)
    assert files_of(plain) == files_of(tricky)
    for name in files_of(plain) - {"prompts/assistant.md", "prompts/rag-answer.md"}:
        assert (tricky / name).read_text() == as_typed((plain / name).read_text()), name
    for name in ("assistant", "rag-answer"):  # Jinja again when the app runs: the model reads the text as typed
        messages = [
            load_prompt(name, folder / "prompts").render(question="q", sources="s").messages
            for folder in (plain, tricky)
        ]
        assert messages[1] == [{**m, "content": as_typed(m["content"])} for m in messages[0]]
        assert TITLE in messages[1][0]["content"]
    assert load_settings(tricky).ui.title == TITLE
    assert yaml.safe_load((tricky / project.ANSWERS_FILE).read_text())["answers"]["project_name"] == TITLE


def test_an_update_re_renders_template_syntax_in_answers_literally_too(isolated: Path) -> None:
    title = "Team {{ name }} {% raw %}"  # an unknown name, an unclosed tag: the render used to fail
    assert new("owl", "--no-input", "--title", title).exit_code == 0
    folder = isolated / "owl"
    before = git(folder, "rev-parse", project.TEMPLATE_BRANCH)
    os.chdir(folder)
    result = CliRunner().invoke(cli, ["update"], catch_exceptions=False)
    assert result.exit_code == 0 and "Already up to date" in result.output, result.output
    assert git(folder, "rev-parse", project.TEMPLATE_BRANCH) == before  # the fresh render is the same
    assert f"# {title}\n" in (folder / "README.md").read_text()
