"""The index: chunks and vectors in Chroma, a manifest of ingested files beside it.

Chroma holds every chunk with its vector and metadata: a ``PersistentClient`` in
``.hackkit/rag/chroma``, or a Chroma server when ``[rag] chroma_url`` is set, opened once per
process and shared (see ``chroma.py``). The manifest (SQLite,
``.hackkit/rag/<collection>.manifest.sqlite``) maps each file to its content hash and to how its
chunks were made, and records the embedding model the index was built with. A file is written in
an order that makes an interrupted ingest safe to run again: delete the file's old chunks, add
its new ones (ids derive from the file's name and content, so a repeat overwrites rather than
duplicates, and two files never share one), and only then record it in the manifest. A file
missing from the manifest is simply processed again.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hackkit.errors import ConfigError
from hackkit.rag import chroma

if TYPE_CHECKING:
    import numpy as np

    from hackkit.config import Settings
    from hackkit.rag.chunking import Chunk

WRITE_BATCH = 2000  # Chroma's maximum batch is larger; this keeps memory flat on big files


class EmbeddingModelChanged(ConfigError):
    def __init__(self, built_with: str, configured: str) -> None:
        super().__init__(
            f"The index was built with {built_with}, but [rag] embedding_model is now {configured}; "
            "vectors from two models cannot be mixed.",
            hint="rebuild it: hackkit ingest --reindex (or set embedding_model back)",
        )


@dataclass
class FileRecord:
    path: str
    hash: str
    chunks: int
    ingested_at: float
    chunking: str = ""  # chunking.chunking_signature(); "" when unknown (an index from before it was recorded)


@dataclass
class FileChunks:
    """One file's new chunks and their vectors, to replace what the index holds for it."""

    key: str
    file_hash: str
    chunks: list[Chunk]
    vectors: np.ndarray
    chunking: str = ""


FILE_COLUMNS = "path, hash, chunks, ingested_at, chunking"
INSERT_FILE = f"INSERT OR REPLACE INTO files ({FILE_COLUMNS}) VALUES (?, ?, ?, ?, ?)"


BUMP_VERSION = (  # every change to the files bumps it, which tells BM25 and the vector cache to rebuild
    "INSERT INTO meta VALUES ('version', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
)


class Manifest:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self.lock = threading.Lock()
        with self.db:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, hash TEXT NOT NULL, "
                "chunks INTEGER NOT NULL, ingested_at REAL NOT NULL, chunking TEXT NOT NULL DEFAULT '')"
            )
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._add_chunking_column()

    def _add_chunking_column(self) -> None:
        """Manifests written before chunking was recorded: their files count as chunked another way."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(files)")}
        if "chunking" not in columns:
            try:
                self.db.execute("ALTER TABLE files ADD COLUMN chunking TEXT NOT NULL DEFAULT ''")
            except sqlite3.OperationalError as exc:  # another connection added it first
                if "duplicate column" not in str(exc):
                    raise

    def files(self) -> dict[str, FileRecord]:
        with self.lock:
            rows = self.db.execute(f"SELECT {FILE_COLUMNS} FROM files").fetchall()
        return {row[0]: FileRecord(*row) for row in rows}

    def get(self, key: str) -> str | None:
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str) -> None:
        with self.lock, self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def record_many(self, records: list[FileRecord]) -> None:
        with self.lock, self.db:
            self.db.executemany(INSERT_FILE, map(_row, records))
            self.db.execute(BUMP_VERSION)

    def record(self, record: FileRecord | None, remove: str | None = None) -> None:
        """Add or drop one file and bump the version in one transaction."""
        with self.lock, self.db:
            if remove is not None:
                self.db.execute("DELETE FROM files WHERE path = ?", (remove,))
            if record is not None:
                self.db.execute(INSERT_FILE, _row(record))
            self.db.execute(BUMP_VERSION)

    @property
    def version(self) -> int:
        return int(self.get("version") or 0)

    def clear(self) -> None:
        with self.lock, self.db:
            self.db.execute("DELETE FROM files")
            self.db.execute("DELETE FROM meta WHERE key != 'version'")
            self.db.execute(BUMP_VERSION)

    def close(self) -> None:
        self.db.close()


class Store:
    """Chroma plus the manifest, for one collection."""

    def __init__(
        self, root: Path, collection: str, embedding_model: str, chroma_url: str | None = None, candidates: int = 100
    ) -> None:
        self.root = root
        self.candidates = candidates
        self.collection_name = collection
        self.embedding_model = embedding_model
        self.chroma_url = chroma_url
        self.manifest = Manifest(root / f"{collection}.manifest.sqlite")  # see may_have_documents

    @classmethod
    def for_settings(cls, settings: Settings) -> Store:
        rag = settings.rag
        return cls(settings.data_dir / "rag", rag.collection, rag.embedding_model, rag.chroma_url, rag.candidates)

    @staticmethod
    def may_have_documents(settings: Settings) -> bool:
        """False when nothing was ever ingested here, known without opening (or creating) a store."""
        rag = settings.rag
        return bool(rag.chroma_url) or (settings.data_dir / "rag" / f"{rag.collection}.manifest.sqlite").is_file()

    @property
    def location(self) -> str:
        return chroma.location(self.root, self.chroma_url)

    @property
    def collection(self) -> Any:
        """The collection handle, shared with every other Store on this location in this process."""
        return chroma.collection(self.location, self.collection_name)

    def check_model(self) -> None:
        built_with = self.manifest.get("embedding_model")
        if built_with is None:
            self.manifest.set("embedding_model", self.embedding_model)
        elif built_with != self.embedding_model:
            raise EmbeddingModelChanged(built_with, self.embedding_model)

    def write_file(
        self, key: str, file_hash: str, chunks: list[Chunk], vectors: np.ndarray, chunking: str = ""
    ) -> None:
        self.write_files([FileChunks(key, file_hash, chunks, vectors, chunking)])

    def write_files(self, files: list[FileChunks]) -> None:
        """Replace these files' chunks; their manifest entries are written last (see the module docstring)."""
        import numpy as np

        if not files:
            return
        self.collection.delete(where={"source": {"$in": [f.key for f in files]}})
        chunks = [c for f in files for c in f.chunks]
        vectors = np.concatenate([f.vectors for f in files]) if chunks else np.zeros((0, 0))
        for start in range(0, len(chunks), WRITE_BATCH):
            part = chunks[start : start + WRITE_BATCH]
            self.collection.upsert(
                ids=[c.id for c in part],
                documents=[valid_utf8(c.text) for c in part],
                metadatas=[_clean(c.metadata) for c in part],
                embeddings=vectors[start : start + WRITE_BATCH],
            )
        now = time.time()
        self.manifest.record_many([FileRecord(f.key, f.file_hash, len(f.chunks), now, f.chunking) for f in files])

    def remove_file(self, key: str) -> None:
        self.collection.delete(where={"source": key})
        self.manifest.record(None, remove=key)

    def reset(self) -> None:
        chroma.drop_collection(self.location, self.collection_name)
        self.manifest.clear()

    def count(self) -> int:
        return int(self.collection.count())

    def all_chunks(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        data = self.collection.get(include=["documents", "metadatas"])
        return data["ids"], data["documents"], data["metadatas"]

    def close(self) -> None:
        self.manifest.close()


def _row(record: FileRecord) -> tuple[str, str, int, float, str]:
    return (record.path, record.hash, record.chunks, record.ingested_at, record.chunking)


def _clean(metadata: dict[str, Any]) -> dict[str, Any]:
    """Chroma takes str, int, float and bool values only, and strings that are valid UTF-8."""
    cleaned = {k: v if isinstance(v, (int, float, bool)) else str(v) for k, v in metadata.items() if v is not None}
    return {k: valid_utf8(v) if isinstance(v, str) else v for k, v in cleaned.items()}


def valid_utf8(text: str) -> str:
    r"""``text``, with what cannot be UTF-8 shown as ``\xNN``: file names from zip archives made elsewhere.

    Python reads such names as lone surrogates (PEP 383), which SQLite and Chroma refuse.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:  # the bytes of a name Python could not decode
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # other lone surrogates, from a PDF's text for instance
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
