"""Who a visitor is, and how many requests a minute they may make.

A visitor is the address their connection comes from, not a browser session: a session starts
empty on every reload and an API call has none, so a budget kept there is no budget. Behind a
reverse proxy (Hugging Face Spaces, Render) every connection comes from the proxy, and the
visitor's address is in ``X-Forwarded-For``; ``[ui] trust_proxy`` says how many proxies stand in
front of the app, and the address is read that many hops from the right of the header: the one
the outermost trusted proxy saw. Hops further left are whatever the client chose to send, so
they are never trusted.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable

LOCAL = "127.0.0.1"


def visitor_address(peer: str | None, forwarded_for: Iterable[str] = (), trust_proxy: int = 0) -> str:
    """The address a visitor's budget is kept under.

    ``peer`` is the connection's address, ``forwarded_for`` the values of every
    ``X-Forwarded-For`` header, in order, ``trust_proxy`` how many proxies are in front.
    """
    peer = peer or LOCAL
    if trust_proxy <= 0:
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    if not hops:
        return peer
    return hops[-min(trust_proxy, len(hops))]


class RateLimiter:
    """At most ``per_minute`` requests per key in any 60 seconds (0: no limit); thread-safe."""

    WINDOW = 60.0

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._requests: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, cost: int = 1) -> bool:
        """Count ``cost`` requests for ``key`` if they fit in its budget; False (and nothing counted) if not."""
        if not self.per_minute:
            return True
        now = time.monotonic()
        with self._lock:
            recent = self._requests.setdefault(key, deque())
            while recent and now - recent[0] > self.WINDOW:
                recent.popleft()
            if len(recent) + cost > self.per_minute:
                return False
            recent.extend([now] * cost)
            self._forget_idle(now)
            return True

    def _forget_idle(self, now: float) -> None:
        """Drop keys whose last request left the window, so a crowd of one-time visitors costs no memory."""
        if len(self._requests) > 10_000:
            for key in [k for k, times in self._requests.items() if not times or now - times[-1] > self.WINDOW]:
                del self._requests[key]
