"""Print docs/cli.md from the commands' own --help, so the reference cannot drift.

python docs/gen_cli.py > docs/cli.md
"""

from __future__ import annotations

import click

from hackkit.cli import cli


def render() -> str:
    lines = ["# CLI reference", "", "Generated from `--help` by `docs/gen_cli.py` (`make docs-cli`).", ""]
    with click.Context(cli, info_name="hackkit", **cli.context_settings) as ctx:
        lines += ["## hackkit", "", "```text", cli.get_help(ctx), "```", ""]
        lines += commands_of(cli, ctx, "hackkit", 2)
    return "\n".join(lines)


def commands_of(group: click.Group, ctx: click.Context, path: str, level: int) -> list[str]:
    """Each command's help under a heading, and a group's own commands below it, one level down."""
    lines = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        with click.Context(command, info_name=name, parent=ctx) as sub:
            lines += [f"{'#' * level} {path} {name}", "", "```text", command.get_help(sub), "```", ""]
            if isinstance(command, click.Group):
                lines += commands_of(command, sub, f"{path} {name}", min(level + 1, 4))
    return lines


if __name__ == "__main__":
    print(render(), end="")
