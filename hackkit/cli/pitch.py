"""``hackkit pitch``: the deck from pitch/pitch.yaml and the project's facts; ``pitch demo``: the backup video."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

FORMAT_CHOICES = ["pptx", "marp", "html", "pdf", "png", "all"]


def _project() -> Path:
    from hackkit.config import find_project_root

    return find_project_root() or Path.cwd()


@click.group(invoke_without_command=True)
@click.option(
    "-f",
    "--format",
    "formats",
    type=click.Choice(FORMAT_CHOICES),
    multiple=True,
    help="What to make (repeat for several) [default: all that this machine can].",
)
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), help="Default: pitch/out/.")
@click.option("--draft", is_flag=True, help="Have the model write the empty fields of pitch.yaml first.")
@click.option("-m", "--model", help="The model that drafts; default: the project's.")
@click.option(
    "--check", is_flag=True, help="Only check: exit 1 when it runs long (naming the slides to cut) or text is too long."
)
@click.pass_context
def pitch(
    ctx: click.Context, formats: tuple[str, ...], out: Path | None, draft: bool, model: str | None, check: bool
) -> None:
    """Make the pitch deck: PPTX, Marp, HTML, PDF and PNG pages, from pitch/pitch.yaml and the project.

    The model, fallbacks, documents, usage and the demo's URL (QR code) come from the project, each
    with its source in the notes. `hackkit pitch demo` records the backup video the deck links.
    """
    if ctx.invoked_subcommand is not None:
        return
    project = _project()
    if draft:
        _draft(project, model)
    if check:
        _check(project)
        return
    from hackkit.pitch import build

    built = build(project, formats or ("all",), out)
    for name, paths in built.files.items():
        shown = paths[0] if name != "png" else f"{paths[0].parent}/ ({len(paths)} pages)"
        click.echo(f"{name:<5} {click.format_filename(str(_relative(Path(str(shown)))))}")
    for name, why in built.skipped.items():
        click.secho(f"{name:<5} skipped: {why}", fg="yellow", err=True)
    _report_deck(built.deck, built.timing)


def _draft(project: Path, model: str | None) -> None:
    from hackkit.pitch.draft import draft

    drafted = draft(project, model=model)
    if not drafted.fields and not drafted.empty:
        click.echo("Nothing to draft: every field of pitch/pitch.yaml is written.")
    for name in drafted.fields:
        click.echo(f"drafted {name} with {drafted.model}: edit it in pitch/pitch.yaml")
    for name in drafted.empty:
        click.secho(f"{drafted.model} gave nothing usable for {name}: write it yourself", fg="yellow", err=True)


def _check(project: Path) -> None:
    from hackkit.pitch import check_timing, load_deck
    from hackkit.pitch.layout import warnings

    deck = load_deck(project)
    timing = check_timing(deck)
    for slide in timing.slides:
        click.echo(f"{slide.seconds:5.0f} s  {slide.title} ({slide.words} words)")
    click.echo(f"{timing.seconds:5.0f} s  in all, for {deck.spec.minutes:g} minutes")
    _report_deck(deck, timing)
    if not timing.fits or warnings(deck):
        raise SystemExit(1)


def _report_deck(deck: Any, timing: Any) -> None:
    from hackkit.pitch.layout import warnings

    for warning in [*timing.warnings, *warnings(deck)]:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    missing = [name for slide in deck.slides for name in slide.missing]
    if missing:
        click.echo(f"not written yet: {', '.join(missing)} (hackkit pitch --draft writes a first draft)", err=True)


@pitch.command()
@click.option("--url", help="A running app to record; default: start `hackkit ui` here and stop it afterwards.")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), help="Default: pitch/demo/.")
def demo(url: str | None, out: Path | None) -> None:
    """Record the backup demo: Chromium drives the app through the demo's steps and questions.

    Writes a video (demo.mp4, made with ffmpeg; demo.gif with Pillow when ffmpeg is missing), the
    screenshots and demo.json into pitch/demo/. Run `hackkit pitch` afterwards: the deck links it.
    """
    from hackkit.pitch.demo import record_demo

    recording = record_demo(_project(), url=url, out=out)
    where = "the app it started" if recording.started_app else recording.url
    click.echo(f"Recorded {len(recording.frames)} frames of {where} ({len(recording.answers)} answers)")
    assert recording.video is not None
    click.echo(
        f"video {click.format_filename(str(_relative(recording.video)))} "
        f"({recording.duration:.0f} s, {recording.assembled_with})"
    )


def _relative(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


COMMANDS = [pitch]
