"""The ``hackkit`` command. Each group is a thin module that calls the library and prints.

Heavy libraries are imported inside commands, never here, so ``hackkit --help`` stays instant.
"""

from __future__ import annotations

from typing import Any

import click

from hackkit import __version__
from hackkit.errors import HackkitError


class HackkitGroup(click.Group):
    """Shows a HackkitError as its message and fix, with the error's exit code; no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HackkitError as exc:
            click.secho(f"error: {exc.message}", fg="red", err=True)
            if exc.hint:
                click.echo(f"  fix: {exc.hint}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("", err=True)
            ctx.exit(130)


@click.group(cls=HackkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", package_name="hackkit-llm", prog_name="hackkit")
def cli() -> None:
    """hackkit: from an idea to a deployed, demo-ready LLM app in minutes.

    \b
    New app: hackkit new my-app            (a tested demo project; hackkit update later)
    Start:   hackkit chat "hello"          (offline local model when no key is set)
    Check:   hackkit doctor
    Docs:    hackkit ingest data/ && hackkit ask "question"   (RAG, offline)
    Costs:   hackkit logs / hackkit usage
    Docs:    docs/index.md in the hackkit repository

    Demo:    hackkit ui [--backend streamlit]   (Gradio on 127.0.0.1:7860, Streamlit on :8501)
    Room:    hackkit gateway serve              (one OpenAI-compatible server, a key per team)
    Ship:    hackkit deploy spaces [--dry-run]  (or docker, render, modal; secrets checked first)
    Pitch:   hackkit pitch [--draft]            (a deck from pitch/pitch.yaml; pitch demo records a backup)
    Tune:    hackkit finetune train recipe.yaml (LoRA on your examples; CPU or GPU)
    No Wi-Fi: hackkit wheelhouse my-app -o wheels && hackkit wheelhouse serve wheels
    """


def _register() -> None:
    from hackkit.cli import chat, deploy, doctor, finetune, gateway, ledger, new, pitch, prompts, rag, ui, wheelhouse

    for module in (new, chat, doctor, ledger, prompts, rag, ui, gateway, pitch, finetune, deploy, wheelhouse):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="hackkit")
