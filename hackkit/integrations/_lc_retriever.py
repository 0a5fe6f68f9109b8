"""``HackkitRetriever``: hackkit's retrieval (hybrid, dense or BM25) as a LangChain ``BaseRetriever``.

``k``, ``mode`` and ``where`` are set at construction and can be overridden per call, as LangChain's
standard retriever tests expect: ``retriever.invoke("question", k=3)``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, field_validator

from hackkit.errors import InvalidRequestError
from hackkit.rag.index import Index
from hackkit.rag.retrieval import Hit

MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")
CALL_OPTIONS = ("k", "mode", "where")


class HackkitRetriever(BaseRetriever):
    """The ``k`` chunks of the project's index that best match a query, as LangChain documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any = Field(default=None, description="a hackkit.rag.Index; the project's by default")
    k: int | None = Field(default=None, description="how many documents; default: [rag] top_k")
    mode: str | None = Field(default=None, description="hybrid, dense or bm25; default: [rag] mode")
    where: dict[str, Any] | None = Field(default=None, description="a metadata filter, Chroma-style")

    @field_validator("k")
    @classmethod
    def _valid_k(cls, k: int | None) -> int | None:
        return _checked_k(k)

    @field_validator("mode")
    @classmethod
    def _valid_mode(cls, mode: str | None) -> str | None:
        return _checked_mode(mode)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **options: Any
    ) -> list[Document]:
        return self._search(query, options)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **options: Any
    ) -> list[Document]:
        return await asyncio.to_thread(self._search, query, options)

    def _search(self, query: str, options: dict[str, Any]) -> list[Document]:
        unknown = sorted(set(options) - set(CALL_OPTIONS))
        if unknown:
            raise InvalidRequestError(
                f"HackkitRetriever.invoke got unknown options {unknown}.", hint=f"it takes {', '.join(CALL_OPTIONS)}"
            )
        if self.index is None:
            self.index = Index()
        hits = self.index.retrieve(
            query,
            k=_checked_k(options.get("k", self.k)),
            mode=_checked_mode(options.get("mode", self.mode)),
            where=options.get("where", self.where),
        )
        return [as_document(hit) for hit in hits]


def as_document(hit: Hit) -> Document:
    """A hit as a LangChain document; its scores ride in the metadata."""
    return Document(
        page_content=hit.text, id=hit.id, metadata={**hit.metadata, "score": hit.score, "similarity": hit.similarity}
    )


def _checked_k(k: int | None) -> int | None:
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise InvalidRequestError(f"k must be a whole number of at least 1, not {k!r}.", hint="pass k=4, say")
    return k


def _checked_mode(mode: str | None) -> str | None:
    if mode is not None and mode not in MODES:
        raise InvalidRequestError(f"mode {mode!r} is not a retrieval mode.", hint=f"use one of {', '.join(MODES)}")
    return mode
