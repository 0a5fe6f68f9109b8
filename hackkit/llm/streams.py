"""Streamed answers: text as it arrives, the whole response at the end, for sync and async code.

Retries and fallbacks apply until the first chunk arrives; after that an error is raised, so a
user never sees an answer start twice. Every stream lands in the ledger once: as ``ok`` when it
ends, ``error`` when it fails, and ``cancelled`` (with the tokens seen so far) when the caller
stops reading: a ``break`` out of the loop, ``close()``, a visitor closing the tab. The upstream
request is closed with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from hackkit.errors import Attempt, HackkitError, StreamNotFinished, UnexpectedProviderError
from hackkit.llm.context import estimate_tokens
from hackkit.llm.types import ChatChunk, ChatResponse, StreamAssembler, Usage, fallback_note

if TYPE_CHECKING:
    from hackkit.llm.client import Client, _Call
    from hackkit.llm.router import AttemptLoop


class _StreamState:
    """What both stream flavours know: which model is answering, what arrived, how it ended."""

    def __init__(self, client: Client, call: _Call) -> None:
        self.client = client
        self.call = call
        self._response: ChatResponse | None = None
        self._loop: AttemptLoop | None = None
        self._target: str | None = None
        self._assembler = StreamAssembler()
        self._cancelled = False
        self.partial: ChatResponse | None = None  # what was seen, once the stream was cancelled

    @property
    def trying(self) -> str | None:
        """The model being tried right now (before the first chunk), for "still waiting for ..." lines."""
        return self._loop.current if self._loop is not None and self._target is None else None

    @property
    def model_id(self) -> str | None:
        """The model that is answering, once its first chunk arrived."""
        return self._target

    @property
    def failures(self) -> list[Attempt]:
        return list(self._loop.failures) if self._loop is not None else []

    @property
    def fallback(self) -> bool:
        return self._target is not None and self.client.router.is_fallback(self.call.model, self._target)

    @property
    def fallback_note(self) -> str | None:
        """Why another model than the requested one is answering, as soon as that is known."""
        return fallback_note(self.failures, self._target) if self._target is not None and self.fallback else None

    def _finished(self) -> ChatResponse:
        if self._response is None:
            if self._cancelled:
                raise StreamNotFinished(
                    "The stream was closed before it finished, so there is no full response.",
                    hint="read the stream to its end (or use stream=False) before asking for .response",
                )
            raise StreamNotFinished("The stream has not finished.", hint="read it to its end first")
        return self._response

    def _opened(self, target: str, loop: AttemptLoop, first: ChatChunk | None) -> None:
        self._target, self._loop = target, loop
        if first is not None:
            self._assembler.add(first)

    def _complete(self) -> None:
        assert self._loop is not None and self._target is not None
        self._response = self.client._finish(self.call, self._target, self._assembler.response(), self._loop)

    def _broke(self, exc: Exception) -> HackkitError:
        """The stream failed after it started: record it and say so."""
        assert self._loop is not None and self._target is not None
        error = exc if isinstance(exc, HackkitError) else UnexpectedProviderError.wrap(exc, self._target.split("/")[0])
        self._loop.failed(self._target, error)
        return self.client._failed(self.call, self._loop)

    def _record_cancelled(self) -> None:
        """A row marked cancelled, with the tokens seen so far (estimated where the provider sent none)."""
        target = self._target or (self._loop.current if self._loop is not None else None)
        if target is None or self._loop is None or self._response is not None or self._cancelled:
            return  # never started, already ended, or already recorded
        self._cancelled = True
        partial = self._assembler.response()
        seen = partial.usage
        partial.usage = Usage(
            seen.input_tokens or estimate_tokens(self.call.messages),
            max(seen.output_tokens, len(partial.text) // 4 + bool(partial.text)),
        )
        self.partial = partial
        self.client._record_partial(self.call, target, partial, self._loop)


class ChatStream(_StreamState):
    """Iterate for text as it arrives; ``.response`` is the whole answer once the stream ends."""

    def __init__(self, client: Client, call: _Call) -> None:
        super().__init__(client, call)
        self._chunks: Iterator[ChatChunk] | None = None

    def __iter__(self) -> Iterator[str]:
        chunks = self.chunks()
        try:
            for chunk in chunks:
                if chunk.text:
                    yield chunk.text
        finally:
            if self._response is None:  # the caller stopped early: end the stream here, not at GC
                self.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chunks(self) -> Iterator[ChatChunk]:
        if self._chunks is None:
            self._chunks = self._run()
        return self._chunks

    def close(self) -> None:
        """Stop reading: the upstream request is closed and the call recorded as cancelled."""
        if self._chunks is not None:
            self._chunks.close()  # type: ignore[attr-defined]

    @property
    def response(self) -> ChatResponse:
        """The full response; reads the rest of the stream first if needed."""
        if self._response is None and not self._cancelled:
            for _ in self.chunks():
                pass
        return self._finished()

    @property
    def text(self) -> str:
        return self.response.text

    def _open(self, target: str, loop: AttemptLoop) -> tuple[Iterator[ChatChunk], ChatChunk | None]:
        provider, request = self.client._request(self.call, target, loop)
        iterator = iter(provider.stream(request))
        try:
            return iterator, next(iterator, None)
        except BaseException:
            _close(iterator)
            raise

    def _run(self) -> Iterator[ChatChunk]:
        loop = self._loop = self.client.router.attempts(self.call.model)
        try:
            found = loop.run(lambda target: self._open(target, loop))
            if found is None:
                raise self.client._failed(self.call, loop)
            target, (iterator, first) = found
            self._opened(target, loop, first)
            try:
                if first is not None:
                    yield first
                for chunk in iterator:
                    self._assembler.add(chunk)
                    yield chunk
            except Exception as exc:
                raise self._broke(exc) from exc
            finally:
                _close(iterator)
        except BaseException as exc:
            if not isinstance(exc, Exception):  # GeneratorExit (closed early), KeyboardInterrupt
                self._record_cancelled()
            raise
        self._complete()


class AsyncChatStream(_StreamState):
    """``async for`` text as it arrives; ``await stream.final()`` for the whole response."""

    def __init__(self, client: Client, call: _Call) -> None:
        super().__init__(client, call)
        self._chunks: AsyncIterator[ChatChunk] | None = None
        self._closing = False

    def __aiter__(self) -> AsyncIterator[str]:
        return self._texts()

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _texts(self) -> AsyncIterator[str]:
        try:
            async for chunk in self.chunks():
                if chunk.text:
                    yield chunk.text
        finally:
            if self._response is None:
                await self.aclose()

    def chunks(self) -> AsyncIterator[ChatChunk]:
        if self._chunks is None:
            self._chunks = self._run()
        return self._chunks

    async def aclose(self) -> None:
        """Stop reading: the upstream request is closed and the call recorded as cancelled.

        Safe to call twice, and while the loop's finaliser closes an abandoned ``async for``.
        """
        if self._chunks is not None and not self._closing:
            self._closing = True
            await self._chunks.aclose()  # type: ignore[attr-defined]

    @property
    def response(self) -> ChatResponse | None:
        """The full response once the stream ended; None before."""
        return self._response

    async def final(self) -> ChatResponse:
        if self._response is None and not self._cancelled:
            async for _ in self.chunks():
                pass
        return self._finished()

    async def _open(self, target: str, loop: AttemptLoop) -> tuple[AsyncIterator[ChatChunk], ChatChunk | None]:
        provider, request = self.client._request(self.call, target, loop)
        iterator = provider.astream(request).__aiter__()
        try:
            return iterator, await anext(iterator, None)
        except BaseException:
            await _aclose(iterator)
            raise

    async def _run(self) -> AsyncIterator[ChatChunk]:
        loop = self._loop = self.client.router.attempts(self.call.model)
        try:
            found = await loop.arun(lambda target: self._open(target, loop))
            if found is None:
                raise self.client._failed(self.call, loop)
            target, (iterator, first) = found
            self._opened(target, loop, first)
            try:
                if first is not None:
                    yield first
                async for chunk in iterator:
                    self._assembler.add(chunk)
                    yield chunk
            except Exception as exc:
                raise self._broke(exc) from exc
            finally:
                await _aclose(iterator)
        except BaseException as exc:
            if not isinstance(exc, Exception):  # GeneratorExit (closed early), task cancelled
                self._record_cancelled()
            raise
        self._complete()


def _close(iterator: Any) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


async def _aclose(iterator: Any) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()
