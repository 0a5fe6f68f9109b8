"""Ingest: files in, chunks and vectors out, incrementally and safely.

Unchanged files (same content hash, chunked the same way) are skipped, changed ones replaced,
deleted ones removed, and a file that can no longer be read (emptied, too big, another encoding)
loses its chunks too: the index only ever holds what the files say now. Every file is read and
chunked first, so the number of chunks to embed is known; then chunks are embedded, 2,048 at a
time across files (the model is fastest that way), and written, every file's chunks before its
manifest entry (see ``store.py``), so an ingest stopped at any point resumes at the first file not
recorded, without duplicates. One ingest runs at a time per index (see ``locking.py``).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hackkit.errors import HackkitError
from hackkit.rag.chunking import Chunk, chunk_documents, chunking_signature
from hackkit.rag.index import Index
from hackkit.rag.loaders import Skip, parse_file, read_file
from hackkit.rag.locking import ingest_lock
from hackkit.rag.store import FileChunks, FileRecord, valid_utf8

if TYPE_CHECKING:
    import numpy as np

EMBED_BATCH = 2048  # chunks gathered across files, embedded and then written together
EMBED_STEP = 64  # chunks per call to the model (its batch size), longest first: progress moves, padding stays small

# (done, total, stage): stage "reading" counts files read and chunked, then "embedding" counts chunks.
Progress = Callable[[int, int, str], None]


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    rechunked: list[str] = field(default_factory=list)  # same content, chunked again: [rag] chunking changed
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # deleted files, and skipped files whose old chunks went
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """False only when there was something to ingest and none of it could be."""
        done = self.added or self.updated or self.rechunked or self.unchanged or self.removed
        return bool(done) or not self.skipped

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            *([f"{len(self.rechunked)} re-chunked"] if self.rechunked else []),
            f"{len(self.unchanged)} unchanged",
            f"{len(self.removed)} removed",
            f"{len(self.skipped)} skipped",
        ]
        return f"{', '.join(parts)}; {self.chunks} chunks written in {self.seconds:.1f}s"


@dataclass
class _Pending:
    key: str
    file_hash: str
    chunks: list[Chunk]
    outcome: str  # the report list it lands in once written: "added", "updated" or "rechunked"


def ingest(
    paths: Sequence[str | Path],
    index: Index | None = None,
    *,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    reindex: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the index up to date with the files under ``paths``.

    ``include`` and ``exclude`` are gitignore-style patterns relative to each folder given
    (default ``[rag] include`` and ``exclude``). Raises :class:`~hackkit.rag.locking.IngestRunning`
    when another process is ingesting into the same index.
    """
    index = index or Index()
    rag = index.settings.rag
    started = time.perf_counter()
    report = IngestReport()
    with ingest_lock(index.store.root / f"{index.store.collection_name}.ingest.lock"):
        if reindex:
            index.store.reset()
        index.store.check_model()
        base = index.settings.root or Path.cwd()
        roots = [Path(p).expanduser().resolve() for p in paths]
        files = list(_discover(roots, include or rag.include, exclude or rag.exclude, report, base))
        known = index.store.manifest.files()
        pending = _read_all(index, files, base, known, report, progress)
        _embed_and_write(index, pending, report, progress)
        seen = {_key(p, base) for p in files} | {key for key, _ in report.skipped}
        for key in known:
            if key not in seen and _under(base / key, roots) and not (base / key).exists():
                index.store.remove_file(key)
                report.removed.append(key)
    report.seconds = time.perf_counter() - started
    return report


def _read_all(
    index: Index,
    files: list[Path],
    base: Path,
    known: dict[str, FileRecord],
    report: IngestReport,
    progress: Progress | None,
) -> list[_Pending]:
    """Every new or changed file read and chunked; a file now skipped loses what the index held for it."""
    pending = []
    for done, path in enumerate(files, start=1):
        key = _key(path, base)
        try:
            item = _read(index, path, key, known.get(key), report)
        except Skip as reason:
            _skip(index, key, str(reason), key in known, report)
            item = None
        except HackkitError:  # about the setup (a missing package, a setting), not about this file
            raise
        except Exception as exc:  # one file's surprise must not stop the others: report it and go on
            _skip(index, key, f"could not be read ({type(exc).__name__}: {exc})", key in known, report)
            item = None
        if item is not None:
            pending.append(item)
        if progress:
            progress(done, len(files), "reading")
    return pending


def _read(index: Index, path: Path, key: str, record: FileRecord | None, report: IngestReport) -> _Pending | None:
    """The file's chunks when they must be written, None when the index already has them."""
    rag = index.settings.rag
    data = read_file(path, int(rag.max_file_mb * 1_000_000))
    file_hash = hashlib.sha256(data).hexdigest()
    chunking = chunking_signature(rag.chunk_size, rag.chunk_overlap)
    if record is not None and record.hash == file_hash and record.chunking == chunking:
        report.unchanged.append(key)
        return None
    chunks = chunk_documents(
        parse_file(path, data),
        source=key,
        file_hash=file_hash,
        size=rag.chunk_size,
        overlap=rag.chunk_overlap,
        count_tokens=index.embedder.count_tokens,
    )
    outcome = "added" if record is None else "updated" if record.hash != file_hash else "rechunked"
    return _Pending(key, file_hash, chunks, outcome)


def _skip(index: Index, key: str, reason: str, indexed: bool, report: IngestReport) -> None:
    if indexed:  # it was ingested before: what it said then is not what it says now
        index.store.remove_file(key)
        report.removed.append(key)
        reason += "; its chunks from an earlier ingest were removed"
    report.skipped.append((key, reason))


def _embed_and_write(index: Index, pending: list[_Pending], report: IngestReport, progress: Progress | None) -> None:
    """Embed and write the files in groups of about EMBED_BATCH chunks, reporting chunks embedded."""
    total = sum(len(p.chunks) for p in pending)
    embedded = 0
    for group in _groups(pending, EMBED_BATCH):
        texts = [c.text for p in group for c in p.chunks]
        vectors = _embed(index, texts, progress, embedded, total)
        embedded += len(texts)
        _write(index, group, vectors, report)


def _groups(pending: list[_Pending], size: int) -> Iterator[list[_Pending]]:
    group: list[_Pending] = []
    for item in pending:
        group.append(item)
        if sum(len(p.chunks) for p in group) >= size:
            yield group
            group = []
    if group:
        yield group


def _embed(index: Index, texts: list[str], progress: Progress | None, before: int, total: int) -> np.ndarray:
    """Vectors for ``texts`` in their order, computed longest first in calls of EMBED_STEP texts."""
    import numpy as np

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    parts: list[Any] = []
    for start in range(0, len(order), EMBED_STEP):
        parts.append(index.embedder.embed([texts[i] for i in order[start : start + EMBED_STEP]]))
        if progress:
            progress(before + min(start + EMBED_STEP, len(order)), total, "embedding")
    vectors = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
    placed = np.empty_like(vectors)
    placed[order] = vectors
    return placed


def _write(index: Index, group: list[_Pending], vectors: np.ndarray, report: IngestReport) -> None:
    """Write the group's files together; when the store refuses, file by file, so only the bad one is left out."""
    rag = index.settings.rag
    chunking = chunking_signature(rag.chunk_size, rag.chunk_overlap)
    files, start = [], 0
    for item in group:
        files.append(
            FileChunks(item.key, item.file_hash, item.chunks, vectors[start : start + len(item.chunks)], chunking)
        )
        start += len(item.chunks)
    try:
        index.store.write_files(files)
    except HackkitError:
        raise
    except Exception as exc:
        if len(files) == 1:
            index.store.remove_file(files[0].key)  # whatever part of it was written before the refusal
            reason = f"the index refused it ({type(exc).__name__}: {exc})"
            _skip(index, files[0].key, reason, group[0].outcome != "added", report)
            return
        for item, one in zip(group, files, strict=True):
            _write(index, [item], one.vectors, report)
        return
    for item in group:
        getattr(report, item.outcome).append(item.key)
        report.chunks += len(item.chunks)


def _discover(
    roots: list[Path], include: list[str], exclude: list[str], report: IngestReport, base: Path
) -> Iterator[Path]:
    """Files under ``roots`` in a stable order; symlink loops and missing paths are reported, not followed."""
    import pathspec

    wanted, unwanted = pathspec.GitIgnoreSpec.from_lines(include), pathspec.GitIgnoreSpec.from_lines(exclude)
    for root in roots:
        if not root.exists():
            report.skipped.append((_key(root, base), "no such file or folder"))
            continue
        if root.is_file():
            yield root
            continue
        visited: set[str] = set()
        for folder, dirs, names in os.walk(
            root,
            followlinks=True,
            onerror=lambda e: report.skipped.append((_key(Path(e.filename), base), f"cannot read it: {e.strerror}")),
        ):
            real = os.path.realpath(folder)
            if real in visited:
                report.skipped.append((_key(Path(folder), base), "symlink loop, not followed"))
                dirs[:] = []
                continue
            visited.add(real)
            here = Path(folder).relative_to(root)
            dirs[:] = sorted(d for d in dirs if not unwanted.match_file(f"{(here / d).as_posix()}/"))
            for name in sorted(names):
                relative = (here / name).as_posix()
                if wanted.match_file(relative) and not unwanted.match_file(relative):
                    yield Path(folder) / name


def _key(path: Path, base: Path) -> str:
    """How a file is named in the index: its path as found, relative to the project when inside it.

    Always valid UTF-8: bytes of a name that are not (from a zip made elsewhere) read as ``\\xNN``.
    """
    for found, project in ((path.absolute(), base.absolute()), (path.resolve(), base.resolve())):
        try:
            return valid_utf8(found.relative_to(project).as_posix())
        except ValueError:
            continue
    return valid_utf8(path.absolute().as_posix())


def _under(path: Path, roots: list[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved == root or root in resolved.parents for root in roots)
