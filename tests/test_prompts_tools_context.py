"""Prompt templates, tool calling, history trimming, and provider plugins."""

from __future__ import annotations

import sys
import textwrap

import pytest

from hackkit.errors import ConfigError, ContextTooLongError
from hackkit.llm import Client, function_schema
from hackkit.llm.context import estimate_tokens, fit_messages
from hackkit.llm.prompts import load_prompt
from hackkit.llm.registry import available_providers, provider_factory, register_provider
from hackkit.testing import FakeProvider, enqueue, requests, tool_call
from hackkit.testing.wire import Reply


def write_prompt(folder, filename, version, body="Summarise: {{ text }}"):
    folder.mkdir(exist_ok=True)
    (folder / filename).write_text(
        textwrap.dedent(f"""\
        ---
        name: summarise
        version: {version}
        model: fake/echo
        params: {{temperature: 0.1}}
        system: You write for {{{{ audience }}}}.
        ---
        {body}
        """)
    )


def test_builtin_prompts_render_to_messages():
    rendered = load_prompt("few-shot").render(labels=["bug", "idea"], text="It crashes on start")
    roles = [m["role"] for m in rendered.messages]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user", "assistant", "user"]
    assert "bug, idea" in rendered.messages[0]["content"]
    assert rendered.messages[-1]["content"] == "It crashes on start"


def test_project_prompts_pin_versions_and_reach_the_ledger(isolated):
    write_prompt(isolated / "prompts", "summarise.v1.md", 1, "Old: {{ text }}")
    write_prompt(isolated / "prompts", "summarise.v2.md", 2)
    import hackkit.llm as llm

    client = llm.configure()
    newest = llm.prompt("summarise", text="the deck", audience="judges")
    assert newest.prompt.version == "2" and newest.messages[-1]["content"] == "Summarise: the deck"
    assert llm.prompt("summarise@1", text="x", audience="y").messages[-1]["content"] == "Old: x"
    response = llm.chat(newest)
    assert response.model == "echo"  # the prompt's own default model
    assert requests[-1].params == {"temperature": 0.1}
    row = client.ledger.recent(1)[0]
    assert (row["prompt_name"], row["prompt_version"]) == ("summarise", "2")
    with pytest.raises(ConfigError, match="no version '7'"):
        llm.prompt("summarise@7", text="x", audience="y")
    with pytest.raises(Exception, match="audience"):  # a missing variable is an error, not blank text
        llm.prompt("summarise", text="x")


def get_weather(city: str, unit: str = "celsius") -> dict:
    """Current weather for a city.

    Longer notes the model does not need.
    """
    return {"city": city, "temperature": 18 if unit == "celsius" else 64}


def test_function_schema_from_a_typed_function():
    schema = function_schema(get_weather)["function"]
    assert schema["name"] == "get_weather" and schema["description"] == "Current weather for a city."
    assert schema["parameters"]["required"] == ["city"]
    assert schema["parameters"]["properties"]["unit"] == {"default": "celsius", "type": "string"}


def test_run_tools_loops_to_a_final_answer_over_http(wire, make_client):
    server = wire("mistral")
    server.enqueue(Reply.tools(("get_weather", {"city": "Lyon"})), Reply.ok("It is 18 degrees in Lyon."))
    history = [{"role": "user", "content": "Weather in Lyon?"}]
    response = make_client(server).run_tools(history, [get_weather], "mistral/mistral-small-latest")
    assert response.text == "It is 18 degrees in Lyon."
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
    assert '"temperature": 18' in history[2]["content"]
    second = server.requests[-1].body["messages"]  # Mistral accepted the round trip (ids are 9 chars)
    assert second[2]["role"] == "tool" and len(second[2]["tool_call_id"]) == 9


def test_run_tools_reports_bad_arguments_to_the_model():
    enqueue(tool_call("get_weather", '{"town": "Lyon"}'), "Sorry, which city?")
    history = [{"role": "user", "content": "Weather?"}]
    Client(llm__model="fake/echo").run_tools(history, [get_weather])
    assert history[2]["content"].startswith("error: ValidationError")


def test_history_is_trimmed_to_the_context_window_keeping_system_and_last():
    system = {"role": "system", "content": "Be brief."}
    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " + "word " * 200} for i in range(40)
    ]
    fitted, cap = fit_messages([system, *turns], window=2000, reply_tokens=200)
    assert fitted[0] == system and fitted[-1] == turns[-1] and cap is None
    assert estimate_tokens(fitted) <= 1800 and len(fitted) < 20


def test_trimming_never_leaves_an_orphan_tool_result():
    messages = [
        {"role": "user", "content": "x" * 4000},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "1", "function": {"name": "f"}}]},
        {"role": "tool", "tool_call_id": "1", "content": "y" * 4000},
        {"role": "user", "content": "and now?"},
    ]
    fitted, _ = fit_messages(messages, window=600, reply_tokens=100)
    assert fitted[0]["role"] != "tool" and fitted[-1]["content"] == "and now?"


def test_a_long_chat_never_fails_on_length():
    client = Client(llm__model="fake/echo", llm__providers={"fake": {"context_window": 1000}})
    history = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " + "blah " * 300} for i in range(30)
    ]
    client.chat(history)
    assert estimate_tokens(requests[-1].messages) <= 1000
    assert requests[-1].messages[-1] == history[-1]  # the newest message goes whole


def test_a_message_longer_than_the_window_is_refused_never_sent_empty():
    client = Client(llm__model="fake/echo", llm__providers={"fake": {"context_window": 1000}})
    with pytest.raises(ContextTooLongError, match="reads at most 1,000") as caught:
        client.chat("blah " * 3000)
    assert "max_tokens" in caught.value.hint and not requests  # nothing was sent
    with pytest.raises(ContextTooLongError, match="of 200 tokens"):  # fits, but leaves no room to answer
        client.chat("word " * 768, max_tokens=200)
    assert not requests


def test_max_tokens_that_leave_too_little_room_cap_the_answer():
    client = Client(llm__model="fake/echo", llm__providers={"fake": {"context_window": 1000}})
    question = "word " * 560  # about 700 tokens
    client.chat(question, max_tokens=500)
    sent = requests[-1]
    assert sent.messages[-1]["content"] == question  # never cut
    assert 64 <= sent.params["max_tokens"] < 300


def test_context_windows_come_from_a_table_of_known_models():
    client = Client()
    window = lambda model: client.providers.get(model.partition("/")[0]).context_window(model.partition("/")[2])  # noqa: E731
    assert window("mistral/mistral-small-latest") == 128_000
    assert window("anthropic/claude-sonnet-4-5-20250929") == 200_000
    assert window("openai/gpt-4.1-mini") == 1_047_576
    assert window("ollama/llama3.2") == 4_096  # Ollama's default num_ctx, not the model's
    assert window("vllm/some-new-model") == 8_192  # unknown: small, so nothing is cut upstream
    configured = Client(llm__providers={"work": {"kind": "openai", "base_url": "http://x/v1", "context_window": 9_000}})
    assert configured.providers.get("work").context_window("anything") == 9_000


def test_a_third_party_provider_plugs_in_through_entry_points(tmp_path, monkeypatch):
    package = tmp_path / "site"
    (package / "hk_plugin").mkdir(parents=True)
    (package / "hk_plugin" / "__init__.py").write_text(
        "from hackkit.testing import FakeProvider\n\n"
        "class Shouty(FakeProvider):\n"
        "    def chat(self, request):\n"
        "        response = super().chat(request)\n"
        "        response.text = response.text.upper()\n"
        "        return response\n"
    )
    dist = package / "hk_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hk-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hackkit.providers]\nshouty = hk_plugin:Shouty\n")
    monkeypatch.syspath_prepend(str(package))
    assert "shouty" in available_providers()
    assert Client().chat("hello", "shouty/any").text == "ECHO: HELLO"
    monkeypatch.delitem(sys.modules, "hk_plugin")


def test_register_provider_in_code():
    register_provider("echo2", FakeProvider)
    assert provider_factory("echo2") is FakeProvider
    assert Client().chat("hi", "echo2/x").provider == "echo2"
