"""``hackkit wheelhouse``: a folder with every wheel a project needs, and ``serve`` to give it to the room."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import click

PLATFORMS = ["linux-x86_64", "linux-aarch64", "macos-arm64", "windows-x86_64"]  # hackkit.wheelhouse.PLATFORM_TAGS
PYTHONS = ["3.10", "3.11", "3.12"]


class BuildByDefault(click.Group):
    """``hackkit wheelhouse [PROJECT] -o DIR`` builds; ``hackkit wheelhouse serve DIR`` serves."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["build", *args]
        elif not args:
            args = ["build"]
        return super().parse_args(ctx, args)


@click.group(cls=BuildByDefault)
def wheelhouse() -> None:
    """Every wheel a project needs in one folder, served to a room with no internet.

    \b
    hackkit wheelhouse [PROJECT] -o DIR [--platform ...] [--python ...]   (the same as `build`)
    hackkit wheelhouse serve DIR [--host 0.0.0.0]
    """


@wheelhouse.command()
@click.argument("project", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="The folder.")
@click.option(
    "--platform", "platforms", multiple=True, type=click.Choice(PLATFORMS), help="Another platform; repeatable."
)
@click.option("--python", type=click.Choice(PYTHONS), help="The teams' Python [default: this one].")
@click.option("--dry-run", is_flag=True, help="Resolve and list the packages and what is missing; download nothing.")
def build(project: Path, output: Path, platforms: tuple[str, ...], python: str | None, dry_run: bool) -> None:
    """Download every wheel PROJECT (a `hackkit new` folder; default: here) needs into OUTPUT.

    hackkit itself as a wheel, its extras, torch, the offline model and a build backend; by default
    for this machine. Another platform or Python is resolved with uv (pip install uv), which reads
    that platform's environment markers, from the indexes pip uses here (its pip.conf and PIP_*
    variables, such as PIP_INDEX_URL). What a platform cannot get (no wheel, or torch only as the
    CUDA build) is named, in the output and in OUTPUT/README.md.
    """
    from hackkit.wheelhouse import build as build_wheelhouse

    for platform in platforms or (None,):
        _show(build_wheelhouse(project, output, platform, python, dry_run=dry_run))


def _show(built: Any) -> None:
    verb = "would download" if not built.downloaded else "downloaded"
    click.echo(f"{built.target.name}: {len(built.packages)} packages {verb} into {built.folder}")
    click.echo(f"  resolved by {built.resolver}")
    if not built.downloaded:
        pins = ", ".join(package.pin for package in built.packages)
        click.echo(textwrap.fill(pins, width=100, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False))
    for missing in built.missing:
        click.secho(f"  missing {missing.name}: {missing.reason}", fg="yellow")


@wheelhouse.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="0.0.0.0 to serve the room's network.")
@click.option("--port", default=3141, show_default=True, type=click.IntRange(1, 65535))
def serve(folder: Path, host: str, port: int) -> None:
    """Serve FOLDER as a package index: pip install --index-url http://HOST:PORT/simple/ ..."""
    from hackkit.wheelhouse.serve import index_server

    server = index_server(folder, host, port)
    click.echo(f"Serving {folder} on http://{host}:{server.server_address[1]}/simple/ (Ctrl+C stops)", err=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


COMMANDS = [wheelhouse]
