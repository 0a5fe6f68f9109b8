"""``hackkit deploy TARGET``: Hugging Face Spaces, Docker, Render, Modal (docs/deploy.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from hackkit.deploy import DeployOptions, Outcome

HARDWARE = ["cpu-basic", "cpu-upgrade", "zero-a10g", "t4-small", "t4-medium", "l4x1", "a10g-small", "a10g-large"]


def common(function: Any) -> Any:
    """--out, --bake and --dry-run, which every target takes."""
    function = click.option("--dry-run", is_flag=True, help="Build and check everything, print what would happen.")(
        function
    )
    function = click.option(
        "--bake", is_flag=True, help="Ship the prebuilt index (hackkit ingest first); images load the models at build."
    )(function)
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        help="The bundle's folder [default: build/deploy/TARGET in the project].",
    )(function)


@click.group()
def deploy() -> None:
    """Deploy the project: a bundle is built and checked (secrets, front matter) before anything leaves.

    \b
    hackkit deploy spaces [--hardware zero-a10g]   a Hugging Face Space (pushed, built, asked a question)
    hackkit deploy spaces --static pitch/out      a static Space: the pitch deck's HTML and video
    hackkit deploy docker | render | modal        files to build and run elsewhere, and the commands
    """


@deploy.command()
@click.option("--space", metavar="USER/NAME", help="The Space [default: your user / the project's name].")
@click.option(
    "--hardware",
    type=click.Choice(HARDWARE),
    default="cpu-basic",
    show_default=True,
    help="zero-a10g: ZeroGPU (a free account may host two Gradio Spaces on it).",
)
@click.option("--private", is_flag=True, help="Only you (and your organisation) can open it.")
@click.option(
    "--static",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    metavar="DIR",
    help="Publish DIR's HTML (say pitch/out/) as a static Space instead of the app.",
)
@click.option("--description", help="The Space's one line, at most 60 characters [default: from [ui] description].")
@click.option("--timeout", type=float, default=1800, show_default=True, help="Seconds to wait for the build.")
@click.option("--poll-interval", type=float, default=5.0, hidden=True)
@common
def spaces(
    space: str | None,
    hardware: str,
    private: bool,
    static: Path | None,
    description: str | None,
    timeout: float,
    poll_interval: float,
    out: Path | None,
    bake: bool,
    dry_run: bool,
) -> None:
    """A Hugging Face Space: keys from .env become Space secrets, the URL is printed once the app answers."""
    from hackkit.deploy import DeployOptions

    options = DeployOptions(
        out=out,
        dry_run=dry_run,
        bake=bake,
        space=space,
        hardware=hardware,
        private=private,
        static=static,
        description=description,
        timeout=timeout,
        poll_interval=poll_interval,
    )
    _run("spaces", options)


@deploy.command()
@common
def docker(out: Path | None, bake: bool, dry_run: bool) -> None:
    """A Dockerfile (slim, CPU torch, uid 1000, a health check) and the docker build / run lines."""
    _run_files("docker", out, bake, dry_run)


@deploy.command()
@common
def render(out: Path | None, bake: bool, dry_run: bool) -> None:
    """A render.yaml Blueprint (binding $PORT, asking for your key) beside the Docker bundle."""
    _run_files("render", out, bake, dry_run)


@deploy.command()
@common
def modal(out: Path | None, bake: bool, dry_run: bool) -> None:
    """A Modal app file (modal_app.py) beside the app, and the modal commands."""
    _run_files("modal", out, bake, dry_run)


def _run_files(target: str, out: Path | None, bake: bool, dry_run: bool) -> None:
    from hackkit.deploy import DeployOptions

    _run(target, DeployOptions(out=out, bake=bake, dry_run=dry_run))


def _run(target: str, options: DeployOptions) -> None:
    from hackkit.deploy import deploy as run_deploy

    outcome = run_deploy(target, options, report=lambda line: click.echo(line, err=True))
    _show(outcome, options)


def _show(outcome: Outcome, options: DeployOptions) -> None:
    bundle = outcome.bundle
    files = bundle.files
    where = click.format_filename(str(bundle.folder))
    click.echo(f"Bundle: {where} ({len(files)} files, {_size(sum(files.values()))})")
    if options.dry_run:
        for name, size in files.items():
            click.echo(f"  {_size(size):>9}  {name}")
    if bundle.front_matter is not None and options.dry_run:
        click.echo("Front matter (README.md):")
        click.echo("".join(f"  {line}\n" for line in bundle.front_matter.render().splitlines()), nl=False)
    for note in bundle.notes:
        click.echo(f"  note: {note}")
    if outcome.calls and options.dry_run:
        click.echo("Calls it would make (secret values masked):")
        for call in outcome.calls:
            click.echo(f"  {call}")
    if bundle.commands:
        click.echo("Next:")
        for command in bundle.commands:
            click.echo(f"  {command}")
    if outcome.url:
        click.echo(f"The app answered: {outcome.answer[:200]!r}")
        click.secho(f"Live at {outcome.url}  (Space page: {outcome.page})", fg="green", bold=True)
    elif options.dry_run:
        click.echo("Dry run: nothing was sent.")


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000  # type: ignore[assignment]
    return f"{size} B"


COMMANDS = [deploy]
