"""Turn files into text documents with metadata, or say plainly why a file was skipped.

One loader per file type, registered by suffix. Every loader returns a list of
:class:`Document` (a PDF gives one per page) or raises :class:`Skip` with a reason a user can
act on. Nothing here decides about chunks or the index.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

BINARY_SNIFF = 8192
CSV_ROWS_PER_DOCUMENT = 25


@dataclass
class Document:
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)  # source, page, title, heading, ...


class Skip(Exception):
    """A file that cannot be ingested; the message is the reason shown to the user."""


Loader = Callable[[Path, bytes], list[Document]]
LOADERS: dict[str, Loader] = {}


def loader(*suffixes: str) -> Callable[[Loader], Loader]:
    def register(fn: Loader) -> Loader:
        for suffix in suffixes:
            LOADERS[suffix] = fn
        return fn

    return register


def supported_suffixes() -> list[str]:
    return sorted(LOADERS)


def read_file(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, or :class:`Skip` when it is too big, unreadable or not a type we load."""
    if path.suffix.lower() not in LOADERS:
        raise Skip(f"unsupported type {path.suffix or '(no suffix)'} (supported: {', '.join(supported_suffixes())})")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise Skip(f"{_size(size)} is over the {_size(max_bytes)} limit ([rag] max_file_mb)")
        data = path.read_bytes()
    except PermissionError:
        raise Skip("cannot read it: permission denied") from None
    except OSError as exc:
        raise Skip(f"cannot read it: {exc.strerror or exc}") from None
    if not data.strip():
        raise Skip("empty file")
    return data


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 100_000 else f"{count / 1e3:.1f} kB"


def parse_file(path: Path, data: bytes) -> list[Document]:
    """Documents from a file's bytes; raises :class:`Skip` with the reason when there are none."""
    documents = [d for d in LOADERS[path.suffix.lower()](path, data) if d.text.strip()]
    if not documents:
        raise Skip("no text in it")
    for document in documents:
        document.metadata.setdefault("title", path.stem)
    return documents


def _decode(data: bytes) -> str:
    if b"\x00" in data[:BINARY_SNIFF]:
        raise Skip("binary content, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Skip(f"not valid UTF-8 (byte {exc.start}); save it as UTF-8 and ingest again") from None


@loader(".md", ".markdown", ".txt", ".rst", ".text")
def load_text(path: Path, data: bytes) -> list[Document]:
    text = _decode(data)
    title = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")), path.stem)
    kind = "markdown" if path.suffix.lower() in (".md", ".markdown") else "text"
    return [Document(text, {"title": title, "format": kind})]


@loader(".pdf")
def load_pdf(path: Path, data: bytes) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings repeat what Skip reports
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Skip("encrypted PDF; save an unlocked copy and ingest that")
        title = (reader.metadata.title if reader.metadata else None) or path.stem
        pages = [(n, page.extract_text() or "") for n, page in enumerate(reader.pages, start=1)]
    except Skip:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise Skip(f"corrupt or truncated PDF ({type(exc).__name__}: {str(exc)[:80]})") from None
    if not any(text.strip() for _, text in pages):
        raise Skip("no extractable text: a scanned PDF? run OCR on it first")
    return [Document(text, {"title": str(title), "page": n, "format": "pdf"}) for n, text in pages if text.strip()]


class _HTMLText(HTMLParser):
    """HTML as Markdown-like text: headings become #-lines so chunking sees the structure."""

    SKIP: ClassVar[set[str]] = {"script", "style", "noscript", "template", "svg", "nav", "footer"}
    BLOCK: ClassVar[set[str]] = {
        "p",
        "div",
        "li",
        "tr",
        "br",
        "section",
        "article",
        "blockquote",
        "pre",
        "table",
        "ul",
        "ol",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skipping = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag) or tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        elif not self._skipping:
            self.parts.append(data)

    def text(self) -> str:
        joined = "".join(self.parts)
        lines = [re.sub(r"[ \t]+", " ", line).strip() for line in joined.splitlines()]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@loader(".html", ".htm")
def load_html(path: Path, data: bytes) -> list[Document]:
    parser = _HTMLText()
    parser.feed(_decode(data))
    text = parser.text()
    title = parser.title or next((line.lstrip("# ") for line in text.splitlines() if line.startswith("#")), path.stem)
    return [Document(text, {"title": title, "format": "markdown"})]


@loader(".docx")
def load_docx(path: Path, data: bytes) -> list[Document]:
    import zipfile

    from docx import Document as DocxDocument

    try:
        document = DocxDocument(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise Skip(f"corrupt or not a Word document ({type(exc).__name__})") from None
    lines = []
    for paragraph in document.paragraphs:
        style = (paragraph.style.name or "") if paragraph.style is not None else ""
        level = re.fullmatch(r"Heading (\d)", style)
        text = paragraph.text.strip()
        if text:
            lines.append(("#" * int(level.group(1)) + " " + text) if level else text)
    title = document.core_properties.title or path.stem
    return [Document("\n\n".join(lines), {"title": title, "format": "markdown"})]


@loader(".csv")
def load_csv(path: Path, data: bytes) -> list[Document]:
    """Rows as "column: value" lines, a few dozen rows a document, the header kept with each."""
    rows = list(csv.reader(io.StringIO(_decode(data))))
    if len(rows) < 2:
        raise Skip("a CSV with no data rows")
    header, body = rows[0], rows[1:]
    documents = []
    for start in range(0, len(body), CSV_ROWS_PER_DOCUMENT):
        block = body[start : start + CSV_ROWS_PER_DOCUMENT]
        text = "\n".join("; ".join(f"{h}: {v}" for h, v in zip(header, row, strict=False) if v) for row in block)
        documents.append(Document(text, {"rows": f"{start + 2}-{start + 1 + len(block)}", "format": "text"}))
    return documents
