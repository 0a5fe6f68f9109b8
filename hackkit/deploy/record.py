"""``.hackkit/deploy.json``: where the app was last deployed, for the pitch's demo link.

    {"target": "spaces", "url": "https://team-app.hf.space", "page": "...", "deployed_at": "2026-...",
     "targets": {"spaces": {...the same fields...}}}

The top-level fields are the latest deploy of the app (the pitch's demo link); ``targets`` keeps
the latest of each target, ``spaces-static`` (the pitch deck's own Space) included, which is never
the demo link.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

from hackkit import __version__

RECORD = "deploy.json"


def record(data_dir: Path, target: str, url: str, *, app: bool = True, **extra: str) -> dict[str, Any]:
    """Add a deploy to the record; ``app=False`` (a static Space) leaves the demo link as it was."""
    path = data_dir / RECORD
    entry = {
        "target": target,
        "url": url,
        **extra,
        "deployed_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hackkit_version": __version__,
    }
    previous = read(data_dir)
    targets = {**previous.get("targets", {}), target: entry}
    latest = entry if app else {key: value for key, value in previous.items() if key != "targets"}
    data = {**latest, "targets": targets}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{RECORD}.partial-{os.getpid()}")
    partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    partial.replace(path)  # a reader never sees half a file
    return data


def read(data_dir: Path) -> dict[str, Any]:
    """The record, or {} when nothing was deployed yet (or the file is unreadable)."""
    try:
        data = json.loads((data_dir / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
