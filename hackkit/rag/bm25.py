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

_lock = threading.Lock()
_shared: dict[Path, tuple[int, BM25Index]] = {}  # folder -> (manifest version, index)


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


class BM25Index:
    def __init__(self, retriever: Any, ids: list[str]) -> None:
        self.retriever = retriever
        self.ids = ids
        self._local = threading.local()  # PyStemmer's stemmers are not thread-safe: one per thread

    @property
    def stemmer(self) -> Any:
        if not hasattr(self._local, "stemmer"):
            self._local.stemmer = _stemmer()
        return self._local.stemmer

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
