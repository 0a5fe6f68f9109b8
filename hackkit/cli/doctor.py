"""``hackkit doctor``: a health check with a fix for each problem."""

from __future__ import annotations

import json
from dataclasses import asdict

import click


@click.command()
@click.option("--offline", is_flag=True, help="Do not contact any provider.")
@click.option("--json", "as_json", is_flag=True)
def doctor(offline: bool, as_json: bool) -> None:
    """Which providers are configured and reachable, which offline models are installed."""
    from hackkit.config import load_settings
    from hackkit.doctor import run_checks

    checks = run_checks(load_settings(), network=not offline)
    if as_json:
        click.echo(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        for check in checks:
            mark = (
                click.style("ok ", fg="green")
                if check.ok
                else click.style("-- " if check.optional else "!! ", fg="yellow" if check.optional else "red")
            )
            click.echo(f"{mark} {check.name}: {check.detail}")
            if not check.ok and check.fix:
                click.echo(f"     fix: {check.fix}")
    problems = [c for c in checks if not c.ok and not c.optional]
    if problems:
        raise SystemExit(1)


COMMANDS = [doctor]
