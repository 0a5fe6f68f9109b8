"""What goes wrong over the wire, and how retries, fallbacks and load balancing recover."""

from __future__ import annotations

import time

import pytest
from conftest import MODEL_FOR

from hackkit.errors import (
    AllAttemptsFailed,
    AuthenticationError,
    MissingKeyError,
    ProviderConnectionError,
    ProviderTimeout,
    RateLimitError,
    ServerError,
    StreamError,
    UnknownModelError,
)
from hackkit.testing.wire import Reply

FORMATS = ["openai", "mistral", "anthropic", "ollama"]


@pytest.mark.parametrize("kind", ["openai", "mistral", "anthropic"])
def test_bad_key_is_401_with_a_fix_naming_the_variable(kind, wire, make_client):
    server = wire(kind, api_key="the-real-key")
    client = make_client(server)
    with pytest.raises(AuthenticationError) as caught:
        client.chat("hi", MODEL_FOR[kind])
    assert caught.value.status == 401 and "invalid api key" in caught.value.message
    assert f"{kind.upper()}_API_KEY" in caught.value.hint
    assert len(server.requests) == 1  # never retried


def test_missing_key_names_the_variable(make_client):
    client = make_client()
    with pytest.raises(MissingKeyError) as caught:
        client.chat("hi", "mistral/mistral-small-latest")
    assert "MISTRAL_API_KEY" in str(caught.value) and "export MISTRAL_API_KEY" in caught.value.hint


@pytest.mark.parametrize("kind", FORMATS)
def test_429_honours_retry_after_then_succeeds(kind, wire, make_client):
    server = wire(kind)
    server.enqueue(Reply.error(429, "slow down", retry_after=0.4), Reply.ok("made it"))
    started = time.perf_counter()
    response = make_client(server).chat("hi", MODEL_FOR[kind])
    assert response.text == "made it"
    assert time.perf_counter() - started >= 0.4
    assert len(server.requests) == 2


def test_retry_after_too_long_moves_on_instead_of_hanging(wire, make_client):
    server = wire("openai")
    server.enqueue(Reply.error(429, "come back in an hour", retry_after=3600))
    started = time.perf_counter()
    with pytest.raises(RateLimitError) as caught:
        make_client(server).chat("hi", "openai/gpt-4o-mini")
    assert time.perf_counter() - started < 2
    assert caught.value.retry_after == 3600


def test_500s_are_retried_with_backoff_until_the_budget_runs_out(wire, make_client):
    server = wire("openai")
    server.enqueue(Reply.error(500), Reply.error(502), Reply.error(503))
    with pytest.raises(ServerError):
        make_client(server, llm__router__max_retries=2).chat("hi", "openai/gpt-4o-mini")
    assert len(server.requests) == 3
    server.enqueue(Reply.error(500))
    assert make_client(server).chat("hi", "openai/gpt-4o-mini").text == "Echo: hi"


@pytest.mark.parametrize("stream", [False, True])
def test_timeout(stream, wire, make_client):
    server = wire("openai")
    server.enqueue(Reply.slow(1.5), Reply.slow(1.5))
    client = make_client(server, llm__router__max_retries=1)
    started = time.perf_counter()
    with pytest.raises(ProviderTimeout, match="did not answer in time"):
        result = client.chat("hi", "openai/gpt-4o-mini", timeout=0.3, stream=stream)
        if stream:
            list(result)
    assert time.perf_counter() - started < 1.5
    assert len(server.requests) == 2


@pytest.mark.parametrize("kind", FORMATS)
def test_connection_reset_is_retried(kind, wire, make_client):
    server = wire(kind)
    server.enqueue(Reply.connection_reset())
    assert make_client(server).chat("hi", MODEL_FOR[kind]).text == "Echo: hi"
    assert len(server.requests) == 2


def test_connection_refused(make_client, monkeypatch):
    client = make_client(llm__providers={"openai": {"base_url": "http://127.0.0.1:9/v1"}}, llm__router__max_retries=0)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    with pytest.raises(ProviderConnectionError, match="Could not talk to openai"):
        client.chat("hi", "openai/gpt-4o-mini")


@pytest.mark.parametrize("kind", ["openai", "mistral", "anthropic"])
def test_malformed_sse_is_a_clear_stream_error(kind, wire, make_client):
    server = wire(kind)
    server.enqueue(*[Reply.malformed_stream()] * 3)
    with pytest.raises(StreamError, match="not JSON"):
        list(make_client(server).chat("hi", MODEL_FOR[kind], stream=True))


def test_reset_mid_stream_keeps_what_arrived_and_records_the_error(wire, make_client):
    server = wire("openai")
    server.enqueue(Reply.reset_mid_stream(after_chunks=3))
    client = make_client(server)
    received = []
    with pytest.raises(ProviderConnectionError):
        for piece in client.chat("hi", "openai/gpt-4o-mini", stream=True):
            received.append(piece)
    assert "".join(received) == "one two"  # the role chunk, then two words
    assert len(server.requests) == 1  # not retried once text reached the user
    row = client.ledger.recent(1)[0]
    assert row["status"] == "error" and row["stream"] == 1


@pytest.mark.parametrize("stream", [False, True])
def test_fallback_to_another_provider_recovers(stream, wire, make_client):
    primary, backup = wire("mistral"), wire("anthropic")
    primary.enqueue(*[Reply.error(503, "overloaded")] * 3)
    client = make_client(
        primary, backup, llm__router__fallbacks={"mistral/mistral-small-latest": ["anthropic/claude-haiku-4-5"]}
    )
    result = client.chat("hi", "mistral/mistral-small-latest", stream=stream)
    response = result.response if stream else result
    assert response.text == "Echo: hi" and response.provider == "anthropic"
    assert len(primary.requests) == 3 and len(backup.requests) == 1
    row = client.ledger.recent(1)[0]
    assert (row["model"], row["requested"], row["attempts"]) == (
        "anthropic/claude-haiku-4-5",
        "mistral/mistral-small-latest",
        4,
    )


def test_fallback_after_auth_error_and_every_attempt_reported(wire, make_client):
    primary, backup = wire("openai", api_key="other"), wire("mistral")
    backup.enqueue(Reply.error(500), Reply.error(500), Reply.error(500))
    client = make_client(primary, backup, llm__router__fallbacks={"*": ["mistral/mistral-small-latest"]})
    with pytest.raises(AllAttemptsFailed) as caught:
        client.chat("hi", "openai/gpt-4o-mini")
    models = [a.model for a in caught.value.attempts]
    assert models == ["openai/gpt-4o-mini"] + ["mistral/mistral-small-latest"] * 3
    assert "HTTP 401" in str(caught.value) and "HTTP 500" in str(caught.value)


def test_round_robin_spreads_calls_across_deployments(wire, make_client):
    a, b = wire("openai"), wire("openai")
    client = make_client(
        a,
        b,
        llm__deployments={
            "smart": {"models": ["openai/gpt-4o-mini", "openai1/gpt-4o-mini"], "strategy": "round_robin"}
        },
    )
    for _ in range(6):
        client.chat("hi", "smart")
    assert (len(a.requests), len(b.requests)) == (3, 3)


def test_least_latency_prefers_the_faster_deployment(wire, make_client):
    slow, fast = wire("openai"), wire("openai")
    client = make_client(
        slow,
        fast,
        llm__deployments={
            "smart": {"models": ["openai/gpt-4o-mini", "openai1/gpt-4o-mini"], "strategy": "least_latency"}
        },
    )
    slow.enqueue(*[Reply.slow(0.2)] * 10)
    for _ in range(8):
        client.chat("hi", "smart")
    assert len(fast.requests) >= 6 and len(slow.requests) <= 2


def test_cheapest_strategy_orders_by_the_price_table(wire, make_client):
    mistral, openai = wire("mistral"), wire("openai")
    client = make_client(
        mistral,
        openai,
        llm__deployments={"any": {"models": ["openai/gpt-4o", "mistral/mistral-small-latest"], "strategy": "cheapest"}},
    )
    assert client.chat("hi", "any").provider == "mistral"
    mistral.enqueue(*[Reply.error(500)] * 3)
    assert client.chat("hi", "any").provider == "openai"  # the dearer one as the fallback


def test_aliases_and_unknown_models(wire, make_client):
    server = wire("openai")
    client = make_client(server, llm__aliases={"fast": "openai/gpt-4o-mini"}, llm__model="fast")
    assert client.chat("hi").model == "gpt-4o-mini"
    with pytest.raises(UnknownModelError, match="not an alias"):
        client.chat("hi", "gpt-4o")
    with pytest.raises(UnknownModelError, match="No provider is called 'nosuch'"):
        client.chat("hi", "nosuch/model")


def test_model_ids_split_at_the_first_slash(wire, make_client, monkeypatch):
    server = wire("openai")
    monkeypatch.setenv("OPENROUTER_API_KEY", "test-key")
    client = make_client(llm__providers={"openrouter": {"base_url": server.url}})
    client.chat("hi", "openrouter/meta-llama/llama-3.1-8b-instruct")
    assert server.requests[-1].body["model"] == "meta-llama/llama-3.1-8b-instruct"
