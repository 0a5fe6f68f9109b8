"""One Chroma client and one collection handle per process per location, shared by every Store.

Chroma keeps a registry of open systems per path, and creating the first client for a path from
several threads at once races inside it (``KeyError`` from ``_create_system_if_not_exists``,
"Could not connect to tenant"). Demo apps do exactly that: every visitor's script run opens the
store. So clients are opened here, under a lock, once per folder or server URL, and collection
handles likewise once per (location, name); Store and Index objects may be many.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from hackkit.errors import MissingDependencyError

INSTALL_RAG = "pip install torch==2.13.0 && pip install 'hackkit-llm[rag]'"

_lock = threading.RLock()
_clients: dict[str, Any] = {}
_collections: dict[tuple[str, str], Any] = {}


def location(folder: Path, url: str | None) -> str:
    """The key a store's client is shared under: the server URL, else the folder's real path."""
    return url or str(folder.resolve())


def client(where: str) -> Any:
    """The process's client for a folder or a ``http(s)://`` server, opened on first use."""
    with _lock:
        if where not in _clients:
            _clients[where] = _open(where)
        return _clients[where]


def collection(where: str, name: str) -> Any:
    """The process's handle on collection ``name`` (cosine space, vectors supplied by hackkit)."""
    with _lock:
        key = (where, name)
        if key not in _collections:
            _collections[key] = client(where).get_or_create_collection(
                name, embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
        return _collections[key]


def drop_collection(where: str, name: str) -> None:
    """Delete collection ``name`` and forget its handle, so the next use creates it afresh."""
    import contextlib

    with _lock:
        _collections.pop((where, name), None)
        with contextlib.suppress(Exception):  # chromadb raises several types for a missing collection
            client(where).delete_collection(name)


def _open(where: str) -> Any:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
    except ImportError:
        raise MissingDependencyError("chromadb", INSTALL_RAG) from None
    settings = ChromaSettings(anonymized_telemetry=False)
    if where.startswith(("http://", "https://")):
        url = urlparse(where)
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https", settings=settings
        )
    return chromadb.PersistentClient(path=str(Path(where) / "chroma"), settings=settings)
