"""Adapters to other frameworks, each importing its framework only when used.

LangChain (needs langchain-core): ``ChatHackkit``, a chat model over the client, and
``HackkitRetriever``, a retriever over the index; both also live in ``hackkit.integrations.langchain``.
"""

from __future__ import annotations

from typing import Any

from hackkit.errors import MissingDependencyError

__all__ = ["ChatHackkit", "HackkitRetriever"]
INSTALL_LANGCHAIN = 'pip install langchain-core (it comes with pip install "hackkit-llm[rag]")'


def __getattr__(name: str) -> Any:
    if name in __all__:
        try:
            from hackkit.integrations import langchain
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("langchain_core"):
                raise
            raise MissingDependencyError("langchain-core", INSTALL_LANGCHAIN) from None
        return getattr(langchain, name)
    raise AttributeError(f"module 'hackkit.integrations' has no attribute {name!r}")
