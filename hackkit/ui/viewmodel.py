"""What a demo app does, independent of the framework that draws it.

The Gradio and Streamlit apps are thin views over :class:`DemoApp` (one per process) and
:class:`DemoSession` (one per visitor), so behaviour never forks between backends: questions go
through RAG when documents are indexed, plain chat otherwise; each visitor has a request budget
per minute; every answer is capped in length; a provider's failure becomes a polite message in
the chat and its details go to the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hackkit.config import Settings, load_settings
from hackkit.errors import HackkitError
from hackkit.llm.client import Client
from hackkit.llm.types import ChatResponse

log = logging.getLogger("hackkit.ui")

OFFLINE_BANNER = (
    "Running offline on a small local model (SmolLM2-135M): answers are rough. "
    "Set MISTRAL_API_KEY or another provider's key for a stronger model."
)
MISSING_KEY_BANNER = (
    "{variable} is not set, so {model} cannot answer: copy .env.example to .env and add your key ({until})."
)
POLITE_ERROR = "Sorry, the model could not answer just now. Please try again in a moment."
RATE_LIMITED = "You are asking faster than this demo allows ({limit} questions a minute). Please wait a moment."


@dataclass
class SourceView:
    n: int
    label: str
    snippet: str
    text: str
    similarity: float


@dataclass
class Reply:
    """The state of one answer as it streams: the views redraw from this."""

    text: str = ""
    sources: list[SourceView] = field(default_factory=list)
    done: bool = False
    model: str = ""
    stats: str = ""
    error: bool = False


@dataclass
class Comparison:
    model: str
    text: str
    latency_s: float = 0.0
    tokens: int = 0
    cost_usd: float | None = None
    error: bool = False

    @property
    def stats(self) -> str:
        cost = f"${self.cost_usd:.5f}" if self.cost_usd is not None else "cost unknown"
        return f"{self.latency_s:.2f} s · {self.tokens} tokens · {cost}"


class DemoApp:
    """Settings, client and index shared by every visitor of one running app."""

    def __init__(self, settings: Settings | None = None, *, model: str | None = None) -> None:
        self.settings = settings or load_settings()
        self.client = Client(self.settings)
        self.ui = self.settings.ui
        self.default_model = model or self.client.default_model()
        self._index: Any = None
        self._lock = threading.Lock()
        self._warming = threading.Lock()

    @property
    def banner(self) -> str | None:
        if self.default_model.startswith("local/"):
            return OFFLINE_BANNER
        variable = self.missing_key()
        if variable is None:
            return None
        fallbacks = self.client.router.fallbacks(self.default_model)
        until = f"until then {', '.join(fallbacks)} answers" if fallbacks else "until then questions fail politely"
        return MISSING_KEY_BANNER.format(variable=variable, model=self.default_model, until=until)

    def offline_model(self) -> str | None:
        """The local model that will answer: the default one, or the fallback while a key is missing."""
        if self.default_model.startswith("local/"):
            return self.default_model
        if self.missing_key():
            return next((m for m in self.client.router.fallbacks(self.default_model) if m.startswith("local/")), None)
        return None

    def missing_key(self) -> str | None:
        """The key variable the default model's provider needs and does not have, if any."""
        return self.client.missing_key(self.default_model)

    @property
    def models(self) -> list[str]:
        configured = self.ui.models or [*self.settings.llm.aliases, *self.settings.llm.deployments]
        return list(dict.fromkeys([self.default_model, *configured]))

    def index(self) -> Any:
        """The project's RAG index, or None when RAG is not installed."""
        with self._lock:
            if self._index is None:
                try:
                    from hackkit.rag import Index

                    self._index = Index(self.settings, client=self.client)
                except ImportError:
                    self._index = False
            return self._index or None

    def has_documents(self) -> bool:
        try:
            from hackkit.rag.store import Store
        except ImportError:
            return False
        if not Store.may_have_documents(self.settings):  # no chromadb import, no empty store made
            return False
        index = self.index()
        try:
            return bool(index and index.store.count())
        except HackkitError:
            return False

    def warm_up(self) -> None:
        """Load the index and its embedding model now, so the first visitor does not wait for them."""
        with self._warming:
            self._warm_up()

    def wait_until_warm(self) -> None:
        """Let a warm-up in progress finish before answering (it holds what the answer needs)."""
        with self._warming:
            pass

    def _warm_up(self) -> None:
        try:
            if local := self.offline_model():  # the first load of SmolLM2 de-quantises it: seconds
                self.client.providers.get("local").model(local.partition("/")[2])  # type: ignore[attr-defined]
            if self.has_documents():
                index = self.index()
                index.embedder.embed(["warm up"])
                index.bm25()
        except Exception as exc:  # a warm-up failure shows up, politely, on the first question instead
            log.warning("warm-up failed: %s", exc)

    def session(self) -> DemoSession:
        return DemoSession(self)

    def upload(self, files: list[tuple[str, bytes]], progress: Any = None) -> str:
        """Save (name, content) files into the uploads folder and ingest them; a one-line report."""
        index = self.index()
        if index is None:
            return "Uploads need the RAG extra: pip install 'hackkit-llm[rag]'"
        target = self.settings.resolve_path(self.ui.uploads_dir)
        target.mkdir(parents=True, exist_ok=True)
        saved = []
        for name, content in files:
            destination = target / Path(name).name  # never a path from the visitor
            destination.write_bytes(content)
            saved.append(destination)
        from hackkit.rag import ingest

        report = ingest(saved, index, progress=progress)
        skipped = "; ".join(f"{Path(p).name}: {reason}" for p, reason in report.skipped)
        return f"Ingested {len(report.added) + len(report.updated)} file(s), {report.chunks} chunks." + (
            f" Skipped {skipped}." if skipped else ""
        )

    def compare(self, prompt: str, model_a: str, model_b: str) -> tuple[Comparison, Comparison]:
        """One prompt to two models at once, with latency, tokens and cost for each."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            a, b = pool.map(lambda model: self._one(prompt, model), (model_a, model_b))
        return a, b

    def _one(self, prompt: str, model: str) -> Comparison:
        started = time.perf_counter()
        try:
            response: ChatResponse = self.client.chat(prompt, model, max_tokens=self.ui.max_tokens)
        except HackkitError as exc:
            log.warning("compare with %s failed: %s", model, exc)
            return Comparison(model, POLITE_ERROR, time.perf_counter() - started, error=True)
        return Comparison(
            model, response.text, time.perf_counter() - started, response.usage.total_tokens, response.cost_usd
        )

    def usage_rows(self) -> list[dict[str, Any]]:
        ledger = self.client.ledger
        return ledger.usage(by="day,model") if ledger else []


class DemoSession:
    """One visitor's conversation and request budget."""

    def __init__(self, app: DemoApp) -> None:
        self.app = app
        self.model = app.default_model
        self.history: list[dict[str, Any]] = []
        self._requests: deque[float] = deque()

    def allowed(self) -> bool:
        now, limit = time.monotonic(), self.app.ui.rate_limit_per_minute
        while self._requests and now - self._requests[0] > 60:
            self._requests.popleft()
        if limit and len(self._requests) >= limit:
            return False
        self._requests.append(now)
        return True

    def send(self, message: str) -> Iterator[Reply]:
        """Stream the answer to ``message``: RAG over the documents when there are any."""
        message = message.strip()
        if not message:
            yield Reply("Please type a question.", done=True)
            return
        if not self.allowed():
            yield Reply(RATE_LIMITED.format(limit=self.app.ui.rate_limit_per_minute), done=True, error=True)
            return
        reply = Reply(model=self.model)
        try:
            yield from self._answer(message, reply)
        except HackkitError as exc:
            log.warning("answer with %s failed: %s", self.model, exc)
            reply.text, reply.error = POLITE_ERROR, True
        reply.done = True
        self.history += [{"role": "user", "content": message}, {"role": "assistant", "content": reply.text}]
        yield reply

    def _chat_messages(self, message: str) -> list[dict[str, Any]]:
        """The conversation so far, led by the ``[ui] prompt`` template's system message and examples."""
        user = {"role": "user", "content": message}
        if not self.app.ui.prompt:
            return [*self.history, user]
        from hackkit.llm.prompts import load_prompt

        settings = self.app.settings
        prompt = load_prompt(self.app.ui.prompt, settings.resolve_path(settings.llm.prompts_dir))
        lead = prompt.render(question=message).messages[:-1]
        return [*lead, *self.history, user]

    def _answer(self, message: str, reply: Reply) -> Iterator[Reply]:
        cap = self.app.ui.max_tokens
        self.app.wait_until_warm()
        if self.app.has_documents():
            from hackkit.rag import ask

            stream: Any = ask(message, self.app.index(), model=self.model, stream=True, max_tokens=cap)
            reply.sources = [SourceView(s.n, s.label, s.snippet, s.text, s.similarity) for s in stream.sources]
            response = None
            for piece in stream:
                reply.text += piece
                yield reply
            response = stream.answer.response
        else:
            chat = self.app.client.chat(self._chat_messages(message), self.model, stream=True, max_tokens=cap)
            for piece in chat:
                reply.text += piece
                yield reply
            response = chat.response
        if response is None:
            reply.stats = "No document matched, so no model was asked."
        else:
            cost = f" · ${response.cost_usd:.5f}" if response.cost_usd is not None else ""
            reply.stats = (
                f"{response.provider}/{response.model} · {response.usage.total_tokens} tokens"
                f" · {response.latency_ms / 1000:.1f} s{cost}"
            )
