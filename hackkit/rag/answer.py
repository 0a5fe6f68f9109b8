"""Answers with citations: retrieve, show the model numbered sources, map [n] back to chunks.

Which sources are shown is decided by retrieval: a chunk is a source when its cosine similarity
to the question reaches ``[rag] min_score``, or when it holds a rare keyword of the question (an
exact hit on a code or a name, which a long chunk about other things holds with a low
similarity). When none is, the answer is the honest "not in your documents" and no model is
called. The model is asked to cite ``[n]``; citations it writes are mapped to sources, but
nothing depends on a small model writing them: a model under a billion parameters does not
write at all (``[rag] answer = "auto"``), the answer quotes the sources instead (``extractive.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, get_args

from hackkit.config import RAGConfig, Settings, load_settings
from hackkit.errors import ConfigError
from hackkit.llm.prompts import RenderedPrompt, load_prompt
from hackkit.llm.registry import split_model_id
from hackkit.llm.types import ChatResponse
from hackkit.rag import extractive, small_models
from hackkit.rag.index import Index

if TYPE_CHECKING:
    from hackkit.llm.client import Client

NOT_FOUND = "I could not find this in your documents."
PROMPT = "rag-answer"  # hackkit/prompts/rag-answer.md; a project's prompts/rag-answer.md overrides it
SNIPPET_CHARS = 240
ANSWER_SETTINGS = get_args(RAGConfig.model_fields["answer"].annotation)  # auto, extractive, generate


@dataclass
class Source:
    n: int
    chunk_id: str
    source: str
    text: str
    similarity: float
    page: int | None = None
    title: str | None = None
    heading: str | None = None
    keyword: bool = False  # shown for a rare keyword of the question it holds, whatever its similarity

    @property
    def snippet(self) -> str:
        flat = " ".join(re.sub(r"(^|\n)#{1,6} ", r"\1", self.text).split())
        return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"

    @property
    def label(self) -> str:
        page = f", page {self.page}" if self.page else ""
        heading = f" ({self.heading})" if self.heading else ""
        return f"{self.source}{page}{heading}"


@dataclass
class Answer:
    question: str
    text: str
    sources: list[Source] = field(default_factory=list)
    response: ChatResponse | None = None  # None when no model was called: nothing found, or quoted
    extractive: bool = False  # quoted from the sources, not written by a model
    quoted_note: str | None = None  # why the answer was quoted when the model asked for had no key

    @property
    def note(self) -> str | None:
        """Why the model asked for did not answer, when it did not: a fallback answered, or quotes did."""
        return self.response.fallback_note if self.response is not None else self.quoted_note

    @property
    def found(self) -> bool:
        return bool(self.sources)

    @property
    def cited(self) -> list[Source]:
        """Sources the answer's [n] markers point to."""
        numbers = {int(n) for n in re.findall(r"\[(\d+)\]", self.text)}
        return [s for s in self.sources if s.n in numbers]


class AnswerStream:
    """Iterate for the answer's text as it arrives; ``sources`` are known before the first piece."""

    def __init__(
        self,
        question: str,
        sources: list[Source],
        pieces: Iterator[str] | None,
        stream: Any = None,
        *,
        extractive: bool = False,
        quoted_note: str | None = None,
    ) -> None:
        self.question = question
        self.sources = sources
        self.extractive = extractive  # known before the first piece, so a UI can say "quoted"
        self.quoted_note = quoted_note
        self._pieces = pieces
        self._stream = stream
        self._text: list[str] = []

    def __iter__(self) -> Iterator[str]:
        if self._pieces is None:
            self._text = [NOT_FOUND]
            yield NOT_FOUND
            return
        for piece in self._pieces:
            self._text.append(piece)
            yield piece

    @property
    def note(self) -> str | None:
        """Why the model asked for did not answer (known once the first piece has arrived)."""
        return self._stream.fallback_note if self._stream is not None else self.quoted_note

    @property
    def answer(self) -> Answer:
        for _ in self:
            pass
        response = self._stream.response if self._stream is not None else None
        return Answer(self.question, "".join(self._text), self.sources, response, self.extractive, self.quoted_note)


def find_sources(
    index: Index, question: str, *, k: int | None = None, mode: str | None = None, where: dict[str, Any] | None = None
) -> list[Source]:
    """The retrieved chunks that pass the relevance gate, numbered from 1 (see the module docstring)."""
    hits = index.retrieve(question, k=k, mode=mode, where=where)
    keyword = index.rare_keyword_chunks(question) if hits else set()
    relevant = [h for h in hits if h.similarity >= index.settings.rag.min_score or h.id in keyword]
    return [
        Source(
            n,
            h.id,
            h.source,
            h.text,
            h.similarity,
            _int(h.metadata.get("page")),
            h.metadata.get("title"),
            h.metadata.get("heading") or None,
            keyword=h.similarity < index.settings.rag.min_score,
        )
        for n, h in enumerate(relevant, start=1)
    ]


def answers_extractively(client: Client, model: str | None, setting: str) -> bool:
    """Whether answers are quoted from the sources rather than written by ``model``.

    ``setting`` is ``[rag] answer``: "extractive" always, "generate" never, and "auto" when the
    model that will answer is a local model under a billion parameters. That model is the first of
    the router's chain for ``model`` (its aliases, deployments and fallbacks) whose provider has
    its key, so a fallback answering while a key is missing counts. Small means ``local/smollm2``,
    or a local folder, adapter or cached hub model whose size is known (``small_models.py``);
    unknown sizes count as big.
    """
    if setting not in ANSWER_SETTINGS:
        raise ConfigError(
            f"answer = {setting!r} is not a way to answer.", hint=f"use one of {', '.join(ANSWER_SETTINGS)}"
        )
    if setting != "auto":
        return setting == "extractive"
    chain = client.router.chain(model or client.default_model())
    answering = next((m for m in chain if client.missing_key(m) is None), None)
    if answering is None:
        return False
    provider, name = split_model_id(answering)
    local = client.providers.get(provider)
    return hasattr(local, "resolve_source") and small_models.is_small(local, name)


def build_messages(question: str, sources: list[Source], settings: Settings | None = None) -> RenderedPrompt:
    """The ``[rag] prompt`` template (default ``rag-answer``) filled with numbered sources and the question."""
    settings = settings or load_settings()
    prompt = load_prompt(settings.rag.prompt, settings.resolve_path(settings.llm.prompts_dir))
    blocks = "\n\n".join(f"[{s.n}] {s.label}\n{s.text}" for s in sources)
    return prompt.render(sources=blocks, question=question)


def ask(
    question: str,
    index: Index | None = None,
    *,
    k: int | None = None,
    mode: str | None = None,
    where: dict[str, Any] | None = None,
    model: str | None = None,
    stream: bool = False,
    answer: str | None = None,
    **params: Any,
) -> Answer | AnswerStream:
    """Answer ``question`` from the indexed documents, with numbered sources.

    ``answer`` overrides ``[rag] answer``: "auto", "extractive" (quote the sources) or "generate".
    """
    index = index or Index()
    sources = find_sources(index, question.strip(), k=k, mode=mode, where=where) if question.strip() else []
    model = model or index.settings.rag.model
    if not sources:
        return AnswerStream(question, [], None) if stream else Answer(question, NOT_FOUND)
    if answers_extractively(index.client, model, answer or index.settings.rag.answer):
        pieces = extractive.quote(question.strip(), sources, index.embedder)
        note = _quoted_note(index.client, model)
        if stream:
            return AnswerStream(question, sources, iter(pieces), extractive=True, quoted_note=note)
        return Answer(question, "".join(pieces), sources, extractive=True, quoted_note=note)
    messages = build_messages(question, sources, index.settings)
    if stream:
        chat_stream = index.client.chat(messages, model, stream=True, **params)
        return AnswerStream(question, sources, iter(chat_stream), chat_stream)
    response = index.client.chat(messages, model, **params)
    return Answer(question, response.text, sources, response)


def _quoted_note(client: Client, model: str | None) -> str | None:
    """When the first model of the chain has no key, say so: the quotes stand in for its answer."""
    first = client.router.chain(model or client.default_model())[0]
    variable = client.missing_key(first)
    if variable is None:
        return None
    return f"{first} could not answer ({variable} is not set), so the answer is quoted from your documents."


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
