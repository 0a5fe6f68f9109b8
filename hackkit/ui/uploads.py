"""Files a visitor drops on the demo: checked, saved without replacing anything, ingested or removed.

Every file ends in one of two states: saved and ingested, or refused with a reason and not on
disk. A name is reduced to its last component and refused when nothing usable is left (``..``,
``/``, empty); a file over ``[ui] max_upload_mb``, or one that would take the uploads past
``[ui] uploads_total_mb``, is refused before it is written. Files are ingested through the
project's own ``[rag]`` rules (include, exclude, loaders), so a hidden file or a type no loader
reads is refused and removed again. A name already taken by a different file gets a new one
(``notes-2.md``); the same bytes again are the same file.

Where files go depends on ``[ui] uploads``: ``"session"`` (the default) keeps each visitor's
files in a folder of their own under ``.hackkit/uploads/``, and only that visitor's answers can
cite them; ``"shared"`` saves them in ``[ui] uploads_dir`` for every visitor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hackkit.errors import HackkitError

RENAME_HINT = "rename the file (for example notes.md) and upload it again"
EXCLUDED = "left out by the project's [rag] include and exclude rules (names starting with a dot are hidden)"


class UploadRejected(HackkitError):
    """An uploaded file that cannot be kept; the message says why, the hint what to do."""


@dataclass
class UploadLimits:
    max_file_bytes: int
    max_total_bytes: int
    suffixes: list[str]  # what the loaders read; anything else is refused before it is written


@dataclass
class UploadReport:
    ingested: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (name sent, name saved as)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (name sent, reason)
    chunks: int = 0
    written: list[Path] = field(default_factory=list)  # files this upload created (removed if it fails)

    def message(self) -> str:
        """One paragraph for the page (plain text: the views render it through safe_markdown)."""
        parts = [f"Ingested {len(self.ingested)} file(s), {self.chunks} chunks."]
        parts += [f"{sent} was saved as {saved}: another file has that name." for sent, saved in self.renamed]
        if self.rejected:
            parts.append("Skipped " + "; ".join(f"{name}: {reason}" for name, reason in self.rejected) + ".")
        return " ".join(parts)


def clean_name(name: str) -> str:
    """The last component of ``name``, or :class:`UploadRejected` when it is no file name at all."""
    base = re.split(r"[\\/]", name)[-1].strip()
    if base in ("", ".", "..") or any(ord(c) < 32 for c in base) or len(base.encode()) > 255:
        raise UploadRejected(f"{name!r} is not a usable file name", hint=RENAME_HINT)
    return base


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def save(
    files: list[tuple[str, bytes]], folder: Path, limits: UploadLimits, used: int, report: UploadReport
) -> list[Path]:
    """Write the acceptable files into ``folder`` and return them; ``used``: bytes the uploads take already."""
    saved = []
    for sent, content in files:
        try:
            name = _checked(sent, content, limits, used)
        except UploadRejected as exc:
            report.rejected.append((sent, exc.message))
            continue
        path, is_new = _place(folder, name, content)
        if is_new:
            report.written.append(path)
            path.write_bytes(content)
            used += len(content)
        if path.name != name:
            report.renamed.append((name, path.name))
        saved.append(path)
    return saved


def _checked(sent: str, content: bytes, limits: UploadLimits, used: int) -> str:
    name = clean_name(sent)
    if Path(name).suffix.lower() not in limits.suffixes:
        raise UploadRejected(f"unsupported type {Path(name).suffix or '(no suffix)'}")
    if len(content) > limits.max_file_bytes:
        raise UploadRejected(f"larger than the {_mb(limits.max_file_bytes)} limit per file")
    if used + len(content) > limits.max_total_bytes:
        raise UploadRejected(f"the demo's {_mb(limits.max_total_bytes)} of upload space is full")
    return name


def _place(folder: Path, name: str, content: bytes) -> tuple[Path, bool]:
    """Where ``name`` goes without replacing a different file, and whether it still has to be written."""
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = Path(name).stem, Path(name).suffix
    candidate, n = folder / name, 1
    while candidate.exists():
        if candidate.is_file() and candidate.read_bytes() == content:
            return candidate, False  # the same file again
        n += 1
        candidate = folder / f"{stem}-{n}{suffix}"
    return candidate, True


def ingest_saved(saved: list[Path], folder: Path, index: Any, report: UploadReport, progress: Any = None) -> None:
    """Ingest ``folder`` by the project's rules; a saved file the index did not take is removed again."""
    from hackkit.rag import ingest

    result = ingest([folder], index, progress=progress)
    base = index.settings.root or Path.cwd()
    taken = {_resolved(key, base) for key in [*result.added, *result.updated, *result.unchanged]}
    skipped = {_resolved(key, base): reason for key, reason in result.skipped}
    report.chunks += result.chunks
    for path in saved:
        if path.resolve() in taken:
            report.ingested.append(path.name)
        else:
            path.unlink(missing_ok=True)
            report.rejected.append((path.name, skipped.get(path.resolve(), EXCLUDED)))


def _resolved(key: str, base: Path) -> Path:
    path = Path(key)
    return (path if path.is_absolute() else base / path).resolve()


def _mb(count: int) -> str:
    return f"{count / 1_000_000:g} MB"
