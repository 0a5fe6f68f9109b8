"""hackkit's retriever as a LangChain ``BaseRetriever``.

from hackkit.integrations.langchain import HackkitRetriever
retriever = HackkitRetriever(k=4)
docs = retriever.invoke("What is our pricing?")
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from hackkit.rag.index import Index


class HackkitRetriever(BaseRetriever):
    """Hybrid (or dense, or BM25) retrieval over the project's hackkit index."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any = Field(default=None, description="a hackkit.rag.Index; the project's by default")
    k: int | None = None
    mode: str | None = None
    where: dict[str, Any] | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        if self.index is None:
            self.index = Index()
        hits = self.index.retrieve(query, k=self.k, mode=self.mode, where=self.where)
        return [
            Document(
                page_content=hit.text,
                id=hit.id,
                metadata={**hit.metadata, "score": hit.score, "similarity": hit.similarity},
            )
            for hit in hits
        ]
