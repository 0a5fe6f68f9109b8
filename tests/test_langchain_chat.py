"""ChatHackkit beyond the standard tests: what goes over the wire, routing and the ledger underneath,
a LangGraph agent, and the errors a user gets for what it cannot take."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel

from hackkit.errors import ConfigError, InvalidRequestError, ServerError
from hackkit.integrations import ChatHackkit
from hackkit.llm import default_client
from hackkit.testing import enqueue, requests, tool_call
from hackkit.testing.wire import Reply

pytestmark = pytest.mark.anyio

WIRE_MODELS = {
    "openai": "openai/gpt-4o-mini",
    "mistral": "mistral/mistral-small-latest",
    "anthropic": "anthropic/claude-haiku-4-5",
    "ollama": "ollama/llama3.2",
}


@tool
def room_of(event: str) -> str:
    """The room where an event takes place."""
    return {"demo": "B12"}.get(event, "unknown")


class Joke(BaseModel):
    setup: str
    punchline: str


# -- tool calls both ways, over every wire format -------------------------------------------


@pytest.mark.parametrize("kind", sorted(WIRE_MODELS))
def test_tool_calls_round_trip_over_every_wire_format(kind, wire, make_client):
    server = wire(kind)
    model = ChatHackkit(model=WIRE_MODELS[kind], client=make_client(server)).bind_tools([room_of], tool_choice="any")
    server.enqueue(Reply.tools(("room_of", {"event": "demo"})), Reply.tools(("room_of", {"event": "demo"})))
    called = model.invoke("Where is the demo?")
    streamed = None
    for chunk in model.stream("Where is the demo?"):
        streamed = chunk if streamed is None else streamed + chunk
    for message in (called, streamed):
        assert [(c["name"], c["args"]) for c in message.tool_calls] == [("room_of", {"event": "demo"})]
        assert message.tool_calls[0]["id"]
    answer = model.invoke(["Where is the demo?", called, room_of.invoke(called.tool_calls[0])])
    assert answer.response_metadata["model_name"] == WIRE_MODELS[kind] and answer.tool_calls == []
    history = json.dumps(server.requests[-1].body)  # the tool's result went back, with the call's id
    assert "B12" in history and (kind == "ollama" or called.tool_calls[0]["id"] in history)  # Ollama's has no ids


def test_the_openai_request_carries_tools_choice_and_history(wire, make_client):
    server = wire("openai")
    model = ChatHackkit(model="openai/gpt-4o-mini", client=make_client(server))
    model.bind_tools([room_of], tool_choice="any").invoke("Where is the demo?")
    body = server.requests[-1].body
    assert body["tool_choice"] == "required"
    assert body["tools"][0]["function"]["name"] == "room_of"
    assert body["tools"][0]["function"]["parameters"]["properties"] == {"event": {"type": "string"}}
    model.bind_tools([room_of], tool_choice="room_of").invoke("x")
    assert server.requests[-1].body["tool_choice"] == {"type": "function", "function": {"name": "room_of"}}
    history = [
        SystemMessage("Be brief."),
        HumanMessage("Where is the demo?", name="ada"),
        AIMessage(
            [{"type": "thinking", "thinking": "look it up", "signature": "x"}, {"type": "text", "text": "Let me see."}],
            tool_calls=[{"name": "room_of", "args": {"event": "demo"}, "id": "call_7", "type": "tool_call"}],
        ),
        ToolMessage("B12", tool_call_id="call_7", name="room_of"),
    ]
    model.invoke(history, temperature=0.2, stop=["\n\n"])
    body = server.requests[-1].body
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "name": "ada", "content": "Where is the demo?"},
        {
            "role": "assistant",
            "content": "Let me see.",  # the thinking block is not sent back
            "tool_calls": [
                {"type": "function", "id": "call_7", "function": {"name": "room_of", "arguments": '{"event": "demo"}'}}
            ],
        },
        {"role": "tool", "name": "room_of", "tool_call_id": "call_7", "content": "B12"},
    ]
    assert (body["temperature"], body["stop"]) == (0.2, ["\n\n"])


def test_a_tool_call_with_broken_arguments_is_an_invalid_tool_call():
    enqueue(tool_call("room_of", '{"event": "de'))
    message = ChatHackkit(model="fake/echo").bind_tools([room_of]).invoke("Where is the demo?")
    assert message.tool_calls == []
    invalid = message.invalid_tool_calls[0]
    assert (invalid["name"], invalid["args"]) == ("room_of", '{"event": "de')  # kept as the model wrote it


# -- structured output ----------------------------------------------------------------------


def test_structured_output_sends_the_schema_and_parses_the_answer(wire, make_client):
    server = wire("openai")
    model = ChatHackkit(model="openai/gpt-4o-mini", client=make_client(server))
    server.enqueue(Reply.ok('{"setup": "Why?", "punchline": "Because."}'))
    assert model.with_structured_output(Joke).invoke("A joke") == Joke(setup="Why?", punchline="Because.")
    response_format = server.requests[-1].body["response_format"]
    assert response_format["type"] == "json_schema" and response_format["json_schema"]["name"] == "Joke"
    assert response_format["json_schema"]["schema"]["required"] == ["setup", "punchline"]


def test_structured_output_by_function_calling_forces_the_tool():
    enqueue(tool_call("Joke", '{"setup": "Why?", "punchline": "Because."}'))
    joke = ChatHackkit(model="fake/echo").with_structured_output(Joke, method="function_calling").invoke("A joke")
    assert joke == Joke(setup="Why?", punchline="Because.")
    assert requests[-1].tool_choice == {"type": "function", "function": {"name": "Joke"}}


def test_include_raw_keeps_an_answer_that_does_not_parse():
    enqueue("I would rather not.")
    result = ChatHackkit(model="fake/echo").with_structured_output(Joke, include_raw=True).invoke("A joke")
    assert result["raw"].content == "I would rather not." and result["parsed"] is None
    assert result["parsing_error"] is not None


# -- the client underneath: routing, fallbacks, retries, the ledger -------------------------


def test_a_langgraph_agent_gets_the_routers_fallback_and_the_ledger(wire, make_client):
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode, tools_condition

    server = wire("openai")
    server.enqueue(Reply.error(503), Reply.error(503))  # the primary model is down for both turns
    client = make_client(server, llm__router__max_retries=0, llm__router__fallbacks={"*": ["fake/echo"]})
    model = ChatHackkit(model="openai/gpt-4o-mini", client=client).bind_tools([room_of])
    graph = StateGraph(MessagesState)
    graph.add_node("agent", lambda state: {"messages": [model.invoke(state["messages"])]})
    graph.add_node("tools", ToolNode([room_of]))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    enqueue(tool_call("room_of", '{"event": "demo"}'), "The demo is in room B12.")

    result = graph.compile().invoke({"messages": [("user", "Where is the demo?")]})

    question, called, ran, answer = result["messages"]
    assert question.content == "Where is the demo?"
    assert called.tool_calls[0]["args"] == {"event": "demo"} and ran.content == "B12"
    assert answer.content == "The demo is in room B12."
    assert answer.response_metadata["model_name"] == "fake/echo" and answer.usage_metadata["total_tokens"] > 0
    assert requests[-1].messages[-1] == {"role": "tool", "name": "room_of", "tool_call_id": "call_1", "content": "B12"}
    rows = client.ledger.recent(2)
    assert [(r["model"], r["requested"], r["attempts"]) for r in rows] == [("fake/echo", "openai/gpt-4o-mini", 2)] * 2


def test_an_alias_is_resolved_by_the_router(make_client):
    client = make_client(llm__aliases={"fast": "fake/echo"})
    model = ChatHackkit(model="fast", client=client)
    message = model.invoke("hi")
    assert message.response_metadata["model_name"] == "fake/echo"
    assert model._get_ls_params()["ls_model_name"] == "fast"


def test_the_default_model_and_client_come_from_the_project(isolated):
    (isolated / "hackkit.toml").write_text('schema_version = 1\n[llm]\nmodel = "fake/echo"\n')
    message = ChatHackkit().invoke("hi")
    assert message.content == "Echo: hi" and message.response_metadata["provider"] == "fake"
    assert default_client().ledger.recent(1)[0]["response"] == "Echo: hi"


@pytest.mark.parametrize(("retries", "answered"), [(0, False), (1, True)])
def test_max_retries_sets_the_routers_retries(isolated, wire, monkeypatch, retries, answered):
    server = wire("openai")
    (isolated / "hackkit.toml").write_text(
        f'schema_version = 1\n[llm.providers.openai]\nbase_url = "{server.url}"\n[llm.router]\nbackoff = 0.01\n'
    )
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    server.enqueue(Reply.error(500), Reply.ok("after a retry"))
    model = ChatHackkit(model="openai/gpt-4o-mini", max_retries=retries)
    try:
        if answered:
            assert model.invoke("hi").content == "after a retry"
        else:
            with pytest.raises(ServerError):
                model.invoke("hi")
    finally:
        model.close()


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: object) -> None:
        self.tokens.append(token)


async def test_streaming_hands_tokens_to_callbacks_sync_and_async():
    model = ChatHackkit(model="fake/echo", streaming=True)
    handler = Tokens()
    assert model.invoke("one two", config={"callbacks": [handler]}).content == "Echo: one two"
    assert [t for t in handler.tokens if t] == ["Echo:", " one", " two"]  # LangChain adds an empty last one
    handler.tokens.clear()
    assert (await model.ainvoke("three", config={"callbacks": [handler]})).content == "Echo: three"
    assert [t for t in handler.tokens if t] == ["Echo:", " three"]


# -- what it refuses, and how ---------------------------------------------------------------


def test_api_key_is_refused_with_where_keys_go():
    with pytest.raises(ConfigError) as raised:
        ChatHackkit(model="openai/gpt-4o-mini", api_key="sk-...")
    assert "environment" in raised.value.hint and ".env" in raised.value.hint


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ChatHackkit(model="fake/echo", top_p=0.9), "ChatHackkit has no parameter 'top_p'"),
        (lambda: ChatHackkit(client=default_client(), max_retries=1), "both client= and max_retries="),
        (lambda: ChatHackkit(model="fake/echo").bind_tools([room_of], tool_choice="weather"), "names no bound tool"),
        (lambda: ChatHackkit(model="fake/echo").with_structured_output(Joke, method="xml"), "no method 'xml'"),
    ],
)
def test_bad_arguments_get_an_error_that_says_what_to_do(build, message):
    with pytest.raises(InvalidRequestError) as raised:
        build()
    assert message in raised.value.message and raised.value.hint


def test_model_kwargs_reach_the_provider(wire, make_client):
    server = wire("openai")
    ChatHackkit(model="openai/gpt-4o-mini", client=make_client(server), model_kwargs={"top_p": 0.9}).invoke("hi")
    assert server.requests[-1].body["top_p"] == 0.9


def test_importing_the_package_imports_no_langchain_and_says_what_to_install():
    quiet = "import hackkit.integrations, sys; print('langchain_core' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", quiet], capture_output=True, text=True).stdout.strip() == "False"
    missing = (
        "import sys; sys.modules['langchain_core'] = None\n"
        "from hackkit.errors import MissingDependencyError\n"
        "try:\n    from hackkit.integrations import ChatHackkit\n"
        "except MissingDependencyError as error:\n    print(error.hint)"
    )
    hint = subprocess.run([sys.executable, "-c", missing], capture_output=True, text=True).stdout
    assert "pip install langchain-core" in hint
