"""The gateway's transport: plain-HTTP upstreams on a small HTTP/1.1 client of its own, HTTPS through aiohttp.

A mentor's vLLM, Ollama or the local model answer over plain HTTP on the room's network, often
in a few milliseconds, so the client's own cost is most of what the gateway adds to them: aiohttp
spent about 190 us of CPU a request in front of the benchmark's mock, this client about 50 (an
asyncio protocol, httptools' parser, one write a request, keep-alive connections reused last in,
first out). Remote providers answer over HTTPS in hundreds of milliseconds, where that difference
is noise and TLS, proxies' absence and odd servers are aiohttp's proven ground: they stay there.

What a caller sees is the same as through aiohttp: ``Reply`` and ``StreamReply``, case-insensitive
headers, 1xx interim answers skipped, the path percent-encoded, credentials in the URL sent as
Basic auth, a header with a line break refused before anything is sent; ``ProviderTimeout`` when
connecting, or the gap between two reads, takes longer than the timeout; ``ProviderConnectionError``
for a refused, reset or malformed connection or a broken gzip body. A stream left before its end
closes its connection, which cancels the upstream's request. An idle connection is dropped from
the pool when the server closes it, sends bytes nobody asked for (its socket is looked at before
each reuse, so bytes the event loop has not read yet count too), or has idled for 30 s; a request
is never sent twice by the transport itself (a failed attempt is the router's to retry, and to log).
Error messages never quote the URL or a header's value: either may hold a secret.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import re
import select
import zlib
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from hackkit.errors import ProviderConnectionError
from hackkit.llm.providers._transport import (
    CONNECT_TIMEOUT,
    AiohttpTransport,
    Reply,
    StreamReply,
    _PerLoop,
    connection_error,
    timeout_error,
)

READ_HIGH_WATER = 256 * 1024  # bytes buffered for a slow reader before the socket is read no more
PATH_SAFE = "/%:@!$&'()*+,;=-._~"  # what a path keeps as it is (RFC 3986), an escape included
QUERY_SAFE = PATH_SAFE + "?"
LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP header name (RFC 9110's token)
KEEPALIVE_S = 30.0  # an idle connection older than this is closed instead of reused (aiohttp's default too)


class ConnectionDropped(ConnectionError):
    """The server closed the connection before its answer ended."""


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one request at a time, its answer parsed as it arrives."""

    def __init__(self) -> None:
        import httptools

        self._new_parser = lambda: httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.busy = False  # a request is in flight: only then may bytes arrive
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.parser = self._new_parser()
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.headers_done = False
        self.complete = False
        self.unasked = False  # a second answer began after this request's: never reuse the connection
        self.interim = False  # inside a 1xx answer, which the real one follows
        self.keep_alive = False  # what the answer said, read when it ended (the parser forgets after)
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.paused = False

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.busy:  # bytes nobody asked for, on an idle connection: never reuse it
            self._fail(ConnectionError("the server sent data on an idle connection"))
            return
        try:
            self.parser.feed_data(data)
        except Exception as exc:  # httptools' HttpParserError and friends: not HTTP
            if self.complete:  # junk after a whole answer: keep the answer, never the connection
                self.unasked = True
                if self.transport is not None:
                    self.transport.close()
                return
            upgrade = type(exc).__name__ == "HttpParserUpgrade"
            what = "an upgrade (101) instead of an answer" if upgrade else f"malformed HTTP answer: {exc}"
            self._fail(ConnectionError(what))
            return
        if self.buffered > READ_HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.complete or self.error is not None:
            return
        if exc is None and self.headers_done and not self._framed():
            self.on_message_complete()  # an answer delimited by the connection's (clean) end
            return
        self._fail(exc or ConnectionDropped("the server closed the connection"))

    # -- httptools' callbacks (what follows this request's answer is not part of it) ----------

    def on_message_begin(self) -> None:
        self.unasked = self.unasked or self.complete

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.unasked:
            self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        if self.unasked:
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # 100 Continue, 103 Early Hints: the answer follows
            self.interim = True
            self.headers.clear()
            return
        self.status = status
        self.headers_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if not self.unasked:
            self.chunks.append(body)
            self.buffered += len(body)
            self._wake()

    def on_message_complete(self) -> None:
        if self.interim:  # the end of an interim answer, not of this request's
            self.interim = False
            return
        if not self.unasked:
            self.complete = True
            self.keep_alive = bool(self.parser.should_keep_alive())
            self._wake()

    # -- what the transport uses ------------------------------------------------------------

    def _framed(self) -> bool:
        """Content-Length or chunked says where the answer ends (else the connection's end does)."""
        for name, value in self.headers:
            name = name.lower()
            if name == "content-length":
                return True
            if name == "transfer-encoding" and value.replace(" ", "").lower().endswith("chunked"):
                return True
        return False

    def _fail(self, error: BaseException) -> None:
        self.error = error
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Until the parser has more (headers, body, the end) or the connection failed."""
        if self.error is not None:
            raise self.error
        loop = asyncio.get_running_loop()
        self.waiter = waiter = loop.create_future()
        timer = loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self.waiter = None
        if self.error is not None:
            raise self.error

    def take(self) -> bytes:
        body = b"".join(self.chunks)
        self.chunks.clear()
        self.buffered = 0
        if self.paused and self.transport is not None and not self.closed:
            self.paused = False
            self.transport.resume_reading()
        return body

    def reusable(self) -> bool:
        healthy = not (self.unasked or self.closed or self.paused) and self.error is None
        return self.complete and self.keep_alive and healthy


def _readable(transport: asyncio.Transport) -> bool:
    """Whether the socket has bytes or an end waiting that the event loop has not read yet."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        return bool(select.select([sock.fileno()], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(asyncio.TimeoutError())


class _Pool:
    """Idle keep-alive connections per (host, port), reused last in, first out."""

    def __init__(self) -> None:
        self.idle: dict[tuple[str, int], collections.deque[_Connection]] = {}

    def take(self, address: tuple[str, int]) -> _Connection | None:
        """The connection idle the shortest, unless its socket has anything to read (bytes or the server's close)."""
        idle = self.idle.get(address)
        if not idle:
            return None
        self._prune(idle)
        while idle:
            connection = idle.pop()
            if connection.closed or connection.transport is None or connection.transport.is_closing():
                continue
            if _readable(connection.transport):  # not read by the loop yet: never take it as an answer
                connection.transport.close()
                continue
            connection.busy = True
            return connection
        return None

    def give_back(self, address: tuple[str, int], connection: _Connection) -> None:
        connection.busy = False
        if connection.reusable():
            connection._reset()
            connection.idle_since = asyncio.get_running_loop().time()
            idle = self.idle.setdefault(address, collections.deque())
            idle.append(connection)
            self._prune(idle)
        elif connection.transport is not None:
            connection.transport.close()

    @staticmethod
    def _prune(idle: collections.deque[_Connection]) -> None:
        """Close what idled past KEEPALIVE_S or was closed: the oldest are at the left."""
        oldest_kept = asyncio.get_running_loop().time() - KEEPALIVE_S
        while idle and (idle[0].idle_since < oldest_kept or idle[0].closed):
            stale = idle.popleft()
            if stale.transport is not None:
                stale.transport.close()

    def close(self) -> None:
        for idle in self.idle.values():
            for connection in idle:
                if connection.transport is not None:
                    connection.transport.close()
        self.idle.clear()


class _Stream:
    """An answer being read: its status and headers, then its body whole or line by line."""

    def __init__(self, connection: _Connection, timeout: float, provider: str) -> None:
        from multidict import CIMultiDict

        self.connection, self.timeout, self.provider = connection, timeout, provider
        self.status = connection.status
        self.headers: Mapping[str, str] = CIMultiDict(connection.headers)
        self._encoding = self.headers.get("content-encoding", "").strip().lower()
        self._inflate = _inflater(self._encoding) if self._encoding in ("gzip", "x-gzip", "deflate") else None
        self._started = False

    def _decoded(self, data: bytes) -> bytes:
        """The body as sent before Content-Encoding: gzip (every member) or deflate (zlib or raw)."""
        if self._inflate is None or not data:
            return data
        out = []
        try:
            out.append(self._inflate.decompress(data))
        except zlib.error:
            if self._started or self._encoding != "deflate":
                raise
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # deflate without its zlib header
            out.append(self._inflate.decompress(data))
        self._started = True
        while self._inflate.eof and self._inflate.unused_data:  # gzip's next member
            rest = self._inflate.unused_data
            self._inflate = _inflater(self._encoding)
            out.append(self._inflate.decompress(rest))
        return b"".join(out)

    async def read(self) -> bytes:
        connection, parts = self.connection, []
        with _errors(self.provider):
            while True:
                parts.append(self._decoded(connection.take()))
                if connection.complete:
                    break
                await connection.wait(self.timeout)
        return b"".join(parts)

    async def lines(self) -> AsyncIterator[str]:
        connection, pending = self.connection, b""
        with _errors(self.provider):
            while True:
                data = self._decoded(connection.take())
                if data:
                    pending += data
                    *whole, pending = pending.split(b"\n")
                    for line in whole:
                        yield line.decode("utf-8", "replace").rstrip("\r")
                if connection.chunks:
                    continue  # more came while the lines above were read
                if connection.complete:
                    break
                await connection.wait(self.timeout)
        if pending:
            yield pending.decode("utf-8", "replace").rstrip("\r")


def _inflater(encoding: str) -> Any:
    return zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS)


@contextlib.contextmanager
def _errors(provider: str) -> Any:
    try:
        yield
    except asyncio.TimeoutError as exc:
        raise timeout_error(provider, "timed out") from exc
    except (OSError, zlib.error) as exc:  # refused, reset, dropped, malformed, a broken gzip body
        raise connection_error(provider, exc) from exc
    except ValueError as exc:  # a host name that can not be encoded (IDNA), a NUL in it
        raise connection_error(provider, ValueError(f"bad host in the provider's base_url ({exc})")) from None


class PlainHttpTransport(_PerLoop):
    """The gateway's upstream transport: ``http://`` on this module's client, ``https://`` on aiohttp's."""

    name = "plainhttp"

    def __init__(self) -> None:
        super().__init__()
        self.secure = AiohttpTransport()

    def new_pool(self) -> _Pool:
        return _Pool()

    async def close_pool(self, pool: _Pool) -> None:
        pool.close()

    def close(self) -> None:
        super().close()
        self.secure.close()

    async def aclose(self) -> None:
        await super().aclose()
        await self.secure.aclose()

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float, provider: str) -> Reply:
        if not url.startswith("http://"):
            return await self.secure.post(url, body, headers, timeout, provider)
        async with self._answer(url, body, headers, timeout, provider) as answer:
            return Reply(answer.status, answer.headers, await answer.read())

    @contextlib.asynccontextmanager
    async def stream(
        self, url: str, body: bytes, headers: dict[str, str], timeout: float, provider: str
    ) -> AsyncIterator[StreamReply]:
        if not url.startswith("http://"):
            async with self.secure.stream(url, body, headers, timeout, provider) as answer:
                yield answer
            return
        async with self._answer(url, body, headers, timeout, provider) as answer:
            yield answer

    @contextlib.asynccontextmanager
    async def _answer(
        self, url: str, body: bytes, headers: dict[str, str], timeout: float, provider: str
    ) -> AsyncIterator[_Stream]:
        address, request = _request(url, body, headers, provider)
        pool: _Pool = self.pool()
        connection = None
        with _errors(provider):
            connection = await self._send(pool, address, request, timeout)
        try:
            yield _Stream(connection, timeout, provider)
        finally:
            pool.give_back(address, connection)  # closed unless the answer was read to its end

    async def _send(self, pool: _Pool, address: tuple[str, int], request: bytes, timeout: float) -> _Connection:
        """The request sent and its answer's headers in (a failure closes the connection and is raised)."""
        connection = pool.take(address) or await self._connect(address, timeout)
        assert connection.transport is not None
        try:
            connection.transport.write(request)
            while not connection.headers_done:
                await connection.wait(timeout)
        except BaseException:
            connection.transport.close()
            raise
        return connection

    async def _connect(self, address: tuple[str, int], timeout: float) -> _Connection:
        loop = asyncio.get_running_loop()
        connect = loop.create_connection(_Connection, *address)
        _, connection = await asyncio.wait_for(connect, min(CONNECT_TIMEOUT, timeout))
        connection.busy = True
        return connection


def _request(url: str, body: bytes, headers: dict[str, str], provider: str) -> tuple[tuple[str, int], bytes]:
    """Where to connect, and the request's bytes: the path percent-encoded, credentials in the URL as Basic auth."""

    def refuse(what: str) -> ProviderConnectionError:  # never with the URL or a value: either may hold a secret
        return ProviderConnectionError(
            f"The request to {provider} can not be sent: {what}.",
            provider=provider,
            hint="check the provider's base_url, its api_key_env variable and its headers in hackkit.toml",
        )

    try:
        parts = urlsplit(url)
        port = 80 if parts.port is None else parts.port
        host = parts.hostname or "127.0.0.1"
        named = host if ":" in host else host.encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise refuse("its base_url has a bad host or port") from None
    authority = (f"[{host}]" if ":" in host else named) + ("" if port == 80 else f":{port}")
    try:
        path = quote(_lone_percent(parts.path or "/"), safe=PATH_SAFE)
        query = quote(_lone_percent(parts.query), safe=QUERY_SAFE)
        lines = [f"POST {path}{'?' + query if query else ''} HTTP/1.1", f"Host: {authority}"]
    except UnicodeError:
        raise refuse("its base_url's path can not be encoded") from None
    lines.append(f"Content-Length: {len(body)}")
    names = {name.lower() for name in headers}
    if "accept-encoding" not in names:
        lines.append("Accept-Encoding: gzip, deflate")
    if (parts.username or parts.password) and "authorization" not in names:
        user = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        lines.append("Authorization: Basic " + base64.b64encode(user.encode()).decode())
    for name, value in headers.items():
        if name.lower() in ("host", "content-length", "transfer-encoding"):
            continue  # this client frames the body itself
        if not TOKEN.fullmatch(name):
            raise refuse(f"the header name {name!r} is not a valid HTTP header name")
        if any(c in value for c in "\r\n\0"):
            raise refuse(f"the header {name!r} has a line break or NUL in its value (a trailing newline?)")
        lines.append(f"{name}: {value}")
    try:
        return (host, port), ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body
    except UnicodeError:
        raise refuse("a header value can not be encoded (a key read from a file in another encoding?)") from None


def _lone_percent(text: str) -> str:
    """A ``%`` that starts no escape, written as ``%25`` (what quote() would leave raw)."""
    return LONE_PERCENT.sub("%25", text)
