"""Questions over a team's documents: ingest files, retrieve chunks, answer with citations.

    from hackkit.rag import ingest, ask
    ingest(["data"])
    answer = ask("What does the pitch deck promise?")
    print(answer.text)
    for source in answer.sources:
        print(source.n, source.label, source.snippet)

Offline by default: all-MiniLM-L6-v2 embeddings and a Chroma store in ``.hackkit/rag``. When the
model that would answer is a small local one, answers quote the sources instead
(``answer.extractive``; ``[rag] answer``, decided by :func:`answers_extractively`).
"""

from __future__ import annotations

from hackkit.rag.answer import NOT_FOUND, Answer, AnswerStream, Source, answers_extractively, ask, find_sources
from hackkit.rag.index import Index
from hackkit.rag.indexing import IngestReport, ingest
from hackkit.rag.locking import IngestRunning
from hackkit.rag.retrieval import Hit

__all__ = [
    "NOT_FOUND",
    "Answer",
    "AnswerStream",
    "Hit",
    "Index",
    "IngestReport",
    "IngestRunning",
    "Source",
    "answers_extractively",
    "ask",
    "find_sources",
    "ingest",
]
