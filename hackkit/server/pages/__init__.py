"""The gateway's own pages: the catalog teams browse and the dashboard mentors run the room from.

Not built yet: the routes below are filled in by the catalog and dashboard modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hackkit.server.app import Handler

ROUTES: dict[tuple[str, str], Handler] = {}
PATTERNS: dict[tuple[str, str], Handler] = {}
