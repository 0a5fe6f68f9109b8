"""Answers quoted from the sources: the sentences that best answer the question, with their [n].

No model writes them, so they cannot be wrong about what the documents say, and they take a
fraction of a second (the embedding model is already loaded for retrieval). Every sentence of the
retrieved chunks is scored against the question: cosine similarity of their embeddings, plus the
share of the question's keywords it holds. The best few are kept, in document order within a
source, each followed by its citation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hackkit.rag.answer import Source
    from hackkit.rag.embeddings import Embedder

MAX_SENTENCES = 3
MARGIN = 0.2  # a sentence is quoted when it scores at most this much below the best one
KEYWORD_WEIGHT = 0.5
NOTE = (
    "Quoted from your documents. For written answers, set a provider key (see `hackkit doctor`) or pick a bigger model."
)

HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[_*]?[A-Z0-9])")
RECORD = re.compile(r"^[^:;]{1,40}: [^;]*; ")  # a CSV row as the loader writes it: "team: Ducks; members: 4"
EMPHASIS = re.compile(r"\*\*|__|`|(?<!\w)[_*]|[_*](?!\w)")  # bold, code, and _italics_ or *italics*
WORD = re.compile(r"\w\w+")
LIST_JOIN = " ·"  # between the items of a list a sentence carries


@dataclass
class Sentence:
    source: int  # the source's number
    position: int  # its place within the source
    text: str
    score: float = 0.0


def split_sentences(text: str) -> list[str]:
    """The sentences of a chunk: headings dropped, wrapped lines joined, list items and table rows apart.

    A sentence that ends with a colon carries the list after it ("four criteria: a; b; c").
    """
    found: list[str] = []
    for unit in _units(text):
        found.extend(part.strip() for part in SENTENCE_END.split(unit) if len(WORD.findall(part)) >= 3)
    return found


def _units(text: str) -> list[str]:
    """Paragraphs, list items and table rows, each as one line of text."""
    units: list[tuple[bool, list[str]]] = [(False, [])]  # (a list item?, its lines)
    for line in text.splitlines():
        if not line.strip() or HEADING.match(line):
            units.append((False, []))
            continue
        if LIST_MARK.match(line) or RECORD.match(line):  # a unit of its own, that later lines may continue
            units.append((bool(LIST_MARK.match(line)), []))
        units[-1][1].append(EMPHASIS.sub("", LIST_MARK.sub("", line)).strip())
    joined: list[str] = []
    for is_item, lines in units:
        if not lines:
            continue
        item = " ".join(lines)
        if is_item and joined and joined[-1].endswith((":", LIST_JOIN)):
            joined[-1] = f"{joined[-1]} {item.rstrip('.')}{LIST_JOIN}"
        else:
            joined.append(item)
    return [_end_list(unit) if unit.endswith(LIST_JOIN) else unit for unit in joined]


def _end_list(unit: str) -> str:
    unit = unit.removesuffix(LIST_JOIN)
    return unit if unit.endswith((".", "?", "!")) else unit + "."


def quote(question: str, sources: list[Source], embedder: Embedder) -> list[str]:
    """The answer's pieces: quoted sentences with their citations, then a line saying how to get written answers."""
    candidates = [
        Sentence(source.n, position, text)
        for source in sources
        for position, text in enumerate(dict.fromkeys(split_sentences(source.text)))
    ]
    if not candidates:
        return [NOTE]
    _score(question, candidates, embedder)
    best = max(c.score for c in candidates)
    chosen = sorted(candidates, key=lambda c: c.score, reverse=True)[:MAX_SENTENCES]
    chosen = [c for c in chosen if c.score >= best - MARGIN]
    order = {n: rank for rank, n in enumerate(dict.fromkeys(c.source for c in chosen))}
    chosen.sort(key=lambda c: (order[c.source], c.position))
    return [f"{c.text} [{c.source}]" + ("\n\n" if i == len(chosen) - 1 else " ") for i, c in enumerate(chosen)] + [NOTE]


def _score(question: str, candidates: list[Sentence], embedder: Embedder) -> None:
    import numpy as np

    vectors = np.asarray(embedder.embed([question] + [c.text for c in candidates]), dtype=np.float32)
    similarities = vectors[1:] @ vectors[0]
    keywords = _keywords(question)
    for candidate, similarity in zip(candidates, similarities, strict=True):
        held = keywords & _keywords(candidate.text)
        candidate.score = float(similarity) + KEYWORD_WEIGHT * (len(held) / len(keywords) if keywords else 0.0)


def _keywords(text: str) -> set[str]:
    """Stemmed words that are not stop words, as BM25 sees them."""
    from hackkit.rag.bm25 import question_keywords

    return question_keywords(text)
