"""What a demo app does, independent of the framework that draws it.

The Gradio and Streamlit apps are thin views over :class:`DemoApp` (one per process) and
:class:`DemoSession` (one per visitor), so behaviour never forks between backends: questions go
through RAG when documents are indexed, plain chat otherwise; each visitor (by address, see
:mod:`hackkit.ui.limits`) has a request budget per minute that questions, comparisons and uploads
share; the model a request names must be one the server offers; every answer is capped in
length and says which model wrote it (and why, when a fallback did); text reaches the page only
through :func:`hackkit.ui.sanitize.safe_markdown`; and any failure, expected or not, becomes a
polite message on the page while its details go to the log.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hackkit.config import Settings, load_settings
from hackkit.errors import HackkitError
from hackkit.llm.client import Client
from hackkit.llm.types import ChatResponse
from hackkit.ui.limits import LOCAL, RateLimiter
from hackkit.ui.sanitize import escape, safe_markdown
from hackkit.ui.uploads import UploadLimits, UploadReport, folder_bytes, ingest_saved, save

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
UPLOAD_FAILED = "Sorry, your files could not be added just now. Please try again in a moment."
NOT_MATCHED = "No document matched, so no model was asked."
QUOTED = "quoted from your documents"


class ModelNotOffered(HackkitError):
    """A request named a model that is not on this demo's list (``[ui] models``)."""

    def __init__(self, model: str, offered: list[str]) -> None:
        super().__init__(
            f"This demo does not offer the model {model!r}.",
            hint=f"pick one of: {', '.join(offered)} (the server's [ui] models)",
        )


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
    model: str = ""  # what was asked for
    stats: str = ""
    error: bool = False
    answered_by: str = ""  # the model that wrote it, or QUOTED for an extractive answer
    notice: str = ""  # why a fallback answered, when one did

    @property
    def markdown(self) -> str:
        """The answer as the page shows it: safe Markdown, then who answered once it is done."""
        return safe_markdown(self.text) + (f"\n\n{self.footer}" if self.done and self.footer else "")

    @property
    def footer(self) -> str:
        return answered_line(self.answered_by, self.notice)


@dataclass
class Comparison:
    model: str  # what was asked for
    text: str
    latency_s: float = 0.0
    tokens: int = 0
    cost_usd: float | None = None
    error: bool = False
    answered_by: str = ""
    notice: str = ""

    @property
    def stats(self) -> str:
        cost = f"${self.cost_usd:.5f}" if self.cost_usd is not None else "cost unknown"
        return f"{self.latency_s:.2f} s · {self.tokens} tokens · {cost}"

    @property
    def markdown(self) -> str:
        """The column as the page shows it: what was asked for, the answer, who answered."""
        footer = answered_line(self.answered_by, self.notice)
        return f"**{escape(self.model)}**\n\n{safe_markdown(self.text)}" + (f"\n\n{footer}" if footer else "")


def answered_line(answered_by: str, notice: str) -> str:
    """``*Answered by local/smollm2.* *mistral/x could not answer (...), so local/smollm2 answered.*``"""
    if not answered_by:
        return ""
    line = "*Quoted from your documents.*" if answered_by == QUOTED else f"*Answered by {escape(answered_by)}.*"
    return line + (f" **{escape(notice)}**" if notice else "")


class DemoApp:
    """Settings, client, index and request budgets shared by every visitor of one running app."""

    def __init__(self, settings: Settings | None = None, *, model: str | None = None) -> None:
        self.settings = settings or load_settings()
        self.client = Client(self.settings)
        self.ui = self.settings.ui
        self.default_model = model or self.client.default_model()
        self.limiter = RateLimiter(self.ui.rate_limit_per_minute)
        self._index: Any = None
        self._lock = threading.Lock()
        self._warming = threading.Lock()
        self._retrieving = threading.Lock()

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
        """The allow-list: the only models a visitor's request may name (the picker's choices)."""
        if "model_picker" not in self.ui.panels:
            return [self.default_model]
        configured = self.ui.models or [*self.settings.llm.aliases, *self.settings.llm.deployments]
        return list(dict.fromkeys([self.default_model, *configured]))

    def offered(self, model: str | None) -> str:
        """``model`` when the allow-list has it (None or empty: the default), else :class:`ModelNotOffered`."""
        model = model or self.default_model
        if model not in self.models:
            raise ModelNotOffered(model, self.models)
        return model

    def index(self) -> Any:
        """The project's RAG index, opened once for every visitor; None when RAG is not installed."""
        with self._lock:
            if self._index is None:
                try:
                    from hackkit.rag import Index
                except ImportError:
                    self._index = False
                else:
                    index = Index(self.settings, client=self.client)
                    index.store.collection  # noqa: B018  open Chroma here, once: opened from many threads it races
                    self._index = index
            return self._index or None

    def has_documents(self, session: DemoSession | None = None) -> bool:
        """Whether anything ``session`` may read is indexed (the manifest says so; Chroma is not asked)."""
        try:
            from hackkit.rag.store import Store
        except ImportError:
            return False
        if not Store.may_have_documents(self.settings):  # no chromadb import, no empty store made
            return False
        index = self.index()
        if index is None:
            return False
        hidden = set(self.hidden_sources(session))
        return any(record.chunks for key, record in index.store.manifest.files().items() if key not in hidden)

    def hidden_sources(self, session: DemoSession | None) -> list[str]:
        """Indexed files ``session`` must not read: other visitors' private uploads.

        Whatever ``[ui] uploads`` says now: a file uploaded as private stays private.
        """
        index = self.index()
        if index is None:
            return []
        own = session.uploads_folder.resolve() if session else None
        private = self.private_uploads.resolve()
        base = self.settings.root or Path.cwd()
        return [
            key
            for key in index.store.manifest.files()
            if _inside(base / key, private) and (own is None or not _inside(base / key, own))
        ]

    @property
    def private_uploads(self) -> Path:
        """``.hackkit/uploads``: a folder per visitor session (``[ui] uploads = "session"``), outside data/."""
        return self.settings.data_dir / "uploads"

    @property
    def shared_uploads(self) -> Path:
        """``[ui] uploads_dir``: files every visitor's answers may cite."""
        return self.settings.resolve_path(self.ui.uploads_dir)

    def upload(self, files: list[tuple[str, bytes]], progress: Any = None) -> str:
        """Add (name, content) files for every visitor, from the app's own code or tests (no budget).

        A visitor's upload is :meth:`DemoSession.upload`: budgeted, and private by default.
        """
        return self.receive(files, self.shared_uploads, progress)

    def receive(self, files: list[tuple[str, bytes]], folder: Path, progress: Any = None) -> str:
        """Check, save into ``folder`` and ingest files (:mod:`hackkit.ui.uploads`); a one-paragraph report."""
        report = UploadReport()
        try:
            index = self.index()
            if index is None:
                return "Uploads need the RAG extra: pip install 'hackkit-llm[rag]'"
            used = folder_bytes(self.private_uploads) + folder_bytes(self.shared_uploads)
            saved = save(files, folder, self.upload_limits, used, report)
            if saved:
                ingest_saved(saved, folder, index, report, progress)
        except Exception:
            log.exception("upload of %s failed", [name for name, _ in files])
            for path in report.written:
                path.unlink(missing_ok=True)  # nothing half-added stays behind
            return UPLOAD_FAILED
        return report.message()

    @property
    def upload_limits(self) -> UploadLimits:
        from hackkit.rag.loaders import supported_suffixes

        megabyte = 1_000_000
        return UploadLimits(self.ui.max_upload_mb * megabyte, self.ui.uploads_total_mb * megabyte, supported_suffixes())

    def ask(self, question: str, session: DemoSession, **params: Any) -> Any:
        """RAG over what ``session`` may read; retrieval runs one visitor at a time.

        The index's caches (BM25, the vector matrix) are rebuilt on first use and after every
        ingest; twenty first questions at once built BM25 twenty times into one folder
        (``FileNotFoundError`` from bm25s). Retrieval takes milliseconds; the answer streams
        outside the lock.
        """
        from hackkit.rag import ask

        hidden = self.hidden_sources(session)
        with self._retrieving:
            return ask(question, self.index(), where={"source": {"$nin": hidden}} if hidden else None, **params)

    def warm_up(self) -> None:
        """Load the index and its embedding model, then the offline model, so the first visitor does not wait.

        The offline model is not loaded when the documents' answers are quoted (``[rag] answer``):
        a small local model never writes them.

        Only the index part holds answers back (:meth:`wait_until_warm`): a question for a hosted
        model never waits for SmolLM2's first load (de-quantising it takes seconds), and one for
        the local model waits on the provider's own load lock.
        """
        with self._warming:
            self._warm(self._warm_index)
        self._warm(self._warm_model)

    def wait_until_warm(self) -> None:
        """Let the index's warm-up in progress finish before answering (it holds what the answer needs)."""
        with self._warming:
            pass

    def _warm_index(self) -> None:
        if self.has_documents():
            index = self.index()
            index.embedder.embed(["warm up"])
            index.bm25()

    def _warm_model(self) -> None:
        if (local := self.offline_model()) and not self._quotes_answers():
            self.client.providers.get("local").model(local.partition("/")[2])  # type: ignore[attr-defined]

    def _quotes_answers(self) -> bool:
        """Whether every question is answered by quoting the documents, so no local model is needed."""
        if not self.has_documents():
            return False
        from hackkit.rag import answers_extractively

        return answers_extractively(self.client, self.default_model, self.settings.rag.answer)

    @staticmethod
    def _warm(step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:  # a warm-up failure shows up, politely, on the first question instead
            log.warning("warm-up failed: %s", exc)

    def session(self, visitor: str = LOCAL) -> DemoSession:
        return DemoSession(self, visitor)

    def usage_rows(self) -> list[dict[str, Any]]:
        ledger = self.client.ledger
        return ledger.usage(by="day,model") if ledger else []


def _inside(path: Path, folder: Path) -> bool:
    resolved = path.resolve()
    return resolved == folder or folder in resolved.parents


class DemoSession:
    """One visitor's conversation, model choice and uploads; every request checked against the server's rules.

    ``visitor`` is the address the request budget is kept under (:func:`hackkit.ui.limits.visitor_address`);
    the views set it from each request, since one page may outlive a change of address.
    """

    def __init__(self, app: DemoApp, visitor: str = LOCAL) -> None:
        self.app = app
        self.visitor = visitor
        self.id = uuid.uuid4().hex[:16]
        self.model = app.default_model
        self.history: list[dict[str, Any]] = []

    @property
    def uploads_folder(self) -> Path:
        """Where this visitor's files go: their own folder, or the shared one (``[ui] uploads``)."""
        return self.app.private_uploads / self.id if self.app.ui.uploads == "session" else self.app.shared_uploads

    def allowed(self, cost: int = 1) -> bool:
        """Spend ``cost`` requests of this visitor's budget, if it has them."""
        return self.app.limiter.allow(self.visitor, cost)

    def _rate_limited(self) -> str:
        return RATE_LIMITED.format(limit=self.app.ui.rate_limit_per_minute)

    def send(self, message: str) -> Iterator[Reply]:
        """Stream the answer to ``message``: RAG over the documents when there are any."""
        message = message.strip()
        if not message:
            yield Reply("Please type a question.", done=True)
            return
        try:
            model = self.app.offered(self.model)
        except ModelNotOffered as exc:
            yield Reply(f"{exc.message} Please pick one from the list.", done=True, error=True)
            return
        if not self.allowed():
            yield Reply(self._rate_limited(), done=True, error=True)
            return
        reply = Reply(model=model)
        try:
            yield from self._answer(message, model, reply)
        except HackkitError as exc:
            log.warning("answer with %s failed: %s", model, exc)
            reply.text, reply.error, reply.answered_by, reply.notice = POLITE_ERROR, True, "", ""
        except Exception:  # a bug, or a library failing in a way nobody foresaw: never a traceback on the page
            log.exception("answer with %s failed unexpectedly", model)
            reply.text, reply.error, reply.answered_by, reply.notice = POLITE_ERROR, True, "", ""
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

    def _answer(self, message: str, model: str, reply: Reply) -> Iterator[Reply]:
        cap = self.app.ui.max_tokens
        self.app.wait_until_warm()
        if self.app.has_documents(self):
            stream = self.app.ask(message, self, model=model, stream=True, max_tokens=cap)
            reply.sources = [SourceView(s.n, s.label, s.snippet, s.text, s.similarity) for s in stream.sources]
            for piece in stream:
                reply.text += piece
                yield reply
            answer = stream.answer
            _describe(reply, answer.response, extractive=bool(getattr(answer, "extractive", False)))
        else:
            chat = self.app.client.chat(self._chat_messages(message), model, stream=True, max_tokens=cap)
            for piece in chat:
                reply.text += piece
                reply.answered_by = chat.model_id or ""
                yield reply
            _describe(reply, chat.response)

    def compare(self, prompt: str, model_a: str, model_b: str) -> tuple[Comparison, Comparison]:
        """One prompt to two offered models at once, with latency, tokens and cost for each (costs 2 requests)."""
        if "compare" not in self.app.ui.panels:
            return _refused("Side by side is turned off in this demo.", model_a, model_b)
        try:
            models = self.app.offered(model_a), self.app.offered(model_b)
        except ModelNotOffered as exc:
            return _refused(exc.message, model_a, model_b)
        if not self.allowed(cost=2):
            return _refused(self._rate_limited(), model_a, model_b)
        with ThreadPoolExecutor(max_workers=2) as pool:
            a, b = pool.map(lambda model: self._one(prompt, model), models)
        return a, b

    def _one(self, prompt: str, model: str) -> Comparison:
        started = time.perf_counter()
        try:
            response: ChatResponse = self.app.client.chat(prompt, model, max_tokens=self.app.ui.max_tokens)
        except Exception as exc:  # HackkitError or not: a polite column, details in the log
            log.warning("compare with %s failed: %s", model, exc, exc_info=not isinstance(exc, HackkitError))
            return Comparison(model, POLITE_ERROR, time.perf_counter() - started, error=True)
        return Comparison(
            model,
            response.text,
            time.perf_counter() - started,
            response.usage.total_tokens,
            response.cost_usd,
            answered_by=_answered_by(response),
            notice=response.fallback_note or "",
        )

    def upload(self, files: list[tuple[str, bytes]], progress: Any = None) -> str:
        """Check, save and ingest (name, content) files (one request of the budget); a one-paragraph report."""
        if "upload" not in self.app.ui.panels:
            return "Uploads are turned off in this demo."
        if not self.allowed():
            return self._rate_limited()
        return self.app.receive(files, self.uploads_folder, progress)


def _refused(message: str, model_a: str, model_b: str) -> tuple[Comparison, Comparison]:
    return Comparison(model_a, message, error=True), Comparison(model_b, message, error=True)


def _answered_by(response: ChatResponse) -> str:
    return response.model_id or f"{response.provider}/{response.model}"


def _describe(reply: Reply, response: ChatResponse | None, extractive: bool = False) -> None:
    """Fill in who answered, why a fallback did, and the answer's cost line."""
    if response is None:
        reply.answered_by = QUOTED if extractive else ""
        reply.stats = "Quoted from your documents: no model was asked." if extractive else NOT_MATCHED
        return
    reply.answered_by = _answered_by(response)
    reply.notice = response.fallback_note or ""
    cost = f" · ${response.cost_usd:.5f}" if response.cost_usd is not None else ""
    reply.stats = (
        f"{reply.answered_by} · {response.usage.total_tokens} tokens · {response.latency_ms / 1000:.1f} s{cost}"
    )
