"""hackkit: from an idea to a deployed, demo-ready LLM app in minutes.

Importing ``hackkit`` is cheap; ``hackkit.llm`` holds the client (``from hackkit.llm import chat``).
"""

from __future__ import annotations

from typing import Any

from hackkit.errors import HackkitError

__version__ = "0.1.0"
__all__ = ["HackkitError", "__version__", "achat", "chat", "embed"]


def __getattr__(name: str) -> Any:
    if name in ("chat", "achat", "embed"):
        import hackkit.llm

        return getattr(hackkit.llm, name)
    raise AttributeError(f"module 'hackkit' has no attribute {name!r}")
