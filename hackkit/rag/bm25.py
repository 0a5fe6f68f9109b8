"""Keyword search with BM25 (bm25s, Lucene scoring, k1 1.2, b 0.75, English stemming and stop words).

Built from the chunks in the store and kept on disk beside it, tagged with the manifest version:
it is rebuilt only after an ingest changed something.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

K1, B = 1.2, 0.75


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


class BM25Index:
    def __init__(self, retriever: Any, ids: list[str]) -> None:
        self.retriever = retriever
        self.ids = ids
        self.stemmer = _stemmer()

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
        """The saved index when it matches ``version``, else one built from ``chunks()``."""
        import bm25s

        stamp = folder / "version.json"
        if stamp.is_file() and json.loads(stamp.read_text()).get("version") == version:
            ids = json.loads((folder / "ids.json").read_text())
            return cls(bm25s.BM25.load(str(folder / "index")) if ids else bm25s.BM25(), ids)
        ids, texts = chunks()
        index = cls.build(ids, texts)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        if ids:
            index.retriever.save(str(folder / "index"))
        (folder / "ids.json").write_text(json.dumps(ids))
        stamp.write_text(json.dumps({"version": version}))
        return index

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        import bm25s

        if not self.ids:
            return []
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=self.stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        k = min(k, len(self.ids))
        results, scores = self.retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [(self.ids[int(i)], float(s)) for i, s in zip(results[0], scores[0], strict=True) if s > 0]
