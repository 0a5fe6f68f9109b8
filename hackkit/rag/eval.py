"""Retrieval quality on any BEIR-layout folder: nDCG@10, recall@10 and MRR@10.

The corpus is indexed once per corpus file and embedding model (cached under the data folder,
so a second run only re-asks the questions), each document as one chunk of title + " " + text,
as BEIR does, then every judged query goes through the same retrieval code as ``hackkit ask``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hackkit.errors import HackkitError
from hackkit.rag.chunking import Chunk
from hackkit.rag.index import Index
from hackkit.rag.store import Store

CUTOFF = 10


@dataclass
class Beir:
    corpus: dict[str, str]  # id -> title + " " + text
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance}
    corpus_hash: str


def load_beir(folder: Path, split: str = "test") -> Beir:
    corpus_file, queries_file, qrels_file = (
        folder / "corpus.jsonl",
        folder / "queries.jsonl",
        folder / "qrels" / f"{split}.tsv",
    )
    missing = [p.name for p in (corpus_file, queries_file, qrels_file) if not p.is_file()]
    if missing:
        raise HackkitError(
            f"{folder} is not a BEIR folder: no {', '.join(missing)}.",
            hint="it needs corpus.jsonl, queries.jsonl and qrels/test.tsv",
        )
    raw = corpus_file.read_bytes()
    corpus = {}
    for line in raw.decode("utf-8").splitlines():
        if line.strip():
            doc = json.loads(line)
            corpus[str(doc["_id"])] = (doc.get("title", "") + " " + doc.get("text", "")).strip()
    queries = {str(q["_id"]): q["text"] for q in map(json.loads, queries_file.read_text("utf-8").splitlines()) if q}
    qrels: dict[str, dict[str, int]] = {}
    for n, line in enumerate(qrels_file.read_text("utf-8").splitlines()):
        parts = line.split("\t")
        if n == 0 and not parts[-1].strip().lstrip("-").isdigit():
            continue  # the header
        if len(parts) >= 3:
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return Beir(corpus, queries, qrels, hashlib.sha256(raw).hexdigest())


def ndcg(ranked: list[str], relevant: dict[str, int], k: int = CUTOFF) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted((r for r in relevant.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(rank + 2) for rank, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(ranked: list[str], relevant: dict[str, int], k: int = CUTOFF) -> float:
    wanted = {d for d, r in relevant.items() if r > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr(ranked: list[str], relevant: dict[str, int], k: int = CUTOFF) -> float:
    return next((1.0 / (rank + 1) for rank, doc in enumerate(ranked[:k]) if relevant.get(doc, 0) > 0), 0.0)


def eval_index(data: Beir, index: Index) -> Index:
    """An index of the corpus, built on first use and kept for later runs."""
    model = index.settings.rag.embedding_model
    key = hashlib.sha256(f"{data.corpus_hash}:{model}".encode()).hexdigest()[:16]
    rag = index.settings.rag
    store = Store(index.settings.data_dir / "eval", f"beir-{key}", model, rag.chroma_url, rag.candidates)
    built = Index(index.settings, client=index.client, store=store)
    record = store.manifest.files().get("corpus")
    if record is None or record.hash != data.corpus_hash or store.count() != len(data.corpus):
        store.reset()
        store.check_model()
        ids, texts = list(data.corpus), list(data.corpus.values())
        chunks = [Chunk(i, t, {"source": "corpus", "doc": i}) for i, t in zip(ids, texts, strict=True)]
        store.write_file("corpus", data.corpus_hash, chunks, built.embedder.embed(texts))
    return built


def evaluate(folder: Path, mode: str, index: Index | None = None, limit: int | None = None) -> dict[str, Any]:
    index = index or Index()
    data = load_beir(folder)
    started = time.perf_counter()
    searchable = eval_index(data, index)
    indexed = time.perf_counter() - started
    judged = [q for q in data.queries if q in data.qrels][:limit]
    totals = {"ndcg@10": 0.0, "recall@10": 0.0, "mrr@10": 0.0}
    started = time.perf_counter()
    for query_id in judged:
        hits = searchable.retrieve(data.queries[query_id], k=CUTOFF, mode=mode, rerank=None)
        ranked = [str(h.metadata.get("doc", h.id)) for h in hits]
        relevant = data.qrels[query_id]
        totals["ndcg@10"] += ndcg(ranked, relevant)
        totals["recall@10"] += recall(ranked, relevant)
        totals["mrr@10"] += mrr(ranked, relevant)
    asked = time.perf_counter() - started
    count = max(1, len(judged))
    return {
        **{k: round(v / count, 4) for k, v in totals.items()},
        "mode": mode,
        "queries": len(judged),
        "documents": len(data.corpus),
        "index_seconds": round(indexed, 1),
        "query_seconds": round(asked, 1),
    }
