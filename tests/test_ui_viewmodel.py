"""The behaviour both demo backends share, without a browser."""

from __future__ import annotations

import subprocess
import sys
import threading

from browser import free_port

from hackkit.config import load_settings
from hackkit.errors import ServerError
from hackkit.testing import enqueue, requests
from hackkit.ui.viewmodel import OFFLINE_BANNER, POLITE_ERROR, DemoApp


def visible(markdown: str) -> str:
    """What a reader sees of ``markdown``: rendered by a CommonMark renderer, tags dropped."""
    import html
    import re

    from markdown_it import MarkdownIt

    return html.unescape(re.sub(r"<[^>]+>", "", MarkdownIt("commonmark").render(markdown))).strip()


FAKE_RAG = '[rag]\nembedding_model = "fake/hash"\nmin_score = -1\n'  # instant embeddings; every chunk is a source


def app_for(project, toml: str = "") -> DemoApp:
    (project / "hackkit.toml").write_text('[llm]\nmodel = "fake/echo"\n' + toml)
    return DemoApp(load_settings(project))


def ingested(project, toml: str = "") -> DemoApp:
    """An app over one handbook page that `hackkit ingest` indexed (fake embeddings) in its own process.

    The app opens the index fresh, as a server started after an ingest does: nothing of Chroma open yet.
    """
    (project / "hackkit.toml").write_text('[llm]\nmodel = "fake/echo"\n' + FAKE_RAG + toml)
    (project / "data").mkdir(exist_ok=True)
    (project / "data" / "handbook.md").write_text("# Demo\n\nThe demo starts at 17:00 in room B12.\n")
    subprocess.run([sys.executable, "-m", "hackkit", "ingest"], cwd=project, check=True, capture_output=True)
    return DemoApp(load_settings(project))


def test_chat_without_documents_keeps_the_conversation_and_caps_tokens(isolated):
    session = app_for(isolated, "[ui]\nmax_tokens = 64\n").session()
    replies = list(session.send("first question"))
    assert replies[-1].done and replies[-1].text == "Echo: first question" and "fake/echo" in replies[-1].stats
    assert len(replies) > 2  # streamed: several partial states before the last
    list(session.send("second"))
    assert requests[-1].params["max_tokens"] == 64
    assert [m["content"] for m in requests[-1].messages] == ["first question", "Echo: first question", "second"]


def test_every_answer_says_which_model_wrote_it(isolated):
    reply = list(app_for(isolated).session().send("hello"))[-1]
    assert reply.answered_by == "fake/echo" and reply.notice == ""
    assert visible(reply.markdown) == "Echo: hello\nAnswered by fake/echo."


def test_an_empty_question_and_gibberish_get_an_answer_not_a_crash(isolated):
    session = app_for(isolated).session()
    assert list(session.send("   "))[-1].text == "Please type a question."
    assert list(session.send("qwxz zzkj ??!"))[-1].done


def test_provider_errors_become_a_polite_message(isolated):
    session = app_for(isolated, "[llm.router]\nmax_retries = 0\n").session()
    enqueue(ServerError("upstream exploded with a stack trace"))
    reply = list(session.send("hello"))[-1]
    assert reply.text == POLITE_ERROR and reply.error and "stack trace" not in reply.text


def test_an_unexpected_failure_is_a_polite_message_with_the_details_in_the_log(isolated, caplog):
    app = ingested(isolated)
    (isolated / ".hackkit" / "rag" / "hackkit.manifest.sqlite").write_bytes(b"not a database at all" * 100)
    reply = list(app.session().send("When does the demo start?"))[-1]  # sqlite3.DatabaseError, not a HackkitError
    assert reply.text == POLITE_ERROR and reply.error
    assert "failed unexpectedly" in caplog.text and "DatabaseError" in caplog.text


def test_twenty_visitors_asking_at_once_on_a_fresh_app_are_all_answered(isolated):
    """The index is opened once under the app's lock (opened concurrently, Chroma's client creation races)."""
    app = ingested(isolated, "[ui]\nrate_limit_per_minute = 0\n")
    start, answers = threading.Barrier(20), {}

    def visitor(n: int) -> None:
        session = app.session()
        session.visitor = f"10.0.0.{n}"
        start.wait()
        try:
            answers[n] = list(session.send("When does the demo start?"))[-1].text
        except Exception as exc:  # what the old code let out
            answers[n] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=visitor, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == 20
    assert [n for n, text in answers.items() if "17:00" not in text] == [], answers


# -- the request budget ------------------------------------------------------------------------


def test_the_budget_belongs_to_the_address_not_to_the_session(isolated):
    app = app_for(isolated, "[ui]\nrate_limit_per_minute = 2\n")
    first_page, reloaded, elsewhere = app.session(), app.session(), app.session()
    first_page.visitor = reloaded.visitor = "203.0.113.5"  # as the views set it from each request
    elsewhere.visitor = "10.1.1.1"
    assert not list(first_page.send("one"))[-1].error and not list(first_page.send("two"))[-1].error
    limited = list(reloaded.send("three"))[-1]  # a reload is a new session from the same address
    assert limited.error and "2 questions a minute" in limited.text
    assert not list(elsewhere.send("one"))[-1].error


def test_side_by_side_and_uploads_spend_the_same_budget(isolated):
    app = app_for(isolated, "[ui]\nrate_limit_per_minute = 3\n")
    session = app.session("203.0.113.9")
    a, b = session.compare("Name a duck", "fake/echo", "fake/echo")  # two model calls: two requests
    assert not a.error and not b.error
    assert "Ingested" in session.upload([("notes.md", b"# Notes\n\nDucks like bread.\n")])
    refused = session.compare("Name a duck", "fake/echo", "fake/echo")
    assert all(c.error and "faster than this demo allows" in c.text for c in refused)
    assert "faster than this demo allows" in list(session.send("and now?"))[-1].text


# -- the allow-list --------------------------------------------------------------------------


def test_a_model_outside_the_list_is_refused_on_the_server(isolated):
    app = app_for(isolated, '[llm.aliases]\nother = "fake/other"\n')
    session = app.session()
    for model in ("fake/not-in-the-list", "local/../../../etc", "mistral/mistral-large-latest"):
        session.model = model
        reply = list(session.send("hello"))[-1]
        assert reply.error and f"does not offer the model '{model}'" in reply.text
    assert requests == []  # no provider was asked
    a, b = session.compare("hi", "fake/echo", "fake/not-in-the-list")
    assert a.error and b.error and requests == []
    session.model = "other"
    assert list(session.send("hello"))[-1].answered_by == "fake/other"


def test_with_the_picker_hidden_only_the_configured_model_is_offered(isolated):
    app = app_for(isolated, '[llm.aliases]\nother = "fake/other"\n[ui]\npanels = ["sources", "compare"]\n')
    assert app.models == ["fake/echo"]
    session = app.session()
    session.model = "other"
    assert list(session.send("hello"))[-1].error
    assert "turned off" in session.upload([("notes.md", b"# Notes\n")])


# -- which model answered, and why -------------------------------------------------------------

FALLBACK = '[llm.router]\nmax_retries = 0\n[llm.router.fallbacks]\n"*" = ["fake/echo"]\n'


def test_a_missing_key_is_named_with_the_model_that_answered(isolated):
    app = app_for(isolated, '[llm.aliases]\nlarge = "mistral/mistral-large-latest"\n' + FALLBACK)
    session = app.session()
    session.model = "large"
    reply = list(session.send("hello"))[-1]
    assert reply.answered_by == "fake/echo"
    assert "mistral/mistral-large-latest could not answer (MISTRAL_API_KEY is not set)" in reply.notice
    assert "Answered by fake/echo. mistral/mistral-large-latest could not answer" in visible(reply.markdown)
    a, b = session.compare("hello", "large", "fake/echo")
    assert (a.model, a.answered_by, b.answered_by) == ("large", "fake/echo", "fake/echo")
    assert "MISTRAL_API_KEY is not set" in a.notice and b.notice == ""
    assert visible(a.markdown).startswith("large\n") and "Answered by fake/echo" in visible(a.markdown)


def test_a_rejected_key_and_a_provider_down_are_named(isolated, wire, monkeypatch):
    server = wire("mistral", api_key="the-right-key")
    monkeypatch.setenv("MISTRAL_API_KEY", "a-wrong-key")
    providers = (
        f'[llm.providers.mistral]\nbase_url = "{server.url}"\n'
        f'[llm.providers.down]\nkind = "openai"\nbase_url = "http://127.0.0.1:{free_port()}/v1"\napi_key_env = "X"\n'
    )
    aliases = '[llm.aliases]\nkeyed = "mistral/mistral-small-latest"\nclosed = "down/some-model"\n'
    monkeypatch.setenv("X", "any")
    session = app_for(isolated, aliases + providers + FALLBACK).session()
    rejected, down = session.compare("hello", "keyed", "closed")
    assert rejected.answered_by == down.answered_by == "fake/echo"
    assert "mistral/mistral-small-latest could not answer (key rejected (HTTP 401))" in rejected.notice
    assert "down/some-model could not answer (provider down" in down.notice


def test_side_by_side_reports_latency_tokens_and_cost(isolated):
    a, b = app_for(isolated).session().compare("Name a duck", "fake/echo", "fake/echo")
    assert (a.model, b.model) == ("fake/echo", "fake/echo")
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


def test_a_hosted_models_answer_never_waits_for_the_offline_models_first_load(isolated, monkeypatch):
    """A visitor who picks a hosted model is answered while SmolLM2 is still being de-quantised."""
    from hackkit.llm.providers.local import LocalProvider

    toml = '[llm]\nmodel = "local/smollm2"\n[ui]\nmodels = ["local/smollm2", "fake/echo"]\n'
    (isolated / "hackkit.toml").write_text(toml)
    app = DemoApp(load_settings(isolated))
    loading, release = threading.Event(), threading.Event()

    def slow_first_load(self, name):  # the first load's seconds, held until the test lets it go
        loading.set()
        release.wait(60)
        raise OSError("not loaded in this test")

    monkeypatch.setattr(LocalProvider, "model", slow_first_load)
    warm = threading.Thread(target=app.warm_up)
    warm.start()
    try:
        assert loading.wait(30)
        session = app.session()
        session.model = "fake/echo"
        answered: list[str] = []
        asking = threading.Thread(target=lambda: answered.extend(r.text for r in session.send("hello")))
        asking.start()
        asking.join(30)
        assert not asking.is_alive() and answered[-1] == "Echo: hello"  # before the local model is loaded
    finally:
        release.set()
        warm.join(60)


def test_the_warm_up_skips_the_local_model_when_answers_are_quoted(isolated, monkeypatch):
    """The first right answer does not wait for SmolLM2: quoted answers never need it loaded."""
    from hackkit.llm.providers.local import LocalProvider

    ingested(isolated)
    loads: list[str] = []
    monkeypatch.setattr(LocalProvider, "model", lambda self, name: loads.append(name))
    for answer, expected in (("auto", []), ("generate", ["smollm2"])):
        toml = f'[llm]\nmodel = "local/smollm2"\n{FAKE_RAG}answer = "{answer}"\n'
        (isolated / "hackkit.toml").write_text(toml)
        loads.clear()
        DemoApp(load_settings(isolated)).warm_up()
        assert loads == expected, answer
