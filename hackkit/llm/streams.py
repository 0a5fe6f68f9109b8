"""Streamed answers: text as it arrives, the whole response at the end, for sync and async code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from hackkit.errors import HackkitError
from hackkit.llm.types import ChatChunk, ChatResponse, StreamAssembler

if TYPE_CHECKING:
    from hackkit.llm.client import Client, _Call


class ChatStream:
    """Iterate for text as it arrives; ``.response`` is the whole answer once the stream ends.

    Retries and fallbacks apply until the first chunk arrives; after that an error is raised,
    so a user never sees an answer start twice.
    """

    def __init__(self, client: Client, call: _Call) -> None:
        self.client = client
        self.call = call
        self._response: ChatResponse | None = None
        self._chunks: Iterator[ChatChunk] | None = None

    def __iter__(self) -> Iterator[str]:
        for chunk in self.chunks():
            if chunk.text:
                yield chunk.text

    def chunks(self) -> Iterator[ChatChunk]:
        if self._chunks is None:
            self._chunks = self._run()
        return self._chunks

    @property
    def response(self) -> ChatResponse:
        """The full response; reads the rest of the stream first if needed."""
        for _ in self.chunks():
            pass
        assert self._response is not None
        return self._response

    @property
    def text(self) -> str:
        return self.response.text

    def _open(self, target: str) -> tuple[Iterator[ChatChunk], ChatChunk | None]:
        provider, request = self.client._request(self.call, target)
        iterator = iter(provider.stream(request))
        return iterator, next(iterator, None)

    def _run(self) -> Iterator[ChatChunk]:
        loop = self.client.router.attempts(self.call.model)
        found = loop.run(self._open)
        if found is None:
            raise self.client._failed(self.call, loop)
        target, (iterator, first) = found
        assembler = StreamAssembler()
        try:
            if first is not None:
                assembler.add(first)
                yield first
            for chunk in iterator:
                assembler.add(chunk)
                yield chunk
        except HackkitError as exc:
            loop.failed(target, exc)
            raise self.client._failed(self.call, loop) from exc
        self._response = self.client._finish(self.call, target, assembler.response(), loop)


class AsyncChatStream:
    """``async for`` text as it arrives; ``await stream.final()`` for the whole response."""

    def __init__(self, client: Client, call: _Call) -> None:
        self.client = client
        self.call = call
        self.response: ChatResponse | None = None
        self._chunks: AsyncIterator[ChatChunk] | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        return self._texts()

    async def _texts(self) -> AsyncIterator[str]:
        async for chunk in self.chunks():
            if chunk.text:
                yield chunk.text

    def chunks(self) -> AsyncIterator[ChatChunk]:
        if self._chunks is None:
            self._chunks = self._run()
        return self._chunks

    async def final(self) -> ChatResponse:
        async for _ in self.chunks():
            pass
        assert self.response is not None
        return self.response

    async def _open(self, target: str) -> tuple[AsyncIterator[ChatChunk], ChatChunk | None]:
        provider, request = self.client._request(self.call, target)
        iterator = provider.astream(request).__aiter__()
        return iterator, await anext(iterator, None)

    async def _run(self) -> AsyncIterator[ChatChunk]:
        loop = self.client.router.attempts(self.call.model)
        found = await loop.arun(self._open)
        if found is None:
            raise self.client._failed(self.call, loop)
        target, (iterator, first) = found
        assembler = StreamAssembler()
        try:
            if first is not None:
                assembler.add(first)
                yield first
            async for chunk in iterator:
                assembler.add(chunk)
                yield chunk
        except HackkitError as exc:
            loop.failed(target, exc)
            raise self.client._failed(self.call, loop) from exc
        self.response = self.client._finish(self.call, target, assembler.response(), loop)
