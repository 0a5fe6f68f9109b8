"""What the gateway benchmark sends its load to: the mock itself, the hackkit gateway, LiteLLM's proxy.

Each target is a context manager that starts what it needs on free loopback ports (the gateway's
PostgreSQL too), yields an ``Endpoint`` (where to post, with which key and model name, and which
processes count as the server and as its database) and stops it all on the way out.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _litellm_proxy as litellm
from _mock_upstream import ANSWER
from _postgres import postgres_server
from _services import Service, free_port, started, wait_healthy

GATEWAY_MODEL = "bench"
GATEWAY_TOML = """schema_version = 1
[llm.providers.mock]
kind = "compatible"
base_url = "{mock_url}"
[gateway]
default_model = "bench"
[gateway.models]
bench = {{ model = "mock/bench-model", input_price = 0.1, output_price = 0.3 }}
[gateway.keys]
max_tokens = 64
"""


class TargetFailed(RuntimeError):
    """A target could not start or answered wrongly; the benchmark reports it and goes on."""


@dataclass
class Endpoint:
    target: str  # direct, hackkit, litellm
    store: str  # "-" (none), sqlite, postgres
    workers: int
    url: str  # the chat completions URL
    key: str
    model: str
    server: list[int]  # processes whose CPU and memory are the server's
    database: list[int] = field(default_factory=list)  # the database's processes, counted too

    @property
    def label(self) -> str:
        return f"{self.target} {self.store} w{self.workers}"


@dataclass
class Mock:
    url: str  # base URL, .../v1
    service: Service

    def served(self) -> int:
        """How many completions the mock has answered so far."""
        with urllib.request.urlopen(self.url.removesuffix("/v1") + "/stats", timeout=5) as answer:
            return int(json.load(answer)["requests"])


def request_body(model: str, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "Say hello in five words."}]}
    body["max_tokens"] = 16
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


@contextlib.contextmanager
def mock_upstream(folder: Path) -> Iterator[Mock]:
    script = Path(__file__).with_name("_mock_upstream.py")
    port = free_port()
    with started("mock", [sys.executable, str(script), "--port", str(port)], folder / "mock.log") as service:
        url = f"http://127.0.0.1:{port}/v1"
        wait_healthy(service, url.removesuffix("/v1") + "/health", timeout=30)
        yield Mock(url, service)


@contextlib.contextmanager
def direct(mock: Mock) -> Iterator[Endpoint]:
    """The mock itself: the baseline every other target adds to."""
    yield Endpoint("direct", "-", 1, mock.url + "/chat/completions", "none", "bench-model", [mock.service.process.pid])


def gateway_env() -> dict[str, str]:
    """The caller's environment without provider keys or gateway settings that would change what is measured."""
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("HACKKIT_")}
    return {**clean, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}


def create_key(folder: Path, db: str) -> str:
    """``hackkit gateway keys create --team bench --budget 1000000 --json``: the new key's secret."""
    command = [sys.executable, "-m", "hackkit", "gateway", "keys", "create", "--team", "bench"]
    command += ["--budget", "1000000", "--json", "--db", db]
    done = subprocess.run(command, cwd=folder, env=gateway_env(), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        raise TargetFailed(f"`hackkit gateway keys create --db {db}` failed: {last[0]}\n{done.stderr[-1500:]}")
    return str(json.loads(done.stdout.strip().splitlines()[-1])["key"])


@contextlib.contextmanager
def hackkit_gateway(mock: Mock, folder: Path, workers: int, store: str, pg_bin: Path | None) -> Iterator[Endpoint]:
    """``hackkit gateway serve`` in a folder of its own, on SQLite or on a fresh PostgreSQL."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hackkit.toml").write_text(GATEWAY_TOML.format(mock_url=mock.url))
    with contextlib.ExitStack() as stack:
        database: list[int] = []
        if store == "postgres":
            if pg_bin is None:
                raise TargetFailed("no PostgreSQL found (pass --pg-bin, or --skip-postgres)")
            postgres = stack.enter_context(postgres_server(pg_bin, folder / "postgres.log"))
            db, database = postgres.url, postgres.service.roots
        else:
            db = str(folder / "gateway.sqlite")
        key = create_key(folder, db)
        port = free_port()
        command = [sys.executable, "-m", "hackkit", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(workers), "--db", db]
        log = folder / "gateway.log"
        service = stack.enter_context(started("hackkit gateway", command, log, env=gateway_env(), cwd=folder))
        wait_healthy(service, f"http://127.0.0.1:{port}/health", timeout=120)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        yield Endpoint("hackkit", store, workers, url, key, GATEWAY_MODEL, [service.process.pid], database)


@contextlib.contextmanager
def litellm_proxy(mock: Mock, folder: Path, workers: int, python: Path) -> Iterator[Endpoint]:
    """LiteLLM's proxy with one model on the mock, a master key, no database, callbacks off."""
    folder.mkdir(parents=True, exist_ok=True)
    config = litellm.write_config(folder, mock.url)
    port = free_port()
    command = litellm.proxy_command(python, config, port, workers)
    env = litellm.quiet_env()
    with started("litellm proxy", command, folder / "litellm.log", env=env, cwd=folder) as service:
        wait_healthy(service, f"http://127.0.0.1:{port}/health/liveliness", timeout=600)  # slow on a busy machine
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        yield Endpoint("litellm", "-", workers, url, litellm.MASTER_KEY, litellm.MODEL_NAME, [service.process.pid])


def check_answers(endpoint: Endpoint) -> None:
    """One plain and one streamed request: both must carry the mock's answer (the stream, its usage and end)."""
    plain = post(endpoint, request_body(endpoint.model, stream=False))
    content = json.loads(plain)["choices"][0]["message"]["content"]
    if content != ANSWER:
        raise TargetFailed(f"{endpoint.label} answered {content!r}, not the mock's {ANSWER!r}")
    streamed = post(endpoint, request_body(endpoint.model, stream=True)).decode()
    events = [line.removeprefix("data: ") for line in streamed.splitlines() if line.startswith("data: ")]
    if not events or events[-1] != "[DONE]":
        raise TargetFailed(f"{endpoint.label}: the stream did not end with data: [DONE]:\n{streamed[-500:]}")
    chunks = [json.loads(event) for event in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))
    if text != ANSWER or not any(c.get("usage") for c in chunks):
        raise TargetFailed(f"{endpoint.label} streamed {text!r} (usage: {any(c.get('usage') for c in chunks)})")


def post(endpoint: Endpoint, body: dict[str, Any]) -> bytes:
    headers = {"Authorization": f"Bearer {endpoint.key}", "Content-Type": "application/json"}
    request = urllib.request.Request(endpoint.url, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return bytes(answer.read())
    except urllib.error.HTTPError as error:
        raise TargetFailed(f"{endpoint.label} answered {error.code}: {error.read()[:500]!r}") from error
