"""``hackkit update``: the template's later fixes merged into a project the team has changed.

"Up to date" must mean the template branch is merged into the team's: after a conflict undone with
``git merge --abort``, or a merge git refused, the next update merges again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from test_new import TEMPLATE, git, new

from hackkit import project
from hackkit.cli import cli


def update(template: Path | None = None) -> Any:
    args = ["update", "--template", str(template)] if template else ["update"]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def edited_template(tmp_path: Path, edit: dict[str, tuple[str, str]]) -> Path:
    """A copy of the template with text replaced: what a later hackkit release would ship."""
    import shutil

    copy = tmp_path / "next-template"
    shutil.copytree(TEMPLATE, copy)
    for name, (old, new_text) in edit.items():
        path = copy / "{{cookiecutter.project_slug}}" / name
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new_text))
    return copy


def test_update_merges_the_template_fixes_into_a_project_the_team_edited(isolated: Path, tmp_path: Path) -> None:
    assert new("owl", "--no-input").exit_code == 0
    folder = isolated / "owl"
    # The team's Friday: a new tab in app.py, their own documents, a bigger model.
    app = (folder / "app.py").read_text()
    (folder / "app.py").write_text(app.replace("if __name__", "# our own tab goes here\n\nif __name__"))
    (folder / "data" / "menu.md").write_text("# Menu\n\nPizza on Friday.\n")
    toml = (folder / "hackkit.toml").read_text()
    (folder / "hackkit.toml").write_text(toml.replace("mistral-small-latest", "mistral-large-latest"))
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "our changes")
    # Saturday's hackkit: a fix in .gitignore and in the README, and the max_tokens line of hackkit.toml.
    template = edited_template(
        tmp_path,
        {
            ".gitignore": (".ruff_cache/", ".ruff_cache/\n.mypy_cache/"),
            "README.md": ("## Test\n", "## Test\n\nThe tests need no key.\n"),
            "hackkit.toml": ("max_tokens = 400", "max_tokens = 300"),
        },
    )
    os.chdir(folder)
    result = update(template)
    assert result.exit_code == 0, result.output
    assert "3 file(s) changed" in result.output and "Merged and committed" in result.output
    assert ".mypy_cache/" in (folder / ".gitignore").read_text()
    assert "The tests need no key." in (folder / "README.md").read_text()
    merged = (folder / "hackkit.toml").read_text()
    assert "mistral-large-latest" in merged and "max_tokens = 300" in merged  # theirs and the template's
    assert "# our own tab goes here" in (folder / "app.py").read_text()
    assert (folder / "data" / "menu.md").exists()
    assert git(folder, "status", "--porcelain") == ""
    assert "Merge the hackkit" in git(folder, "log", "-1", "--format=%s")

    again = update(template)
    assert again.exit_code == 0 and "Already up to date" in again.output


def test_update_leaves_conflicts_for_the_team_and_merges_again_after_an_abort(isolated: Path, tmp_path: Path) -> None:
    new("owl", "--no-input")
    folder = isolated / "owl"
    toml = (folder / "hackkit.toml").read_text()
    (folder / "hackkit.toml").write_text(toml.replace("max_tokens = 400", "max_tokens = 800"))
    git(folder, "commit", "-qam", "longer answers")
    template = edited_template(tmp_path, {"hackkit.toml": ("max_tokens = 400", "max_tokens = 300")})
    os.chdir(folder)
    result = update(template)
    assert result.exit_code == 1
    assert "hackkit.toml" in result.output and "git merge --abort" in result.output
    assert "<<<<<<<" in (folder / "hackkit.toml").read_text()
    during = update(template)
    assert during.exit_code == 2 and "A merge is in progress" in during.output

    git(folder, "merge", "--abort")  # as update suggests
    assert "max_tokens = 800" in (folder / "hackkit.toml").read_text()
    again = update(template)  # the template is still not merged: the same conflict, not "up to date"
    assert again.exit_code == 1, again.output
    assert "1 file(s) changed" in again.output and "Conflicts" in again.output and "hackkit.toml" in again.output
    assert "<<<<<<<" in (folder / "hackkit.toml").read_text()

    git(folder, "checkout", "--ours", "hackkit.toml")  # the team keeps its line, and commits the merge
    git(folder, "commit", "-qam", "merge the template, keeping our max_tokens")
    resolved = update(template)
    assert resolved.exit_code == 0 and "Already up to date" in resolved.output, resolved.output
    assert "max_tokens = 800" in (folder / "hackkit.toml").read_text()


def test_update_merges_again_after_git_refused_the_merge(isolated: Path, tmp_path: Path) -> None:
    new("owl", "--no-input")
    folder = isolated / "owl"
    template = edited_template(tmp_path, {})
    (template / "{{cookiecutter.project_slug}}" / "CONTRIBUTING.md").write_text("# How to help\n")
    (folder / "CONTRIBUTING.md").write_text("our draft, not committed yet\n")  # git will not overwrite it
    os.chdir(folder)
    refused = update(template)
    assert refused.exit_code == 1 and "CONTRIBUTING.md" in refused.output
    assert "fix:" in refused.output and "run hackkit update again" in refused.output
    assert (folder / "CONTRIBUTING.md").read_text() == "our draft, not committed yet\n"  # nothing lost

    (folder / "CONTRIBUTING.md").rename(folder / "our-draft.md")  # what the fix says
    retried = update(template)
    assert retried.exit_code == 0 and "Merged and committed" in retried.output, retried.output
    assert (folder / "CONTRIBUTING.md").read_text() == "# How to help\n"
    assert "Already up to date" in update(template).output


def test_update_refuses_uncommitted_changes_and_projects_without_answers(isolated: Path) -> None:
    new("owl", "--no-input")
    folder = isolated / "owl"
    (folder / "app.py").write_text("# half-done")
    os.chdir(folder)
    result = CliRunner().invoke(cli, ["update"])
    assert result.exit_code == 2 and "uncommitted changes" in result.output
    assert (folder / "app.py").read_text() == "# half-done"
    os.chdir(isolated)
    result = CliRunner().invoke(cli, ["update"])
    assert result.exit_code == 2 and project.ANSWERS_FILE in result.output


def test_update_applies_a_changed_answer(isolated: Path) -> None:
    new("owl", "--no-input")
    folder = isolated / "owl"
    answers = (folder / project.ANSWERS_FILE).read_text()
    (folder / project.ANSWERS_FILE).write_text(answers.replace("ui: gradio", "ui: streamlit"))
    git(folder, "commit", "-qam", "switch to Streamlit")
    os.chdir(folder)
    result = update()
    assert result.exit_code == 0, result.output
    assert "streamlit.testing" in (folder / "tests" / "test_app.py").read_text()
    assert (folder / ".streamlit" / "config.toml").exists()
    assert "hackkit.ui.streamlit_app" in (folder / "app.py").read_text()


def test_update_adds_finetune_when_the_answer_turns_it_on(isolated: Path) -> None:
    new("owl", "--no-input")
    folder = isolated / "owl"
    assert not (folder / "finetune").exists()
    answers = (folder / project.ANSWERS_FILE).read_text()
    assert "finetune: false" in answers  # stored, so update can read it
    (folder / project.ANSWERS_FILE).write_text(answers.replace("finetune: false", "finetune: true"))
    git(folder, "commit", "-qam", "add fine-tuning")
    os.chdir(folder)
    result = update()
    assert result.exit_code == 0, result.output
    assert {"finetune/train.jsonl", "finetune/recipe.yaml", "tests/test_finetune_data.py"} <= set(result.output.split())
    assert "## Fine-tune" in (folder / "README.md").read_text()
    assert "finetune" in next(line for line in (folder / "requirements.txt").read_text().splitlines() if "@" in line)
