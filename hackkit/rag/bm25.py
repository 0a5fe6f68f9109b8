"""Keyword search with BM25 (bm25s, Lucene scoring, k1 1.2, b 0.75, English stemming and stop words).

Built from the chunks in the store and kept on disk beside it, tagged with the manifest version:
it is rebuilt only after an ingest changed something, and one copy is shared in a process.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

K1, B = 1.2, 0.75
# The relevance gate's keywords: a question's words less these (NLTK's English list, and words that
# phrase a question rather than name its subject); a keyword is rare when BM25 weighs it at least
# RARE times as much as a word found in a single chunk.
QUESTION_WORDS = ["mean", "means", "meaning", "tell", "explain", "know", "please", "say", "says"]
RARE = 0.8

_lock = threading.Lock()
_shared: dict[Path, tuple[int, BM25Index]] = {}  # folder -> (manifest version, index)


_per_thread = threading.local()  # PyStemmer's stemmers are not thread-safe: one per thread


def _stemmer() -> Any:
    if not hasattr(_per_thread, "stemmer"):
        import Stemmer

        _per_thread.stemmer = Stemmer.Stemmer("english")
    return _per_thread.stemmer


def question_keywords(text: str) -> set[str]:
    """The words of ``text`` that name its subject, stemmed as the index stems them."""
    import bm25s
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    stop = [*STOPWORDS_EN_PLUS, *QUESTION_WORDS]
    tokens = bm25s.tokenize([text], stopwords=stop, stemmer=_stemmer(), show_progress=False, return_ids=False)
    return set(tokens[0])


class BM25Index:
    def __init__(self, retriever: Any, ids: list[str]) -> None:
        self.retriever = retriever
        self.ids = ids

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> BM25Index:
        import bm25s

        retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
        if texts:
            tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False)
            retriever.index(tokens, show_progress=False)
        return cls(retriever, ids)

    @classmethod
    def load_or_build(cls, folder: Path, version: int, chunks: Any) -> BM25Index:
        """The index for ``version``: shared in this process, else the saved one, else built from ``chunks()``.

        One build at a time in a process (a demo's visitors arrive together), and the saved copy is
        replaced by a rename, so another process reads either the old copy or the new one.
        """
        with _lock:
            cached = _shared.get(folder)
            if cached is None or cached[0] != version:
                cached = (version, cls._load(folder, version) or cls._build_and_save(folder, version, chunks))
                _shared[folder] = cached
            return cached[1]

    @classmethod
    def _load(cls, folder: Path, version: int) -> BM25Index | None:
        import bm25s

        try:
            if json.loads((folder / "version.json").read_text()).get("version") != version:
                return None
            ids = json.loads((folder / "ids.json").read_text())
            return cls(bm25s.BM25.load(str(folder / "index")) if ids else bm25s.BM25(), ids)
        except (OSError, ValueError):  # missing, half-replaced by another process, or unreadable: rebuild
            return None

    @classmethod
    def _build_and_save(cls, folder: Path, version: int, chunks: Any) -> BM25Index:
        ids, texts = chunks()
        index = cls.build(ids, texts)
        partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        if ids:
            index.retriever.save(str(partial / "index"))
        (partial / "ids.json").write_text(json.dumps(ids))
        (partial / "version.json").write_text(json.dumps({"version": version}))
        shutil.rmtree(folder, ignore_errors=True)
        try:
            partial.rename(folder)
        except OSError:  # another process saved its copy first; this one is as good
            shutil.rmtree(partial, ignore_errors=True)
        return index

    def rare_keyword_chunks(self, query: str) -> set[str]:
        """Ids of the chunks that hold a rare keyword of ``query``: an exact hit the cosine gate may miss.

        A long chunk about other things that holds a code once ("ZX-4471") has a low cosine
        similarity to a question about the code, and a high BM25 rank.
        """
        import math

        vocabulary = getattr(self.retriever, "vocab_dict", None)
        if not self.ids or not vocabulary:
            return set()
        pointers, rows, count = self.retriever.scores["indptr"], self.retriever.scores["indices"], len(self.ids)

        def idf(df: int) -> float:
            return math.log(1 + (count - df + 0.5) / (df + 0.5))

        found: set[str] = set()
        for word in {w for w in question_keywords(query) if w in vocabulary}:
            term = vocabulary[word]
            start, end = int(pointers[term]), int(pointers[term + 1])
            if end > start and idf(end - start) >= RARE * idf(1):
                found.update(self.ids[int(row)] for row in rows[start:end])
        return found

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        import bm25s

        if not self.ids:
            return []
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=_stemmer(), show_progress=False)
        if not tokens.vocab:
            return []
        k = min(k, len(self.ids))
        results, scores = self.retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [(self.ids[int(i)], float(s)) for i, s in zip(results[0], scores[0], strict=True) if s > 0]
