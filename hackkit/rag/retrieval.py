"""Finding the chunks that answer a question: dense, BM25, or both fused (the default).

Hybrid retrieval takes each retriever's top ``candidates`` and fuses them with reciprocal rank
fusion (score = sum of 1 / (rrf_k + rank)), which needs no score calibration between the two.
Every returned hit also carries its cosine similarity to the question, computed from the stored
vectors, because that, not the fused rank, says whether a hit is relevant at all.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hackkit.rag.index import Index

Reranker = Callable[[str, list["Hit"]], list["Hit"]]


@dataclass
class Hit:
    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    score: float = 0.0  # what ranked it: fused RRF score, BM25 score, or similarity
    similarity: float = 0.0  # cosine similarity of chunk and question, always set

    @property
    def source(self) -> str:
        return str(self.metadata.get("source", ""))


def reciprocal_rank_fusion(rankings: list[list[str]], k: int) -> dict[str, float]:
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda value, expected: value is not None and compare(value, expected)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": operator.eq,
    "$ne": operator.ne,
    "$in": lambda value, expected: value in expected,
    "$nin": lambda value, expected: value not in expected,
    "$gt": _ordered(operator.gt),
    "$gte": _ordered(operator.ge),
    "$lt": _ordered(operator.lt),
    "$lte": _ordered(operator.le),
}


def matches(metadata: dict[str, Any], where: dict[str, Any] | None) -> bool:
    """Chroma-style metadata filters, for hits that did not come from Chroma."""
    for key, condition in (where or {}).items():
        if key in ("$and", "$or"):
            results = (matches(metadata, c) for c in condition)
            if not (all(results) if key == "$and" else any(results)):
                return False
            continue
        conditions = condition if isinstance(condition, dict) else {"$eq": condition}
        if not all(OPERATORS[op](metadata.get(key), expected) for op, expected in conditions.items()):
            return False
    return True


def retrieve(
    index: Index, query: str, *, k: int, mode: str, where: dict[str, Any] | None = None, rerank: Reranker | None = None
) -> list[Hit]:
    rag = index.settings.rag
    vector = index.embedder.embed([query])[0]
    dense = index.dense_search(vector, rag.candidates if mode == "hybrid" else k, where) if mode != "bm25" else []
    keyword = index.bm25_search(query, rag.candidates, where) if mode != "dense" else []
    if mode == "dense":
        ranked = dense
    elif mode == "bm25":
        ranked = keyword
    else:
        fused = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in keyword]], rag.rrf_k)
        ranked = sorted(fused.items(), key=lambda item: item[1], reverse=True)
    hits = index.hits(ranked[: k * (3 if rerank else 1)], vector, known=dict(dense))
    if rerank is not None:
        hits = rerank(query, hits)
    return hits[:k]


def cross_encoder_reranker(model: str) -> Reranker:
    """A reranker from a sentence-transformers CrossEncoder (a local folder, or a cached hub id)."""
    from sentence_transformers import CrossEncoder

    encoder = CrossEncoder(model, device="cpu")

    def rerank(query: str, hits: list[Hit]) -> list[Hit]:
        scores = encoder.predict([(query, h.text) for h in hits]) if hits else []
        for hit, score in zip(hits, scores, strict=True):
            hit.score = float(score)
        return sorted(hits, key=lambda h: h.score, reverse=True)

    return rerank
