"""The gateway's own HTTP/1.1 client for plain-HTTP upstreams, against raw servers on loopback.

Each server here writes its answer byte for byte, so the framings an upstream may choose
(Content-Length, chunked, the connection's end, gzip) and its misbehaviours (closing an idle
keep-alive connection, going silent, sending garbage) reach the client as they would from a real
vLLM or Ollama. What the wire formats and the gateway do with this transport is tested in
``test_wire_formats.py`` and ``test_gateway.py``, which run on it too.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
from collections.abc import Awaitable, Callable

import pytest

from hackkit.errors import ProviderConnectionError, ProviderTimeout
from hackkit.llm.providers._plainhttp import PlainHttpTransport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]


class RawServer:
    """A loopback server: ``handler(reader, writer, n)`` answers the n-th request, returns whether to keep going."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests = 0

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1/chat/completions"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
                self.requests += 1
                if not await self.handler(reader, writer, self.requests):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def answer(body: bytes, *headers: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", *headers]
    if not any(h.lower().startswith(("content-length", "transfer-encoding", "connection: close")) for h in headers):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def post(transport: PlainHttpTransport, url: str, timeout: float = 5.0):
    return await transport.post(url, b'{"x": 1}', {"Content-Type": "application/json"}, timeout, "upstream")


def exchange(handler: Handler, count: int) -> tuple[RawServer, list]:
    """``count`` requests in turn to a raw server answering with ``handler``: the server and the replies."""

    async def main():
        transport = PlainHttpTransport()
        server = RawServer(handler)
        async with server as url:
            replies = [await post(transport, url) for _ in range(count)]
        await transport.aclose()
        return server, replies

    return asyncio.run(main())


def test_keep_alive_connections_are_reused_and_every_framing_is_read_whole():
    bodies = [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']

    async def handler(reader, writer, n):
        if n == 1:
            writer.write(answer(bodies[0]))
        elif n == 2:
            chunked = b"4\r\n" + bodies[1][:4] + b"\r\n4\r\n" + bodies[1][4:] + b"\r\n0\r\n\r\n"
            writer.write(answer(chunked, "Transfer-Encoding: chunked"))
        else:
            writer.write(
                answer(
                    gzip.compress(bodies[2]),
                    "Content-Encoding: gzip",
                    f"Content-Length: {len(gzip.compress(bodies[2]))}",
                )
            )
        await writer.drain()
        return True

    server, replies = exchange(handler, len(bodies))
    assert [r.body for r in replies] == bodies
    assert replies[2].headers["content-encoding"] == "gzip"  # headers are case-insensitive
    assert (server.connections, server.requests) == (1, 3)


def test_an_answer_ended_by_closing_the_connection_is_read_whole():
    async def handler(reader, writer, n):
        writer.write(answer(b'{"until": "close"}', "Connection: close"))
        await writer.drain()
        return False

    async def main():
        transport = PlainHttpTransport()
        async with RawServer(handler) as url:
            reply = await post(transport, url)
            again = await post(transport, url)  # the closed connection is not reused
        await transport.aclose()
        return reply, again

    reply, again = asyncio.run(main())
    assert reply.body == again.body == b'{"until": "close"}'


def test_a_connection_the_server_closed_while_idle_is_replaced_without_an_error():
    async def handler(reader, writer, n):
        writer.write(answer(b'{"ok": true}'))
        await writer.drain()
        return False  # closes after each answer, without saying so in a header

    async def main():
        transport = PlainHttpTransport()
        server = RawServer(handler)
        async with server as url:
            first = await post(transport, url)
            await asyncio.sleep(0.05)  # the close reaches the client while the connection is idle
            second = await post(transport, url)
        await transport.aclose()
        return server, first, second

    server, *replies = asyncio.run(main())
    assert [r.body for r in replies] == [b'{"ok": true}'] * 2
    assert (server.connections, server.requests) == (2, 2)


def test_streamed_lines_arrive_whole_across_reads_and_a_stream_left_early_closes_its_connection():
    async def handler(reader, writer, n):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b'data: {"a"', b": 1}\n\nda", b'ta: {"a": 2}\n\n'):
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            await writer.drain()
            await asyncio.sleep(0.01)
        if n == 1:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        await reader.read()  # the second stream never ends: wait for the client to leave
        gone.set()
        return False

    gone: asyncio.Event

    async def main():
        nonlocal gone
        gone = asyncio.Event()
        transport = PlainHttpTransport()
        async with RawServer(handler) as url:
            async with transport.stream(url, b"{}", {}, 5.0, "upstream") as reply:
                whole = [line async for line in reply.lines()]
            async with transport.stream(url, b"{}", {}, 5.0, "upstream") as reply:
                lines = reply.lines()
                first = await anext(lines)
                await lines.aclose()
            await asyncio.wait_for(gone.wait(), 5)  # the upstream saw the client leave
        await transport.aclose()
        return whole, first

    whole, first = asyncio.run(main())
    assert whole == ['data: {"a": 1}', "", 'data: {"a": 2}', ""]
    assert first == 'data: {"a": 1}'


def test_silence_refusal_and_garbage_are_the_providers_timeout_and_connection_errors():
    async def silent(reader, writer, n):
        await reader.read()  # says nothing until the client gives up
        return False

    async def garbage(reader, writer, n):
        writer.write(b"this is not HTTP\r\n\r\n")
        await writer.drain()
        return False

    async def main():
        transport = PlainHttpTransport()
        outcomes = []
        async with RawServer(silent) as url:
            with pytest.raises(ProviderTimeout, match="upstream did not answer in time"):
                await post(transport, url, timeout=0.2)
            outcomes.append("timeout")
        async with RawServer(garbage) as url:
            with pytest.raises(ProviderConnectionError, match="malformed HTTP answer"):
                await post(transport, url)
            outcomes.append("garbage")
        with pytest.raises(ProviderConnectionError, match="Could not talk to upstream"):
            await post(transport, url)  # that server is gone now: refused
        outcomes.append("refused")
        await transport.aclose()
        return outcomes

    assert asyncio.run(main()) == ["timeout", "garbage", "refused"]


def test_https_goes_through_aiohttp():
    sent = []

    class Secure:
        async def post(self, url, body, headers, timeout, provider):
            sent.append(url)
            return "aiohttp's reply"

        async def aclose(self):
            pass

        def close(self):
            pass

    async def main():
        transport = PlainHttpTransport()
        transport.secure = Secure()
        reply = await transport.post("https://api.mistral.ai/v1/chat/completions", b"{}", {}, 5.0, "mistral")
        await transport.aclose()
        return reply

    assert asyncio.run(main()) == "aiohttp's reply"
    assert sent == ["https://api.mistral.ai/v1/chat/completions"]


def test_a_connection_is_not_reused_after_its_keep_alive_time_or_after_bytes_nobody_asked_for(monkeypatch):
    import hackkit.llm.providers._plainhttp as plainhttp

    unasked = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra"

    async def handler(reader, writer, n):
        writer.write(answer(f'{{"n": {n}}}'.encode()) + (unasked if n == 2 else b""))  # 2: glued to the answer
        await writer.drain()
        if n == 3:
            await asyncio.sleep(0.02)
            writer.write(unasked)  # 3: arrives while the connection is idle in the pool
            await writer.drain()
        return True

    async def main():
        transport = PlainHttpTransport()
        server = RawServer(handler)
        replies = []
        async with server as url:
            replies.append(await post(transport, url))
            monkeypatch.setattr(plainhttp, "KEEPALIVE_S", 0.0)
            await asyncio.sleep(0.01)
            replies.append(await post(transport, url))  # the first connection idled too long: a second one
            monkeypatch.setattr(plainhttp, "KEEPALIVE_S", 30.0)
            replies.append(await post(transport, url))  # the second had more than its answer: a third
            await asyncio.sleep(0.1)
            replies.append(await post(transport, url))  # the third got bytes while idle: a fourth
        await transport.aclose()
        return server, replies

    server, replies = asyncio.run(main())
    assert [(r.status, r.body) for r in replies] == [(200, f'{{"n": {n}}}'.encode()) for n in (1, 2, 3, 4)]
    assert (server.connections, server.requests) == (4, 4)


def test_interim_answers_are_skipped_and_the_real_one_is_this_requests():
    async def handler(reader, writer, n):
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.write(answer(f'{{"n": {n}}}'.encode(), "X-Answer: real"))
        await writer.drain()
        return True

    server, replies = exchange(handler, 3)
    assert [(r.status, r.body, r.headers.get("x-answer")) for r in replies] == [
        (200, f'{{"n": {n}}}'.encode(), "real") for n in (1, 2, 3)
    ]
    assert "link" not in replies[0].headers  # the interim answer's headers are not the answer's
    assert server.connections == 1


def test_what_goes_on_the_wire_is_escaped_and_credentials_become_basic_auth():
    seen: list[bytes] = []

    class Recording(RawServer):
        async def _serve(self, reader, writer):
            head = await reader.readuntil(b"\r\n\r\n")
            seen.append(head)
            writer.write(answer(b"{}"))
            await writer.drain()
            writer.close()

    async def main():
        transport = PlainHttpTransport()
        async with Recording(None) as url:
            base = url.removesuffix("/v1/chat/completions")
            with_user = base.replace("http://", "http://team%40a:s3cret@")
            await transport.post(with_user + "/v1/modèle x?q=a b", b"{}", {"X-Note": "équipe"}, 5.0, "upstream")
            with pytest.raises(ProviderConnectionError, match="line break") as split:
                await transport.post(url, b"{}", {"Authorization": "Bearer sk\r\nX-Injected: yes"}, 5.0, "upstream")
            assert "Bearer" not in str(split.value)
            with pytest.raises(ProviderConnectionError, match="not a valid HTTP header name"):
                await transport.post(url, b"{}", {"Bad Name": "x"}, 5.0, "upstream")
            await transport.post(url + "/100%/x%zz%41", b"{}", {"Transfer-Encoding": "chunked"}, 5.0, "upstream")
        await transport.aclose()

    asyncio.run(main())
    head = seen[0].decode("utf-8")
    assert head.startswith("POST /v1/mod%C3%A8le%20x?q=a%20b HTTP/1.1\r\n")
    assert "\r\nHost: 127.0.0.1:" in head and "s3cret" not in head.split("Authorization")[0]
    assert "\r\nAuthorization: Basic dGVhbUBhOnMzY3JldA==\r\n" in head  # team@a:s3cret
    assert "\r\nX-Note: équipe\r\n" in head
    assert len(seen) == 2  # the refused headers never left
    assert seen[1].startswith(b"POST /v1/chat/completions/100%25/x%25zz%41 HTTP/1.1\r\n")
    assert b"transfer-encoding" not in seen[1].lower()  # the client frames the body itself


def test_a_broken_gzip_body_or_a_reset_mid_answer_is_a_connection_error():
    async def broken_gzip(reader, writer, n):
        writer.write(answer(b"not gzip at all", "Content-Encoding: gzip", "Content-Length: 15"))
        await writer.drain()
        return True

    async def reset_mid_answer(reader, writer, n):
        writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"half": ')
        await writer.drain()
        linger = struct.pack("ii", 1, 0)  # close with a TCP reset, not a clean end
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        writer.transport.abort()
        return False

    async def main():
        transport = PlainHttpTransport()
        async with RawServer(broken_gzip) as url:
            with pytest.raises(ProviderConnectionError):
                await post(transport, url)
        async with RawServer(reset_mid_answer) as url:
            with pytest.raises(ProviderConnectionError):
                await post(transport, url)
        with pytest.raises(ProviderConnectionError, match="bad host or port") as bad:
            await post(transport, "http://admin:s3cret@127.0.0.1:99999/v1")
        assert "s3cret" not in str(bad.value)  # the message reaches teams in a 503: never the URL
        await transport.aclose()

    asyncio.run(main())


def test_bytes_waiting_unread_on_an_idle_connection_never_become_the_next_answer():
    """The loop was busy when a stray answer arrived: the socket is checked before the connection is reused."""
    import threading
    import time as clock

    listener = socket.create_server(("127.0.0.1", 0))
    port, served = listener.getsockname()[1], []

    def serve() -> None:  # a thread, so it answers while the client's loop is blocked
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            served.append(conn)
            threading.Thread(target=answer_each, args=(conn, len(served)), daemon=True).start()

    def answer_each(conn: socket.socket, number: int) -> None:
        data = b""
        while True:
            while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1].startswith(b'{"x": 1}'):
                try:
                    chunk = conn.recv(65536)
                except OSError:  # closed when the test ends
                    return
                if not chunk:
                    return
                data += chunk
            data = data.split(b'{"x": 1}', 1)[1]
            conn.sendall(answer(f'{{"connection": {number}}}'.encode()))
            if number == 1:
                clock.sleep(0.01)
                conn.sendall(answer(b'{"GHOST": true}'))  # an answer nobody asked for

    threading.Thread(target=serve, daemon=True).start()

    async def main():
        transport = PlainHttpTransport()
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        first = await post(transport, url)
        clock.sleep(0.05)  # the loop is busy elsewhere: the ghost lands in the socket, unread
        second = await post(transport, url)
        await transport.aclose()
        return first, second

    try:
        first, second = asyncio.run(main())
    finally:
        listener.close()
        for conn in served:
            conn.close()
    assert first.body == b'{"connection": 1}'
    assert second.body == b'{"connection": 2}'  # a new connection, not the ghost


def test_connections_idle_past_the_keep_alive_time_are_closed_even_below_a_busy_one(monkeypatch):
    import hackkit.llm.providers._plainhttp as plainhttp

    open_connections = []

    async def handler(reader, writer, n):
        writer.write(answer(b"{}"))
        await writer.drain()
        return True

    async def main():
        transport = PlainHttpTransport()
        server = RawServer(handler)
        async with server as url:
            await asyncio.gather(*(post(transport, url) for _ in range(5)))  # a burst: five connections
            monkeypatch.setattr(plainhttp, "KEEPALIVE_S", 0.2)
            for _ in range(4):  # steady traffic keeps reusing the newest
                await asyncio.sleep(0.1)
                await post(transport, url)
            open_connections.append(sum(len(idle) for idle in transport.pool().idle.values()))
        await transport.aclose()
        return server

    server = asyncio.run(main())
    assert server.connections == 5 and open_connections == [1]


def test_what_an_upstream_may_send_is_read_as_aiohttp_reads_it():
    import zlib

    two_members = gzip.compress(b"first ") + gzip.compress(b"second")
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = raw.compress(b"raw deflate") + raw.flush()
    answers = {
        1: answer(two_members, "Content-Encoding: gzip", f"Content-Length: {len(two_members)}"),
        2: answer(raw_deflate, "Content-Encoding: deflate", f"Content-Length: {len(raw_deflate)}"),
        3: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE",  # junk after a whole answer
        4: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nConnection: close\r\n\r\nuntil the end",
    }

    async def handler(reader, writer, n):
        writer.write(answers[n])
        await writer.drain()
        return n not in (3, 4)

    _, replies = exchange(handler, len(answers))
    assert [r.body for r in replies] == [b"first second", b"raw deflate", b"ok", b"until the end"]
