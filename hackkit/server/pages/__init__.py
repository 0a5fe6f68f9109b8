"""The gateway's own pages: the catalog teams browse and the dashboard mentors run the room from.

Server-rendered HTML with one inline stylesheet, inline SVG charts and one small inline script (the
live tail), all under a Content-Security-Policy that allows nothing from another origin. Sessions
are signed cookies (``session.py``), so they work across workers; every form carries a CSRF token.

``catalog.py`` and ``visitor.py`` (``/catalog``), ``dashboard.py`` (``/dashboard``), ``panels.py``
and ``charts.py`` (what the dashboard draws), ``examples.py`` (the catalog's copy-paste code),
``access.py`` (who is looking), ``html.py`` (escaping and layout).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hackkit.server.pages import catalog, dashboard

if TYPE_CHECKING:
    from hackkit.server.app import Handler

ROUTES: dict[tuple[str, str], Handler] = {**catalog.ROUTES, **dashboard.ROUTES}
PATTERNS: dict[tuple[str, str], Handler] = dict(dashboard.PATTERNS)
