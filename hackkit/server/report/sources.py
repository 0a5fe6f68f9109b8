"""Where a report comes from: this folder's store, or a running gateway's ``/dashboard/report.json``."""

from __future__ import annotations

from typing import Any

from hackkit.server.report.figures import Report, build


def window_of(since: str) -> float:
    """``"24h"`` -> seconds, for ``--since``; a clear error for anything else."""
    from hackkit.errors import ConfigError
    from hackkit.server.keys import parse_duration

    window = parse_duration(since)
    if window <= 0:
        raise ConfigError("--since must be a positive duration.", hint="for instance 30m, 24h or 7d")
    return window


def local_report(settings: Any, since: str, db: str | None = None) -> Report:
    """The report from the store of the gateway folder ``settings`` describes (or ``db``)."""
    from hackkit.server.serve import open_gateway_store

    window = window_of(since)
    store = open_gateway_store(settings, db)
    try:
        return build(store, window)
    finally:
        store.close()


def remote_report(url: str, admin_key: str | None, since: str) -> Report:
    """The same report from a running gateway's ``/dashboard/report.json`` (the admin key as a bearer token)."""
    import httpx

    from hackkit.errors import ConfigError, HackkitError

    window_of(since)
    if not admin_key:
        raise ConfigError(
            "--url needs the gateway's admin key.",
            hint="export HACKKIT_GATEWAY_ADMIN_KEY=... (it is in .hackkit/gateway-admin-key on the gateway)",
        )
    base = url.rstrip("/").removesuffix("/v1")
    try:
        answer = httpx.get(
            base + "/dashboard/report.json",
            params={"since": since},
            headers={"Authorization": f"Bearer {admin_key}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise HackkitError(f"Could not reach the gateway at {base}: {exc}", hint="check --url") from None
    if answer.status_code != 200:
        raise HackkitError(
            f"The gateway said HTTP {answer.status_code}: {answer.text[:300]}", hint="check the admin key"
        )
    return Report.from_dict(answer.json())
