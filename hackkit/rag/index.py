"""The index a project asks questions of: the store, the embedder and BM25 together."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from hackkit.config import RAGConfig, check_range
from hackkit.rag.bm25 import BM25Index
from hackkit.rag.retrieval import Hit, Reranker, cross_encoder_reranker, matches, retrieve
from hackkit.rag.store import Store

if TYPE_CHECKING:
    import numpy as np

    from hackkit.config import Settings
    from hackkit.llm.client import Client
    from hackkit.rag.embeddings import Embedder


class Index:
    def __init__(
        self, settings: Settings | None = None, *, client: Client | None = None, store: Store | None = None
    ) -> None:
        if client is None:
            from hackkit.llm import default_client
            from hackkit.llm.client import Client

            client = Client(settings) if settings is not None else default_client()
        self.client = client
        self.settings = settings or client.settings
        self.store = store or Store.for_settings(self.settings)
        self._bm25: tuple[int, BM25Index] | None = None
        self._vectors: tuple[int, tuple[list[str], np.ndarray] | None] | None = None
        self._rows: dict[str, int] = {}  # chunk id -> row of the cached vectors

    @functools.cached_property
    def embedder(self) -> Embedder:
        from hackkit.rag.embeddings import embedder_for

        return embedder_for(self.store.embedding_model, self.client)

    @functools.cached_property
    def reranker(self) -> Reranker | None:
        model = self.settings.rag.reranker
        return cross_encoder_reranker(model) if model else None

    # -- searching ---------------------------------------------------------------------------

    def retrieve(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: str | None = None,
        where: dict[str, Any] | None = None,
        rerank: Reranker | None = None,
    ) -> list[Hit]:
        """The ``k`` chunks that best match ``query`` (``mode``: hybrid, dense or bm25)."""
        rag = self.settings.rag
        k = rag.top_k if k is None else check_range(RAGConfig, "top_k", k, "k")
        self.store.check_model()
        return retrieve(self, query, k=k, mode=mode or rag.mode, where=where, rerank=rerank or self.reranker)

    def dense_search(self, vector: np.ndarray, k: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first: exact for small indexes, Chroma's HNSW otherwise."""
        import numpy as np

        matrix = None if where else self.vectors()
        if matrix is not None:
            ids, vectors = matrix
            similarities = vectors @ np.asarray(vector, dtype=np.float32)
            top = np.argsort(-similarities)[: min(k, len(ids))]
            return [(ids[i], float(similarities[i])) for i in top]
        count = self.store.count()
        if count == 0:
            return []
        found = self.store.collection.query(
            query_embeddings=[vector], n_results=min(k, count), where=where or None, include=["distances"]
        )
        return [(i, 1.0 - d) for i, d in zip(found["ids"][0], found["distances"][0], strict=True)]

    def vectors(self) -> tuple[list[str], np.ndarray] | None:
        """Every chunk's vector in memory, for exact search; None above ``exact_search_limit``.

        HNSW is approximate and its graph differs from build to build (SciFact dense nDCG@10 moved
        between 0.642 and 0.645); below a few tens of thousands of chunks a matrix product is exact,
        deterministic and faster.
        """
        import numpy as np

        version = self.store.manifest.version
        if self._vectors is None or self._vectors[0] != version:
            count = self.store.count()
            if count == 0 or count > self.settings.rag.exact_search_limit:
                self._vectors = (version, None)
            else:
                data = self.store.collection.get(include=["embeddings"])
                self._vectors = (version, (list(data["ids"]), np.asarray(data["embeddings"], dtype=np.float32)))
                self._rows = {chunk_id: n for n, chunk_id in enumerate(data["ids"])}
        return self._vectors[1]

    def bm25_search(self, query: str, k: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        bm25 = self.bm25()
        if not where:
            return bm25.search(query, k)
        wide = bm25.search(query, k * 5)  # filter afterwards, so ask for more
        metadata = self.store.collection.get(ids=[i for i, _ in wide], include=["metadatas"]) if wide else None
        allowed = (
            {i for i, m in zip(metadata["ids"], metadata["metadatas"], strict=True) if matches(m or {}, where)}
            if metadata
            else set()
        )
        return [(i, s) for i, s in wide if i in allowed][:k]

    def bm25(self) -> BM25Index:
        version = self.store.manifest.version
        if self._bm25 is None or self._bm25[0] != version:

            def chunks() -> tuple[list[str], list[str]]:
                ids, texts, _ = self.store.all_chunks()
                return ids, texts

            folder = self.store.root / f"{self.store.collection_name}.bm25"
            self._bm25 = (version, BM25Index.load_or_build(folder, version, chunks))
        return self._bm25[1]

    def rare_keyword_chunks(self, query: str) -> set[str]:
        """Ids of the chunks holding a rare keyword of ``query`` (see :meth:`BM25Index.rare_keyword_chunks`)."""
        return self.bm25().rare_keyword_chunks(query)

    def hits(self, ranked: list[tuple[str, float]], vector: np.ndarray, known: dict[str, float]) -> list[Hit]:
        """Hits with text and metadata for ranked ids; each with its cosine similarity to ``vector``."""
        import numpy as np

        if not ranked:
            return []
        ids = [i for i, _ in ranked]
        matrix = self.vectors()
        if matrix is not None:
            query = np.asarray(vector, dtype=np.float32)
            known = {**{i: float(matrix[1][self._rows[i]] @ query) for i in ids if i in self._rows}, **known}
        missing = [i for i in ids if i not in known]
        data = self.store.collection.get(
            ids=ids, include=["documents", "metadatas"] + (["embeddings"] if missing else [])
        )
        if missing:
            sims = np.asarray(data["embeddings"], dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
            known = {**dict(zip(data["ids"], map(float, sims), strict=True)), **known}
        found = {
            i: (text, meta or {})
            for i, text, meta in zip(data["ids"], data["documents"], data["metadatas"], strict=True)
        }
        return [Hit(i, found[i][0], found[i][1], score, known[i]) for i, score in ranked if i in found]

    def close(self) -> None:
        self.store.close()
