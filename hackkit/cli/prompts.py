"""``hackkit prompts``: the prompt templates a project can use."""

from __future__ import annotations

import click


@click.command()
def prompts() -> None:
    """List prompt templates (the project's prompts/ folder, then hackkit's own)."""
    from hackkit.config import load_settings
    from hackkit.llm.prompts import available_prompts

    settings = load_settings()
    for name, versions in sorted(available_prompts(settings.resolve_path(settings.llm.prompts_dir)).items()):
        newest = max(versions.values(), key=lambda p: p.version)
        click.echo(f"{name}@{', '.join(sorted(versions))}  {newest.source}")


COMMANDS = [prompts]
