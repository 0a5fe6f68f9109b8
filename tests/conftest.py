"""Fixtures: an isolated project folder, wire-format servers on loopback, clients wired to them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hackkit.config import load_settings
from hackkit.llm import Client
from hackkit.llm.keys import environment_variables
from hackkit.testing import reset as reset_fake
from hackkit.testing.wire import WireServer

pytest_plugins = ["leaks"]  # the run fails if a test leaves a process running

# Which provider name, and which key variable, each wire format is reached through.
PROVIDER_FOR = {
    "openai": ("openai", "OPENAI_API_KEY"),
    "mistral": ("mistral", "MISTRAL_API_KEY"),
    "anthropic": ("anthropic", "ANTHROPIC_API_KEY"),
    "ollama": ("ollama", None),
}
MODEL_FOR = {
    "openai": "openai/gpt-4o-mini",
    "mistral": "mistral/mistral-small-latest",
    "anthropic": "anthropic/claude-haiku-4-5",
    "ollama": "ollama/llama3.2",
}


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One cache of de-quantised local models for the whole run: SmolLM2 is de-quantised once (~30 s)."""
    return os.environ.get("HACKKIT_TEST_CACHE_DIR") or str(tmp_path_factory.mktemp("model-cache"))


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_cache: str) -> Iterator[Path]:
    """Each test runs in a fresh project folder, with no provider key or hackkit setting from the shell."""
    for variable in environment_variables():
        monkeypatch.delenv(variable, raising=False)
    project = tmp_path / "project"
    project.mkdir()
    (project / "hackkit.toml").write_text("schema_version = 1\n")
    monkeypatch.chdir(project)
    monkeypatch.setenv("HACKKIT_CACHE_DIR", model_cache)
    reset_fake()
    yield project
    import hackkit.llm

    if hackkit.llm._default is not None:
        hackkit.llm._default.close()
        hackkit.llm._default = None


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def wire() -> Iterator[Callable[..., WireServer]]:
    """Start wire-format servers: ``wire("anthropic")``; all stop when the test ends."""
    servers: list[WireServer] = []

    def start(kind: str = "openai", api_key: str | None = "test-key") -> WireServer:
        server = WireServer(kind, api_key=None if kind == "ollama" else api_key).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def make_client(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Client]]:
    """A client whose providers point at the given servers: ``make_client(server, ...)``."""
    clients: list[Client] = []

    def build(*servers: WireServer, **overrides: Any) -> Client:
        providers: dict[str, Any] = overrides.pop("llm__providers", {})
        for server in servers:
            name, key_variable = PROVIDER_FOR[server.kind]
            if name in providers:  # a second server of one kind gets its own provider name
                name = f"{name}{len(providers)}"
                providers[name] = (
                    {"kind": server.kind, "base_url": server.url, "api_key_env": key_variable}
                    if key_variable
                    else {"kind": server.kind, "base_url": server.url}
                )
            else:
                providers[name] = {"base_url": server.url}
            if key_variable:
                monkeypatch.setenv(key_variable, "test-key")
        overrides.setdefault("llm__router__backoff", 0.01)
        transport = overrides.pop("async_transport", None)
        client = Client(load_settings(isolated, llm__providers=providers, **overrides), async_transport=transport)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright; fails under CI=true when it is missing.

    Module scope: sync Playwright keeps an event loop running, which must end before the async
    tests of other modules start theirs.
    """
    from browser import ARGS, CHROMIUM, require_chromium

    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
