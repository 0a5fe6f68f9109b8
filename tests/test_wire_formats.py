"""Each wire format over real HTTP on loopback: answers, streams, tool calls, usage."""

from __future__ import annotations

import json

import pytest
from conftest import MODEL_FOR

from hackkit.testing.wire import Reply

FORMATS = ["openai", "mistral", "anthropic", "ollama"]


@pytest.mark.parametrize("kind", FORMATS)
def test_chat_returns_text_usage_and_cost(kind, wire, make_client):
    server = wire(kind)
    server.enqueue(Reply.ok("Paris is the capital of France.", usage=(12, 7)))
    response = make_client(server).chat("What is the capital of France?", MODEL_FOR[kind])
    assert response.text == "Paris is the capital of France."
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 7)
    assert response.finish_reason == "stop"
    assert response.provider == MODEL_FOR[kind].split("/")[0]
    if kind == "ollama":
        assert response.cost_usd == 0.0
    else:
        assert response.cost_usd is not None and response.cost_usd > 0


@pytest.mark.parametrize("kind", FORMATS)
def test_stream_yields_pieces_and_usage_at_the_end(kind, wire, make_client):
    server = wire(kind)
    server.enqueue(Reply.ok("one two three four", usage=(5, 4)))
    stream = make_client(server).chat("count", MODEL_FOR[kind], stream=True)
    pieces = list(stream)
    assert len(pieces) == 4 and "".join(pieces) == "one two three four"
    assert stream.response.text == "one two three four"
    assert (stream.response.usage.input_tokens, stream.response.usage.output_tokens) == (5, 4)


@pytest.mark.parametrize("kind", FORMATS)
@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls_come_back_parsed(kind, stream, wire, make_client):
    server = wire(kind)
    server.enqueue(Reply.tools(("get_weather", {"city": "Lyon", "unit": "celsius"})))
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    result = make_client(server).chat("Weather in Lyon?", MODEL_FOR[kind], tools=tools, stream=stream)
    response = result.response if stream else result
    assert response.finish_reason == "tool_calls"
    assert [(c.name, c.args) for c in response.tool_calls] == [("get_weather", {"city": "Lyon", "unit": "celsius"})]
    sent = server.requests[-1].body
    if kind == "anthropic":
        assert sent["tools"][0]["input_schema"]["properties"]["city"] == {"type": "string"}
    else:
        assert sent["tools"][0]["function"]["name"] == "get_weather"


def test_mistral_gets_nine_character_tool_ids_and_its_own_parameter_names(wire, make_client):
    server = wire("mistral")
    history = [
        {"role": "user", "content": "Weather in Lyon?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_9f8e7d6c5b4a-from-openai",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Lyon"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_9f8e7d6c5b4a-from-openai", "content": "18 C, sunny"},
    ]
    response = make_client(server).chat(history, "mistral/mistral-small-latest", seed=7, stream=True)
    assert response.text.startswith("Echo")  # the server answered instead of a 422
    sent = server.requests[-1].body
    call_id = sent["messages"][1]["tool_calls"][0]["id"]
    assert len(call_id) == 9 and call_id.isalnum()
    assert sent["messages"][2]["tool_call_id"] == call_id
    assert sent["random_seed"] == 7 and "seed" not in sent and "stream_options" not in sent


def test_anthropic_translation_of_system_tools_and_results(wire, make_client):
    server = wire("anthropic")
    history = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Lyon and Nice?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {"id": "a1", "type": "function", "function": {"name": "w", "arguments": '{"city": "Lyon"}'}},
                {"id": "a2", "type": "function", "function": {"name": "w", "arguments": '{"city": "Nice"}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "a1", "content": "18 C"},
        {"role": "tool", "tool_call_id": "a2", "content": "21 C"},
    ]
    make_client(server).chat(history, "anthropic/claude-haiku-4-5", max_tokens=50, stop="END")
    sent = server.requests[-1]
    assert sent.headers["x-api-key"] == "test-key" and sent.headers["anthropic-version"]
    assert sent.body["system"] == "You are terse."
    assert sent.body["max_tokens"] == 50 and sent.body["stop_sequences"] == ["END"]
    assert [m["role"] for m in sent.body["messages"]] == ["user", "assistant", "user"]
    assert sent.body["messages"][1]["content"][1] == {
        "type": "tool_use",
        "id": "a1",
        "name": "w",
        "input": {"city": "Lyon"},
    }
    assert [b["tool_use_id"] for b in sent.body["messages"][2]["content"]] == ["a1", "a2"]


def test_ollama_options_and_model_name(wire, make_client):
    server = wire("ollama", api_key=None)
    make_client(server).chat("hi", "ollama/llama3.2:1b", temperature=0.2, max_tokens=30)
    sent = server.requests[-1].body
    assert sent["model"] == "llama3.2:1b"
    assert sent["options"] == {"temperature": 0.2, "num_predict": 30}


@pytest.mark.parametrize(
    "kind,model",
    [
        ("openai", "openai/text-embedding-3-small"),
        ("mistral", "mistral/mistral-embed"),
        ("ollama", "ollama/nomic-embed-text"),
    ],
)
def test_embeddings(kind, model, wire, make_client):
    server = wire(kind, api_key=None if kind == "ollama" else "test-key")
    result = make_client(server).embed(["alpha", "beta gamma"], model)
    assert len(result.vectors) == 2 and all(len(v) == 3 for v in result.vectors)
    assert result.vectors[0] != result.vectors[1]
    if kind != "ollama":
        assert server.requests[-1].body["encoding_format"] == "float"


def test_anthropic_has_no_embeddings(wire, make_client):
    from hackkit.errors import InvalidRequestError

    server = wire("anthropic")
    with pytest.raises(InvalidRequestError, match="no embeddings"):
        make_client(server).embed("x", "anthropic/claude-haiku-4-5")


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["httpx", "aiohttp", "plainhttp"])
@pytest.mark.parametrize("kind", FORMATS)
async def test_async_chat_and_stream(kind, transport, wire, make_client):
    server = wire(kind)
    client = make_client(server, async_transport=transport)
    server.enqueue(Reply.ok("async answer"), Reply.ok("streamed async answer"))
    response = await client.achat("hi", MODEL_FOR[kind])
    assert response.text == "async answer"
    stream = await client.achat("hi", MODEL_FOR[kind], stream=True)
    assert "".join([piece async for piece in stream]) == "streamed async answer"
    assert (await stream.final()).usage.output_tokens > 0
    vectors = await client.aembed(["x"], "openai/text-embedding-3-small") if kind == "openai" else None
    assert vectors is None or len(vectors.vectors) == 1
    await client.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["httpx", "aiohttp", "plainhttp"])
async def test_async_failures_map_to_the_same_errors_on_either_transport(transport, wire, make_client):
    from hackkit.errors import AuthenticationError, ProviderConnectionError, ProviderTimeout, StreamError

    server = wire("openai")
    client = make_client(server, async_transport=transport, llm__router__max_retries=1)
    server.enqueue(Reply.error(429, "slow down", retry_after=0.05), Reply.ok("after the wait"))
    assert (await client.achat("hi", "openai/gpt-4o-mini")).text == "after the wait"
    server.enqueue(Reply.connection_reset(), Reply.connection_reset())
    with pytest.raises(ProviderConnectionError):
        await client.achat("hi", "openai/gpt-4o-mini")
    server.enqueue(Reply.slow(2), Reply.slow(2))
    with pytest.raises(ProviderTimeout):
        await client.achat("hi", "openai/gpt-4o-mini", timeout=0.2)
    server.enqueue(Reply.malformed_stream(), Reply.malformed_stream())
    with pytest.raises(StreamError, match="not JSON"):
        stream = await client.achat("hi", "openai/gpt-4o-mini", stream=True)
        [piece async for piece in stream]
    bad = make_client(wire("openai", api_key="other"), async_transport=transport)
    with pytest.raises(AuthenticationError, match="HTTP 401"):
        await bad.achat("hi", "openai/gpt-4o-mini")
    await client.aclose()


def test_structured_output_into_a_pydantic_model(wire, make_client):
    from pydantic import BaseModel

    class Team(BaseModel):
        name: str
        members: int

    server = wire("openai")
    server.enqueue(Reply.ok('{"name": "Rubber Ducks", "members": 4}'))
    response = make_client(server).chat("Invent a team", "openai/gpt-4o-mini", response_format=Team)
    assert response.parsed == Team(name="Rubber Ducks", members=4)
    sent = server.requests[-1].body["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"]["properties"]["members"]


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_structured_output_uses_a_forced_tool(stream, wire, make_client):
    from pydantic import BaseModel

    class Verdict(BaseModel):
        score: int

    server = wire("anthropic")
    server.enqueue(Reply.tools(("respond", {"score": 9})))
    result = make_client(server).chat("Rate it", "anthropic/claude-haiku-4-5", response_format=Verdict, stream=stream)
    response = result.response if stream else result
    assert response.parsed == Verdict(score=9) and not response.tool_calls
    assert server.requests[-1].body["tool_choice"] == {"type": "tool", "name": "respond"}


def test_gateway_provider_reads_the_workshop_variables(wire, make_client, monkeypatch):
    server = wire("openai", api_key="team-7-key")
    monkeypatch.setenv("HACKKIT_GATEWAY_URL", server.url)
    monkeypatch.setenv("HACKKIT_GATEWAY_KEY", "team-7-key")
    client = make_client()
    assert client.default_model() == "gateway/default"
    assert client.chat("hi").text == "Echo: hi"
    assert server.requests[-1].body["model"] == "default"
    assert json.loads(json.dumps(server.requests[-1].headers))["Authorization"] == "Bearer team-7-key"
