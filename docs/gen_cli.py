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
        for name in cli.list_commands(ctx):
            command = cli.get_command(ctx, name)
            assert command is not None
            with click.Context(command, info_name=name, parent=ctx) as sub:
                lines += [f"## hackkit {name}", "", "```text", command.get_help(sub), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
