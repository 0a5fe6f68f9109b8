"""Ingest: files in, chunks and vectors out, incrementally and safely.

Unchanged files (same content hash) are skipped, changed ones replaced, deleted ones removed.
Chunks from several files are embedded in one batch (the model is fastest that way), then
written together, every file's chunks before its manifest entry (see ``store.py``), so an
ingest stopped at any point resumes at the first file not recorded, without duplicates.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hackkit.rag.chunking import Chunk, chunk_documents
from hackkit.rag.index import Index
from hackkit.rag.loaders import Skip, parse_file, read_file

EMBED_BATCH = 2048  # chunks gathered across files for one call to the model, which sorts them by length

Progress = Callable[[int, int, str], None]  # (files done, files in all, current file)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """False only when there was something to ingest and none of it could be."""
        return bool(self.added or self.updated or self.unchanged or self.removed) or not self.skipped

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
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
    known: bool


def ingest(
    paths: Sequence[str | Path],
    index: Index | None = None,
    *,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    reindex: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the index up to date with the files under ``paths``."""
    index = index or Index()
    rag = index.settings.rag
    started = time.perf_counter()
    report = IngestReport()
    if reindex:
        index.store.reset()
    index.store.check_model()
    base = index.settings.root or Path.cwd()
    roots = [Path(p).expanduser().resolve() for p in paths]
    files = list(_discover(roots, include or rag.include, exclude or rag.exclude, report, base))
    known = index.store.manifest.files()
    pending: list[_Pending] = []
    for done, path in enumerate(files, start=1):
        if progress:
            progress(done, len(files), str(path))
        key = _key(path, base)
        try:
            data = read_file(path, int(rag.max_file_mb * 1_000_000))
            file_hash = hashlib.sha256(data).hexdigest()
            if key in known and known[key].hash == file_hash:
                report.unchanged.append(key)
                continue
            documents = parse_file(path, data)
            chunks = chunk_documents(
                documents,
                source=key,
                file_hash=file_hash,
                size=rag.chunk_size,
                overlap=rag.chunk_overlap,
                count_tokens=index.embedder.count_tokens,
            )
        except Skip as reason:
            report.skipped.append((key, str(reason)))
            continue
        pending.append(_Pending(key, file_hash, chunks, key in known))
        if sum(len(p.chunks) for p in pending) >= EMBED_BATCH:
            _write(index, pending, report)
            pending = []
    _write(index, pending, report)
    seen = {_key(p, base) for p in files} | {key for key, _ in report.skipped}
    for key in known:
        if key not in seen and _under(base / key, roots) and not (base / key).exists():
            index.store.remove_file(key)
            report.removed.append(key)
    report.seconds = time.perf_counter() - started
    return report


def _write(index: Index, pending: list[_Pending], report: IngestReport) -> None:
    chunks = [c for p in pending for c in p.chunks]
    if not chunks:
        return
    vectors = index.embedder.embed([c.text for c in chunks])
    files, start = [], 0
    for item in pending:
        files.append((item.key, item.file_hash, item.chunks, vectors[start : start + len(item.chunks)]))
        start += len(item.chunks)
    index.store.write_files(files)
    for item in pending:
        (report.updated if item.known else report.added).append(item.key)
        report.chunks += len(item.chunks)


def _discover(
    roots: list[Path], include: list[str], exclude: list[str], report: IngestReport, base: Path
) -> Iterator[Path]:
    """Files under ``roots`` in a stable order; symlink loops and missing paths are reported, not followed."""
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
            dirs.sort()
            for name in sorted(names):
                path = Path(folder) / name
                relative = path.relative_to(root).as_posix()
                if _matches_any(relative, include) and not _matches_any(relative, exclude):
                    yield path


def _matches_any(relative: str, patterns: list[str]) -> bool:
    """Glob match where ``**/`` also matches at the top level (``**/*.md`` matches ``a.md``)."""
    return any(
        fnmatch.fnmatch(relative, p) or (p.startswith("**/") and fnmatch.fnmatch(relative, p[3:])) for p in patterns
    )


def _key(path: Path, base: Path) -> str:
    """How a file is named in the index: its path as found, relative to the project when inside it."""
    for found, project in ((path.absolute(), base.absolute()), (path.resolve(), base.resolve())):
        try:
            return found.relative_to(project).as_posix()
        except ValueError:
            continue
    return path.absolute().as_posix()


def _under(path: Path, roots: list[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved == root or root in resolved.parents for root in roots)
