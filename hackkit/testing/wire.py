"""A loopback HTTP server that speaks the providers' wire formats, for tests and benchmarks.

    with WireServer("anthropic") as server:
        server.enqueue(Reply.error(429, retry_after=1), Reply.ok("hello"))
        ...point the anthropic provider's base_url at server.url...

Replies are scripted once and rendered in the server's dialect: ``openai``, ``mistral``,
``anthropic`` or ``ollama``, streamed or not, with tool calls, usage and the provider's own error
bodies. With no reply queued the server echoes the last user message. Every request is kept in
``server.requests`` so tests can assert what went over the wire.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from hackkit.testing._dialects import DIALECTS

KINDS = ("openai", "mistral", "anthropic", "ollama")
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
MISTRAL_FIELDS = {
    "model",
    "messages",
    "temperature",
    "top_p",
    "max_tokens",
    "stream",
    "stop",
    "random_seed",
    "response_format",
    "tools",
    "tool_choice",
    "presence_penalty",
    "frequency_penalty",
    "n",
    "safe_prompt",
    "parallel_tool_calls",
    "prediction",
    "prompt_mode",
}


def send_json(
    handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None
) -> None:
    """One JSON reply with its length, from any ``http.server`` handler (the wire servers, the test Hub)."""
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


@dataclass
class Reply:
    """One scripted answer. Build with the class methods."""

    text: str | None = None  # None: echo the last user message
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200
    message: str = ""
    retry_after: float | None = None
    delay: float = 0.0
    reset: bool = False  # close the connection without a response
    reset_after_chunks: int | None = None  # stream this many chunks, then close
    malformed: bool = False  # stream an event that is not JSON
    usage: tuple[int, int] | None = None
    chunk_delay: float = 0.0  # seconds between a stream's events

    @classmethod
    def ok(cls, text: str, usage: tuple[int, int] | None = None) -> Reply:
        return cls(text=text, usage=usage)

    @classmethod
    def tools(cls, *calls: tuple[str, dict[str, Any]], text: str = "") -> Reply:
        return cls(text=text, tool_calls=list(calls))

    @classmethod
    def error(cls, status: int, message: str = "", retry_after: float | None = None) -> Reply:
        return cls(status=status, message=message or f"scripted error {status}", retry_after=retry_after)

    @classmethod
    def slow(cls, seconds: float, text: str | None = None) -> Reply:
        return cls(text=text, delay=seconds)

    @classmethod
    def slow_stream(cls, text: str, chunk_delay: float = 0.1) -> Reply:
        """A stream that takes its time: for clients that hang up halfway (see ``server.abandoned``)."""
        return cls(text=text, chunk_delay=chunk_delay)

    @classmethod
    def connection_reset(cls) -> Reply:
        return cls(reset=True)

    @classmethod
    def reset_mid_stream(cls, after_chunks: int = 2, text: str = "one two three four five") -> Reply:
        return cls(text=text, reset_after_chunks=after_chunks)

    @classmethod
    def malformed_stream(cls) -> Reply:
        return cls(malformed=True)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # a burst of clients connecting at once (benchmarks, crowd tests) must not be reset

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (timeouts, resets the tests cause) is not worth a traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class WireServer:
    def __init__(self, kind: str = "openai", api_key: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        self.kind = kind
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self.abandoned = 0  # streams whose client hung up before the end
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start the server first"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The base URL a provider's ``base_url`` takes."""
        root = f"http://127.0.0.1:{self.port}"
        return root if self.kind == "ollama" else root + "/v1"

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._queue.popleft() if self._queue else Reply()

    def start(self) -> WireServer:
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> WireServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_state: WireServer

    def setup(self) -> None:
        super().setup()  # headers and body go out in separate writes: without this, Nagle adds 40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    # -- routing -------------------------------------------------------------------------

    def do_GET(self) -> None:
        state = self.server_state
        if not self._authorised():
            return
        if self.path.endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
        elif self.path == "/api/tags":
            self._json(200, {"models": [{"name": "llama3.2:latest"}]})
        else:
            self._error(404, f"no route {self.path} on the {state.kind} test server")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._error(400, "body is not JSON")
            return
        state = self.server_state
        state.requests.append(Recorded(self.path, dict(self.headers.items()), body))
        if not self._authorised():
            return
        routes = {
            "openai": {"/v1/chat/completions": self._chat, "/v1/embeddings": self._embed},
            "mistral": {"/v1/chat/completions": self._chat, "/v1/embeddings": self._embed},
            "anthropic": {"/v1/messages": self._chat},
            "ollama": {"/api/chat": self._chat, "/api/embed": self._embed},
        }[state.kind]
        route = routes.get(self.path)
        if route is None:
            self._error(404, f"no route {self.path} on the {state.kind} test server")
            return
        route(body)

    def _authorised(self) -> bool:
        key = self.server_state.api_key
        if key is None:
            return True
        given = self.headers.get("x-api-key") or self.headers.get("Authorization", "").removeprefix("Bearer ")
        if given != key:
            self._error(401, "invalid api key")
            return False
        return True

    # -- chat ----------------------------------------------------------------------------

    def _chat(self, body: dict[str, Any]) -> None:
        state = self.server_state
        if state.kind == "mistral" and (problem := _mistral_problem(body)):
            self._error(422, problem)
            return
        reply = state.next_reply()
        if reply.delay:
            time.sleep(reply.delay)
        if reply.reset:
            self._reset()
            return
        if reply.status >= 400:
            self._error(reply.status, reply.message, reply.retry_after)
            return
        text = reply.text if reply.text is not None else "Echo: " + _last_user_text(body, state.kind)
        usage = reply.usage or (max(1, len(json.dumps(body.get("messages", []))) // 4), max(1, len(text) // 4))
        dialect = DIALECTS[state.kind](body.get("model", "test-model"), text, reply.tool_calls, usage)
        if not body.get("stream"):
            self._json(200, dialect.complete())
            return
        events = [] if reply.malformed else dialect.stream(include_usage=_wants_usage(body, state.kind))
        self._stream(events, reply)

    def _embed(self, body: dict[str, Any]) -> None:
        reply = self.server_state.next_reply()
        if reply.status >= 400:
            self._error(reply.status, reply.message, reply.retry_after)
            return
        texts = body.get("input", [])
        texts = [texts] if isinstance(texts, str) else texts
        vectors = [[(hash(t) % 1000) / 1000, len(t) / 100, 1.0] for t in texts]
        if self.server_state.kind == "ollama":
            self._json(200, {"model": body.get("model"), "embeddings": vectors, "prompt_eval_count": len(texts)})
        else:
            self._json(
                200,
                {
                    "object": "list",
                    "model": body.get("model"),
                    "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
                    "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
                },
            )

    # -- writing -------------------------------------------------------------------------

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        send_json(self, status, payload, headers)

    def _error(self, status: int, message: str, retry_after: float | None = None) -> None:
        kind = self.server_state.kind
        error_type = ERROR_TYPES.get(status, "api_error")
        body: Any = {
            "openai": {"error": {"message": message, "type": error_type, "code": None}},
            "mistral": {"object": "error", "message": message, "type": error_type, "param": None, "code": str(status)},
            "anthropic": {"type": "error", "error": {"type": error_type, "message": message}},
            "ollama": {"error": message},
        }[kind]
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        self._json(status, body, headers)

    def _stream(self, events: list[bytes], reply: Reply) -> None:
        ndjson = self.server_state.kind == "ollama"
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson" if ndjson else "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if reply.malformed:
            self._chunk(b"data: {this is not json\n\n")
        try:
            for i, event in enumerate(events):
                if reply.reset_after_chunks is not None and i >= reply.reset_after_chunks:
                    self.wfile.flush()
                    self._reset()
                    return
                if reply.chunk_delay:
                    time.sleep(reply.chunk_delay)
                self._chunk(event)
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            with self.server_state._lock:
                self.server_state.abandoned += 1
            self.close_connection = True

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _reset(self) -> None:
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _last_user_text(body: dict[str, Any], kind: str) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "".join(p.get("text", "") for p in content or [] if isinstance(p, dict))
    return ""


def _wants_usage(body: dict[str, Any], kind: str) -> bool:
    return kind != "openai" or bool((body.get("stream_options") or {}).get("include_usage"))


def _mistral_problem(body: dict[str, Any]) -> str | None:
    """What Mistral's API rejects with HTTP 422 that OpenAI's accepts."""
    extra = set(body) - MISTRAL_FIELDS
    if extra:
        return f"Extra inputs are not permitted: {sorted(extra)}"
    for message in body.get("messages", []):
        ids = [c.get("id", "") for c in message.get("tool_calls") or []]
        if message.get("tool_call_id"):
            ids.append(message["tool_call_id"])
        for tool_id in ids:
            if not re.fullmatch(r"[a-zA-Z0-9]{9}", tool_id):
                return f"Tool call id was {tool_id} but must be a-z, A-Z, 0-9, with a length of 9."
    return None


def main(argv: list[str] | None = None) -> None:
    """``python -m hackkit.testing.wire --kind openai``: serve until interrupted; prints the URL."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--kind", choices=KINDS, default="openai")
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args(argv)
    server = WireServer(args.kind, api_key=args.api_key).start()
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
