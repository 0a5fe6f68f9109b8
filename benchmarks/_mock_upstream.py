"""A fast mock LLM upstream in the OpenAI chat format, for the gateway benchmark and for tests.

Raw asyncio with httptools' parser (and uvloop when installed), no framework, so it serves well
over 8,000 requests/s on one core and stays far from being what a benchmark measures. Every
``POST .../chat/completions`` gets the same short answer: a JSON completion, or with
``"stream": true`` an SSE stream of a role chunk, one chunk per token, a finish chunk, a usage
chunk (the one ``stream_options.include_usage`` asks for; always sent) and ``data: [DONE]``.
``GET /stats`` tells how many completions it served, so a benchmark can check that every request
it counted reached the upstream. As a process:

    python benchmarks/_mock_upstream.py [--port 0]    # prints http://127.0.0.1:PORT/v1, then serves
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httptools

ANSWER_TOKENS = ("Hello", " from", " the", " mock", ".")
ANSWER = "".join(ANSWER_TOKENS)
USAGE = {"prompt_tokens": 12, "completion_tokens": len(ANSWER_TOKENS), "total_tokens": 12 + len(ANSWER_TOKENS)}
CREATED = 1_700_000_000


def completion_body(model: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-mock",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
            "usage": USAGE,
        },
        separators=(",", ":"),
    ).encode()


def stream_events(model: str) -> list[bytes]:
    """The SSE events of one streamed answer, each a complete ``data: ...`` line pair."""

    def chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
        choices = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]
        event: dict[str, Any] = {
            "id": "chatcmpl-mock",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": choices,
        }
        if usage:
            event["usage"] = usage
        return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": token}) for token in ANSWER_TOKENS]
    events += [chunk({}, finish="stop"), chunk({}, usage=USAGE), b"data: [DONE]\n\n"]
    return events


def http_response(status: str, content_type: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def chunked_response(content_type: str, pieces: list[bytes]) -> bytes:
    """One response with chunked transfer encoding, a chunk per piece, as streaming providers send."""
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    chunks = b"".join(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for piece in pieces)
    return head + chunks + b"0\r\n\r\n"


class Responses:
    """Every answer rendered once per model name, so serving one is a dictionary lookup."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, bool], bytes] = {}

    def completion(self, model: str, stream: bool) -> bytes:
        key = (model, stream)
        if key not in self._cache:
            if stream:
                self._cache[key] = chunked_response("text/event-stream", stream_events(model))
            else:
                self._cache[key] = http_response("200 OK", "application/json", completion_body(model))
        return self._cache[key]


class MockUpstream(asyncio.Protocol):
    """One connection: parse requests with httptools, answer from ``Responses``, keep the connection."""

    served = 0
    responses = Responses()

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.reply(http_response("400 Bad Request", "text/plain", b"bad request"))
            self.close()

    def on_message_begin(self) -> None:
        self.url, self.body = b"", []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.reply(self.answer(self.parser.get_method(), self.url.split(b"?", 1)[0]))
        if not self.parser.should_keep_alive():
            self.close()

    def answer(self, method: bytes, path: bytes) -> bytes:
        if method == b"POST" and path.endswith(b"/chat/completions"):
            return self.chat(b"".join(self.body))
        if path == b"/stats":
            return http_response("200 OK", "application/json", json.dumps({"requests": MockUpstream.served}).encode())
        if path in (b"/health", b"/v1/models"):
            models = {"object": "list", "data": [{"id": "bench-model", "object": "model"}]}
            return http_response("200 OK", "application/json", json.dumps(models).encode())
        return http_response("404 Not Found", "application/json", b'{"error":{"message":"not found"}}')

    def chat(self, raw: bytes) -> bytes:
        try:
            request = json.loads(raw)
        except ValueError:
            return http_response("400 Bad Request", "application/json", b'{"error":{"message":"body is not JSON"}}')
        MockUpstream.served += 1
        return self.responses.completion(str(request.get("model", "bench-model")), bool(request.get("stream")))

    def reply(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def serve(sock: socket.socket) -> None:
    """Serve on an already listening socket until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(MockUpstream, sock=sock, backlog=1024)
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    async with server:
        await stopped.wait()


def bind(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)  # before the URL is printed, so a client may connect at once
    return sock


def run_forever(port: int = 0) -> None:
    """Bind, print the base URL (a line on stdout), serve until SIGTERM or SIGINT."""
    sock = bind(port)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}/v1", flush=True)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(sock))
    else:
        uvloop.run(serve(sock))


@contextmanager
def mock_upstream_process(port: int = 0) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The mock in its own process: yields its base URL (``http://127.0.0.1:PORT/v1``) and the process."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--port", str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), process
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    run_forever(parser.parse_args().port)
