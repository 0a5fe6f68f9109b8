"""``hackkit new`` and ``hackkit update``: a working project in seconds, and the template's later fixes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from hackkit.project import Created

# The choices, as in template/cookiecutter.json (a test checks they agree); the first is the default.
# Adding one: add it there, here, and to the combinations in tests/test_new.py.
CHOICES = {
    "ui": ["gradio", "streamlit"],
    "provider": ["mistral", "openai", "anthropic", "ollama", "gateway", "local"],
    "license": ["mit", "apache-2.0", "bsd-3-clause", "none"],
}
QUESTIONS = {  # asked in this order, which is cookiecutter.json's: a default may depend on earlier answers
    "ui": "Demo UI",
    "rag": "Answer questions over documents in data/ (RAG)?",
    "provider": "LLM provider (offline fallback: a small local model)",
    "license": "Licence",
    "finetune": "Add finetune/: tune the small local model on your own examples (CPU, minutes)?",
    "description": "One line for the app's header",
    "author": "Team name (for the licence)",
}


@click.command()
@click.argument("name")
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Where to create it.",
)
@click.option("--title", help="The app's title; default: NAME in words.")
@click.option("--description", help="One line under the title.")
@click.option("--author", help="The team's name, for the licence.")
@click.option("--ui", type=click.Choice(CHOICES["ui"]), help="Demo UI [default: gradio].")
@click.option("--rag/--no-rag", default=None, help="Answer over documents in data/ [default: --rag].")
@click.option(
    "--provider",
    type=click.Choice(CHOICES["provider"]),
    help="LLM provider [default: mistral; the local model answers until its key is set].",
)
@click.option("--license", "license_", type=click.Choice(CHOICES["license"]), help="Licence [default: mit].")
@click.option(
    "--finetune/--no-finetune", default=None, help="Add finetune/: sample data and a CPU recipe [default: no]."
)
@click.option("--no-input", is_flag=True, help="Ask nothing: defaults for every choice not given.")
@click.option("--force", is_flag=True, help="Write into an existing non-empty folder (its other files are kept).")
@click.option("--no-git", is_flag=True, help="Do not git init and commit (then `hackkit update` cannot work).")
@click.option("--template", type=click.Path(exists=True, file_okay=False, path_type=Path), hidden=True)
def new(
    name: str,
    output_dir: Path,
    title: str | None,
    description: str | None,
    author: str | None,
    ui: str | None,
    rag: bool | None,
    provider: str | None,
    license_: str | None,
    finetune: bool | None,
    no_input: bool,
    force: bool,
    no_git: bool,
    template: Path | None,
) -> None:
    """Create a project: a demo app over sample documents, its tests, deploy files and a pitch outline.

    NAME is the folder's name (lowercase letters, digits, hyphens; at most 64), or a title such as
    "Study Buddy"; not a path: -o says where. Answers are kept as typed, braces included.
    """
    from hackkit import project

    slug = project.project_slug(name)  # a bad name is refused before any question
    defaults = project.template_defaults(template)
    given: dict[str, Any] = {
        "project_name": title or (name if name != slug else slug.replace("-", " ").capitalize()),
        "project_slug": slug,
        "description": description,
        "author": author,
        "ui": ui,
        "rag": rag,
        "provider": provider,
        "license": license_,
        "finetune": finetune,
    }
    answers = {key: value for key, value in given.items() if value is not None}
    for key in QUESTIONS:
        if key not in answers:
            default = project.default_answer(defaults[key], answers)
            answers[key] = default if no_input else _ask(key, default, defaults[key])
    created = project.create(answers, output_dir, force=force, git=not no_git, template=template)
    _report(created)


def _ask(key: str, default: Any, spec: Any) -> Any:
    from rich.prompt import Confirm, Prompt

    try:
        if isinstance(default, bool):
            return Confirm.ask(QUESTIONS[key], default=default)
        options = spec if isinstance(spec, list) else None
        return Prompt.ask(QUESTIONS[key], choices=options, default=default)
    except EOFError:
        raise click.UsageError("No answer on standard input: pass --no-input to take the defaults.") from None


def _report(created: Created) -> None:
    a = created.answers
    where = click.format_filename(str(created.path))
    summary = f"{a['ui']}, {'RAG' if a['rag'] else 'no RAG'}, {a['provider']}, licence {a['license']}"
    summary += ", finetune/" if a.get("finetune") else ""
    click.secho(f"Created {where} ({summary}) in {created.seconds:.1f} s", fg="green", bold=True)
    if created.committed:
        click.echo("  committed to git; the pristine render is on the branch hackkit-template (for `hackkit update`)")
    for note in created.notes:
        click.echo(f"  note: {note}")
    run = "python app.py" if a["ui"] == "gradio" else "streamlit run app.py"
    steps = [f"cd {where}"]
    if missing := missing_packages(a):
        steps.append(f"pip install -r requirements.txt   # {', '.join(missing)} not installed here")
    if a["provider"] not in ("local", "ollama"):
        steps.append("cp .env.example .env      # and paste your key (until then: a small local model)")
    if a["rag"]:
        steps.append("hackkit ingest            # index the sample documents in data/")
    steps += [f"{run:<25} # the demo", "python -m pytest          # its tests, offline"]
    if a.get("finetune"):
        steps.append("hackkit finetune train finetune/recipe.yaml   # tune the local model on finetune/train.jsonl")
    click.echo("\nNext:\n" + "\n".join(f"  {step}" for step in steps))


def missing_packages(answers: dict[str, Any]) -> list[str]:
    """What the project needs that this environment lacks."""
    import importlib.util

    needed = [answers["ui"], *(["chromadb", "sentence_transformers"] if answers["rag"] else [])]
    needed += ["peft", "trl", "datasets"] if answers.get("finetune") else []
    return [name for name in needed if importlib.util.find_spec(name) is None]


@click.command()
@click.option("--template", type=click.Path(exists=True, file_okay=False, path_type=Path), hidden=True)
def update(template: Path | None) -> None:
    """Bring this project up to the installed hackkit's template, merging with your changes (git).

    Run it in the project's folder with everything committed. Conflicts are left in the files like
    any git merge: resolve them and `git commit`, or `git merge --abort` to undo (the next update
    merges again). It is up to date once the template branch is merged into yours.
    """
    from hackkit import project

    result = project.update(Path.cwd(), template=template)
    if result.up_to_date:
        click.echo(f"Already up to date with the hackkit {result.new_version} template.")
        return
    click.echo(f"Template {result.old_version} -> {result.new_version}: {len(result.changed)} file(s) changed.")
    for name in result.changed:
        click.echo(f"  {name}")
    if result.conflicts:
        click.secho("Conflicts (your edits and the template's touch the same lines):", fg="yellow", err=True)
        for name in result.conflicts:
            click.echo(f"  {name}", err=True)
        click.echo("Resolve them, then `git commit`; or `git merge --abort` to undo the update.", err=True)
        raise SystemExit(1)
    click.secho("Merged and committed.", fg="green")


COMMANDS = [new, update]
