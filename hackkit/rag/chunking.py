"""Split documents into chunks sized in the embedding model's tokens.

Markdown (and HTML and Word files, which the loaders turn into Markdown) is first split at its
headings, so a chunk never straddles two sections and carries its heading path; then every
section is split recursively (paragraphs, lines, sentences, words) to at most ``size`` tokens
with ``overlap`` tokens shared between neighbours.

Defaults beside other frameworks' (all configurable under ``[rag]``):

| framework | default chunk | overlap |
|---|---|---|
| hackkit | 200 tokens of the embedding model (MiniLM reads at most 256) | 30 tokens |
| LangChain RecursiveCharacterTextSplitter | 4,000 characters | 200 characters |
| LlamaIndex SentenceSplitter | 1,024 tokens | 200 tokens |
| Haystack DocumentSplitter | 200 words | 0 |
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hackkit.rag.loaders import Document

HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
# Names how chunks are cut; change it whenever the code below cuts differently, so indexes re-chunk.
CHUNKER = "markdown-headings+recursive/1"


@dataclass
class Chunk:
    id: str
    text: str
    metadata: dict[str, Any]


def chunking_signature(size: int, overlap: int) -> str:
    """How chunks are made, as the manifest records it: a file chunked another way is chunked again."""
    return f"{CHUNKER} size={size} overlap={_overlap(size, overlap)}"


def _overlap(size: int, overlap: int) -> int:
    return min(overlap, size // 2)


def chunk_id(source: str, file_hash: str, n: int) -> str:
    """Unique per file and chunk: two files with the same content never share an id."""
    digest = hashlib.sha256(f"{source}\0{file_hash}".encode()).hexdigest()[:20]
    return f"{digest}-{n:05d}"


def chunk_documents(
    documents: list[Document],
    *,
    source: str,
    file_hash: str,
    size: int,
    overlap: int,
    count_tokens: Callable[[str], int],
) -> list[Chunk]:
    """Chunks of one file's documents; ids are stable for the same file and content."""
    from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=_overlap(size, overlap),
        length_function=count_tokens,
        separators=SEPARATORS,
        keep_separator="end",
    )
    by_heading = MarkdownHeaderTextSplitter(headers_to_split_on=HEADERS, strip_headers=False)
    chunks: list[Chunk] = []
    for document in documents:
        sections = (
            [(s.page_content, s.metadata) for s in by_heading.split_text(document.text)]
            if document.metadata.get("format") == "markdown"
            else [(document.text, {})]
        )
        for text, headings in sections:
            heading = " > ".join(headings[key] for _, key in HEADERS if key in headings)
            for piece in splitter.split_text(text):
                if not piece.strip():
                    continue
                metadata = {**document.metadata, "source": source, "file_hash": file_hash, "heading": heading}
                metadata.pop("format", None)
                metadata["chunk"] = len(chunks)
                chunks.append(Chunk(chunk_id(source, file_hash, len(chunks)), piece.strip(), metadata))
    return chunks
