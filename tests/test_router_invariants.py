"""The router never hides a failure: who answered, why a fallback did, and that every failure counts.

Providers are real HTTP servers on loopback (or real provider plugins); the CLI runs in-process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from hackkit.cli import cli
from hackkit.errors import HackkitError, ProviderTimeout, UnknownModelError
from hackkit.llm import Client
from hackkit.llm.registry import register_provider, split_model_id
from hackkit.testing import FakeProvider
from hackkit.testing import requests as fake_requests
from hackkit.testing.wire import Reply

FALL_BACK_TO_FAKE = {"*": ["fake/echo"]}


def project_toml(folder: Path, body: str) -> None:
    (folder / "hackkit.toml").write_text("schema_version = 1\n" + body)


def test_a_rejected_key_falls_back_visibly_in_the_response_the_ledger_and_the_cli(wire, isolated, monkeypatch):
    server = wire("openai", api_key="the-real-key")
    monkeypatch.setenv("OPENAI_API_KEY", "a-wrong-key")
    project_toml(
        isolated,
        f'[llm.providers.openai]\nbase_url = "{server.url}"\n[llm.router]\nfallbacks = {{"*" = ["fake/echo"]}}\n',
    )
    response = Client().chat("hi", "openai/gpt-4o-mini")
    assert response.model_id == "fake/echo" and response.fallback and response.requested == "openai/gpt-4o-mini"
    assert (
        response.fallback_note
        == "openai/gpt-4o-mini could not answer (key rejected (HTTP 401)), so fake/echo answered."
    )

    result = CliRunner().invoke(cli, ["chat", "-m", "openai/gpt-4o-mini", "hello"])
    assert result.exit_code == 0 and "Echo: hello" in result.stdout
    assert "note: openai/gpt-4o-mini could not answer (key rejected (HTTP 401))" in result.stderr

    logs = CliRunner().invoke(cli, ["logs", "-n", "1"]).stdout
    assert "fake/echo fallback for openai/gpt-4o-mini" in logs
    assert "failed first: openai/gpt-4o-mini: key rejected (HTTP 401)" in logs


def test_a_missing_key_is_named_when_the_fallback_answers(isolated):
    project_toml(isolated, '[llm.router]\nfallbacks = {"*" = ["fake/echo"]}\n')
    response = Client().chat("hi", "mistral/mistral-small-latest")
    assert response.fallback and "MISTRAL_API_KEY is not set" in response.fallback_note
    row = Client().ledger.recent(1)[0]
    assert row["fallback"] == 1 and json.loads(row["failures"])[0]["reason"] == "MISTRAL_API_KEY is not set"


class Broken(FakeProvider):
    """A provider plugin with a bug: what `local` raises when its model file is gone, or a KeyError."""

    def chat(self, request):  # type: ignore[no-untyped-def]
        if request.model == "oserror":
            raise OSError("[Errno 2] No such file or directory: 'model.safetensors'")
        raise KeyError("choices")


@pytest.mark.parametrize("model", ["broken/oserror", "broken/keyerror"])
def test_any_exception_from_a_provider_is_a_failed_attempt_that_falls_back(model):
    register_provider("broken", Broken)
    client = Client(llm__router__fallbacks=FALL_BACK_TO_FAKE)
    response = client.chat("hi", model)
    assert response.text == "Echo: hi" and response.fallback
    failure = json.loads(client.ledger.recent(1)[0]["failures"])[0]
    assert failure["model"] == model and failure["error"] == "UnexpectedProviderError"
    with pytest.raises(HackkitError, match="failed unexpectedly") as caught:  # no fallback: a hackkit error
        Client().chat("hi", model)
    assert caught.value.hint and Client().ledger.recent(1)[0]["status"] == "error"


def test_least_latency_sends_a_dead_member_to_the_back(wire, make_client, monkeypatch):
    server = wire("openai")
    dead = {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "OPENAI_API_KEY"}
    client = make_client(
        server,
        llm__providers={"dead": dead},
        llm__deployments={"pair": {"models": ["dead/gpt-4o-mini", "openai/gpt-4o-mini"], "strategy": "least_latency"}},
        llm__router__max_retries=1,
    )
    first = client.chat("one", "pair")
    assert first.model_id == "openai/gpt-4o-mini" and {a.model for a in first.failures} == {"dead/gpt-4o-mini"}
    second = client.chat("two", "pair")
    assert second.model_id == "openai/gpt-4o-mini" and second.failures == []  # the dead one is no longer first
    monkeypatch.setattr("hackkit.llm.router.COOLDOWN_S", 0.0)  # without the cool-down, its slow record keeps it back
    assert client.chat("three", "pair").failures == []


def test_a_frozen_upstream_is_not_retried_when_a_fallback_can_answer(wire, make_client):
    server = wire("openai")
    server.enqueue(Reply.slow(3), Reply.slow(3), Reply.slow(3))
    client = make_client(server, llm__router__timeout=0.3, llm__router__fallbacks=FALL_BACK_TO_FAKE)
    response = client.chat("hi", "openai/gpt-4o-mini")
    assert response.model_id == "fake/echo" and len(server.requests) == 1
    assert isinstance(response.failures[0].error, ProviderTimeout)


def test_the_deadline_bounds_the_whole_call_across_the_chain(wire, make_client):
    slow, spare = wire("openai"), wire("anthropic")
    slow.enqueue(Reply.slow(3))
    client = make_client(
        slow,
        spare,
        llm__router__timeout=5,
        llm__router__deadline=0.3,
        llm__router__fallbacks={"openai/gpt-4o-mini": ["anthropic/claude-haiku-4-5"]},
    )
    with pytest.raises(HackkitError, match="deadline") as caught:
        client.chat("hi", "openai/gpt-4o-mini")
    assert len(slow.requests) == 1 and spare.requests == []  # the first attempt got what was left of 0.3 s
    assert "raise [llm.router] deadline" in caught.value.hint


def test_the_cli_says_what_it_is_waiting_for(wire, isolated, monkeypatch):
    server = wire("openai")
    server.enqueue(Reply.slow(0.8))
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setattr("hackkit.cli.chat.WAITING_NOTICE_S", 0.2)
    project_toml(isolated, f'[llm.providers.openai]\nbase_url = "{server.url}"\n')
    result = CliRunner().invoke(cli, ["chat", "--no-stream", "-m", "openai/gpt-4o-mini", "hi"])
    assert result.exit_code == 0, result.stderr
    assert "still waiting for openai/gpt-4o-mini..." in result.stderr


def test_the_repl_keeps_the_conversation_when_a_turn_fails(isolated):
    project_toml(isolated, '[llm]\nmodel = "fake/echo"\n')
    lines = "first question\n/model mistral/mistral-small-latest\nsecond\n/model fake/echo\nthird\n"
    result = CliRunner().invoke(cli, ["chat"], input=lines)
    assert result.exit_code == 0, result.stderr
    assert "MISTRAL_API_KEY" in result.stderr and "the conversation is kept" in result.stderr
    sent = [m["content"] for m in fake_requests[-1].messages]
    assert sent == ["first question", "Echo: first question", "third"]


def test_a_fallbacks_answer_is_never_served_from_the_cache_as_the_primarys(wire, make_client):
    server = wire("openai")
    server.enqueue(Reply.error(500), Reply.error(500), Reply.error(500), Reply.ok("the primary's own answer"))
    client = make_client(server, llm__router__fallbacks=FALL_BACK_TO_FAKE, llm__router__max_retries=2)
    assert client.chat("same", "openai/gpt-4o-mini", cache=True).model_id == "fake/echo"
    again = client.chat("same", "openai/gpt-4o-mini", cache=True)  # the primary is back
    assert (again.text, again.model_id, again.cached) == ("the primary's own answer", "openai/gpt-4o-mini", False)
    third = client.chat("same", "openai/gpt-4o-mini", cache=True)
    assert third.cached and third.text == "the primary's own answer" and len(server.requests) == 4
    assert client.chat("same", "fake/echo", cache=True).cached  # the fallback's answer is its own


class Answer(BaseModel):
    city: str


def test_native_structured_output_follows_the_provider_kind_not_its_name(wire, make_client, monkeypatch):
    server = wire("openai")
    server.enqueue(Reply.ok('{"city": "Paris"}'))
    monkeypatch.setenv("WORK_KEY", "test-key")
    client = make_client(llm__providers={"work": {"kind": "openai", "base_url": server.url, "api_key_env": "WORK_KEY"}})
    response = client.chat("Capital of France?", "work/gpt-4o-mini", response_format=Answer)
    body = server.requests[-1].body
    assert response.parsed == Answer(city="Paris")
    assert body["response_format"]["type"] == "json_schema"
    assert not any(m["role"] == "system" for m in body["messages"])  # no schema pasted into the prompt


def test_a_client_is_a_context_manager_and_refuses_calls_once_closed(wire, make_client):
    from hackkit.errors import ClientClosedError

    with Client(llm__model="fake/echo") as client:
        assert client.chat("hi").text == "Echo: hi"
    with pytest.raises(ClientClosedError, match="was closed"):
        client.chat("again")
    with pytest.raises(ClientClosedError):
        client.embed("again", "fake/embed")


@pytest.mark.anyio
async def test_closing_a_client_closes_its_async_connections(wire, make_client):
    server = wire("openai")
    client = make_client(server)
    await client.achat("hi", "openai/gpt-4o-mini")
    connection = client.providers.get("openai").async_client()
    async with client:
        pass
    assert connection.is_closed


@pytest.mark.parametrize("model", ["mistral/", "/mistral-small", "mistral/ ", "mis tral/x"])
def test_a_model_id_without_a_name_is_refused_before_anything_is_sent(model, wire, make_client):
    server = wire("mistral")
    client = make_client(server)
    with pytest.raises(UnknownModelError):
        client.chat("hi", model)
    assert server.requests == []


def test_paths_and_gateway_names_are_still_model_ids():
    assert split_model_id("local//abs/path/model") == ("local", "/abs/path/model")
    assert split_model_id("local/./relative") == ("local", "./relative")
    assert split_model_id("gateway/team-default") == ("gateway", "team-default")
    assert split_model_id("openrouter/meta-llama/llama-3.1-8b") == ("openrouter", "meta-llama/llama-3.1-8b")


def test_doctor_fails_on_a_default_model_that_chat_would_refuse(isolated):
    project_toml(isolated, '[llm]\nmodel = "nope/x"\n')
    result = CliRunner().invoke(cli, ["doctor", "--offline"])
    assert result.exit_code == 1
    assert "!!  default model: nope/x: No provider is called 'nope'" in result.stdout
