"""The behaviour both demo backends share, without a browser."""

from __future__ import annotations

from hackkit.config import load_settings
from hackkit.errors import ServerError
from hackkit.testing import enqueue, requests
from hackkit.ui.viewmodel import OFFLINE_BANNER, POLITE_ERROR, DemoApp


def app_for(project, toml: str = "") -> DemoApp:
    (project / "hackkit.toml").write_text('[llm]\nmodel = "fake/echo"\n' + toml)
    return DemoApp(load_settings(project))


def test_chat_without_documents_keeps_the_conversation_and_caps_tokens(isolated):
    session = app_for(isolated, "[ui]\nmax_tokens = 64\n").session()
    replies = list(session.send("first question"))
    assert replies[-1].done and replies[-1].text == "Echo: first question" and "fake/echo" in replies[-1].stats
    assert len(replies) > 2  # streamed: several partial states before the last
    list(session.send("second"))
    assert requests[-1].params["max_tokens"] == 64
    assert [m["content"] for m in requests[-1].messages] == ["first question", "Echo: first question", "second"]


def test_an_empty_question_and_gibberish_get_an_answer_not_a_crash(isolated):
    session = app_for(isolated).session()
    assert list(session.send("   "))[-1].text == "Please type a question."
    assert list(session.send("qwxz zzkj ??!"))[-1].done


def test_provider_errors_become_a_polite_message(isolated):
    session = app_for(isolated, "[llm.router]\nmax_retries = 0\n").session()
    enqueue(ServerError("upstream exploded with a stack trace"))
    reply = list(session.send("hello"))[-1]
    assert reply.text == POLITE_ERROR and reply.error and "stack trace" not in reply.text


def test_each_visitor_has_a_request_budget(isolated):
    app = app_for(isolated, "[ui]\nrate_limit_per_minute = 2\n")
    visitor, other = app.session(), app.session()
    assert not list(visitor.send("one"))[-1].error and not list(visitor.send("two"))[-1].error
    limited = list(visitor.send("three"))[-1]
    assert limited.error and "2 questions a minute" in limited.text
    assert not list(other.send("one"))[-1].error  # budgets are per visitor


def test_side_by_side_reports_latency_tokens_and_cost(isolated):
    a, b = app_for(isolated).compare("Name a duck", "fake/echo", "fake/other")
    assert (a.model, b.model) == ("fake/echo", "fake/other")
    assert a.text == b.text == "Echo: Name a duck" and a.tokens > 0 and "$0.00000" in a.stats


def test_offline_banner_only_for_the_local_model(isolated):
    assert app_for(isolated).banner is None
    (isolated / "hackkit.toml").write_text("schema_version = 1\n")
    assert DemoApp(load_settings(isolated)).banner == OFFLINE_BANNER


def test_a_missing_key_is_named_with_the_model_that_answers_meanwhile(isolated, monkeypatch):
    toml = '[llm]\nmodel = "mistral/mistral-small-latest"\n[llm.router.fallbacks]\n"*" = ["local/smollm2"]\n'
    (isolated / "hackkit.toml").write_text(toml)
    app = DemoApp(load_settings(isolated))
    assert app.banner is not None
    assert "MISTRAL_API_KEY is not set" in app.banner and "local/smollm2 answers" in app.banner
    assert app.offline_model() == "local/smollm2"  # the warm-up loads it before the first question
    monkeypatch.setenv("MISTRAL_API_KEY", "a-key")
    keyed = DemoApp(load_settings(isolated))
    assert keyed.banner is None and keyed.offline_model() is None


def test_the_ui_prompt_leads_plain_chats(isolated):
    (isolated / "prompts").mkdir()
    (isolated / "prompts" / "assistant.md").write_text(
        "---\nname: assistant\nversion: 1\nsystem: You are the Owl app's assistant.\n"
        "examples:\n  - user: hi\n    assistant: Hoot!\n---\n{{ question }}\n"
    )
    session = app_for(isolated, '[ui]\nprompt = "assistant"\n').session()
    list(session.send("who are you?"))
    list(session.send("and again?"))
    contents = [(m["role"], m["content"]) for m in requests[-1].messages]
    assert contents == [
        ("system", "You are the Owl app's assistant."),
        ("user", "hi"),
        ("assistant", "Hoot!"),
        ("user", "who are you?"),
        ("assistant", "Echo: who are you?"),
        ("user", "and again?"),
    ]
