"""The Gradio demo in a real browser: questions over documents, uploads, models, side by side."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from browser import DEMO_TOML, Canary, ask_in, free_port, open_page, planted_document, serve, serve_demo, stop

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def canary():
    server = Canary()
    yield server
    server.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory, canary):
    """A project with sample documents (and a planted one) ingested, served by `hackkit ui` on a free port."""
    project = tmp_path_factory.mktemp("demo")
    yield from serve_demo(project, DEMO_TOML, files={"vault.md": planted_document(canary)})


QUESTION_BOX = "#question textarea"


@pytest.fixture
def page(browser, demo):
    yield from open_page(browser, demo[0], QUESTION_BOX)


def ask(page, question):
    ask_in(page, QUESTION_BOX, question)


def pick(page, picker: str, model: str) -> None:
    page.locator(f"{picker} input").click()
    option = page.get_by_role("option", name=model, exact=True).filter(visible=True)
    option.click()
    option.wait_for(state="hidden")  # the list closed: the next picker's list is the only one open


def test_a_question_over_the_documents_shows_the_answer_and_its_sources(page):
    assert page.locator("h1").first.inner_text() == "Ducks demo"
    ask(page, "When does the demo start?")
    source = page.locator("#sources details").first
    source.wait_for()
    assert "data/handbook.md" in source.inner_text()
    page.locator("#chatbot").get_by_text("17:00", exact=False).first.wait_for()
    source.locator("summary").click()  # a citation opens its chunk
    assert "room B12" in source.inner_text()
    page.locator("#stats").get_by_text("tokens").wait_for()


def test_no_page_asset_is_fetched_from_the_internet(browser, demo):
    outside = []
    page = browser.new_page()
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if not request.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None
        ),
    )
    page.goto(demo[0], wait_until="domcontentloaded")
    page.locator("#question textarea").wait_for()
    page.wait_for_timeout(1000)
    page.close()
    assert outside == []


def test_markup_planted_in_a_document_shows_as_text_and_fetches_nothing(page, canary):
    ask(page, "Where is the vault code kept?")
    chat = page.locator("#chatbot")
    chat.get_by_text("blue safe behind the stage", exact=False).first.wait_for()  # the planted document answered
    page.wait_for_timeout(500)  # time for any image request to leave
    planted = f"form, input, img[src^='{canary.url}'], a[href^='{canary.url}']"
    assert chat.locator(planted).count() == 0
    assert page.locator("#sources").locator(planted).count() == 0
    assert canary.hits == []
    assert "<input placeholder=password>" in chat.inner_text()  # shown as the text it is
    assert f"{canary.url}/link" in chat.inner_text()  # a link shows its address, as text


def test_an_uploaded_file_is_ingested_and_cited(page, demo, tmp_path):
    notes = tmp_path / "parking.md"
    notes.write_text("# Parking\n\nVisitors park in the underground garage on level minus two, gate C.\n")
    page.locator("#upload input[type=file]").set_input_files(str(notes))
    page.locator("#upload-status").get_by_text("Ingested 1 file").wait_for(timeout=60_000)
    kept = list((demo[1] / ".hackkit" / "uploads").glob("*/parking.md"))  # this visitor's own folder
    assert len(kept) == 1 and not (demo[1] / "data" / "uploads").exists()
    ask(page, "Where do visitors park?")
    page.locator("#sources details", has_text="parking.md").first.wait_for()


def test_refused_uploads_say_why_and_leave_nothing_behind(page, demo):
    md = "text/markdown"
    page.locator("#upload input[type=file]").set_input_files(
        [
            {"name": "payload.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00 not a document"},
            {"name": ".hidden.md", "mimeType": md, "buffer": b"# Hidden\n\nPlanted text.\n"},
            {"name": "notes.md", "mimeType": md, "buffer": b"# Notes\n\nThe first notes.\n"},
        ]
    )
    status = page.locator("#upload-status")
    status.get_by_text("Ingested 1 file").wait_for(timeout=60_000)
    assert "payload.exe: unsupported type .exe" in status.inner_text()
    assert ".hidden.md: left out by the project's [rag] include and exclude rules" in status.inner_text()
    page.locator("#upload input[type=file]").set_input_files(
        [{"name": "notes.md", "mimeType": md, "buffer": b"# Notes\n\nOther notes, same name.\n"}]
    )
    status.get_by_text("notes.md was saved as notes-2.md").wait_for(timeout=60_000)
    kept = sorted(p.name for p in (demo[1] / ".hackkit" / "uploads").rglob("*") if p.is_file())
    assert "payload.exe" not in kept and ".hidden.md" not in kept and {"notes.md", "notes-2.md"} <= set(kept)


def test_switching_model(page):
    pick(page, "#model-picker", "other")  # the alias from hackkit.toml
    ask(page, "When is lunch served?")
    page.locator("#stats").get_by_text("fake/other").wait_for()
    page.locator("#chatbot").get_by_text("Answered by fake/other").wait_for()


def test_the_chat_says_which_model_answered_and_why_a_fallback_did(page):
    pick(page, "#model-picker", "large")  # mistral/mistral-large-latest; no MISTRAL_API_KEY here
    ask(page, "When is lunch served?")
    chat = page.locator("#chatbot")
    chat.get_by_text("Answered by fake/echo").wait_for()
    assert "mistral/mistral-large-latest could not answer (MISTRAL_API_KEY is not set)" in chat.inner_text()


def test_side_by_side_shows_both_answers_with_their_cost(page):
    page.get_by_role("tab", name="Side by side").click()
    page.locator("#compare-prompt textarea").fill("Name a duck")
    pick(page, "#model-b", "other")
    page.locator("#compare-run").click()
    for answer in ("#answer-a", "#answer-b"):
        page.locator(answer).get_by_text("Echo: Name a duck").wait_for()
        assert "tokens" in page.locator(answer).inner_text() and "$" in page.locator(answer).inner_text()
    assert "Answered by fake/echo" in page.locator("#answer-a").inner_text()
    assert "Answered by fake/other" in page.locator("#answer-b").inner_text()


def test_side_by_side_names_the_model_that_really_answered(page):
    """No keys: "large" and "gpt4o" are both answered by the fallback, and each column says so."""
    page.get_by_role("tab", name="Side by side").click()
    page.locator("#compare-prompt textarea").fill("Name a duck")
    pick(page, "#model-a", "large")
    pick(page, "#model-b", "gpt4o")
    page.locator("#compare-run").click()
    for answer, variable in (("#answer-a", "MISTRAL_API_KEY"), ("#answer-b", "OPENAI_API_KEY")):
        page.locator(answer).get_by_text("Answered by fake/echo").wait_for()
        assert f"could not answer ({variable} is not set), so fake/echo answered" in page.locator(answer).inner_text()


def test_usage_panel_reads_the_ledger(page):
    ask(page, "Anything about prizes?")
    page.locator("#stats").get_by_text("tokens").wait_for()
    page.get_by_role("tab", name="Usage").click()
    page.locator("#usage-refresh").click()
    page.locator("#usage").get_by_text("fake/echo").first.wait_for()


def call_api(url: str, endpoint: str, data: list) -> str:
    """Call a Gradio event over plain HTTP, as any script can: the text of its event stream."""
    with httpx.Client(base_url=url, timeout=60) as http:
        started = http.post(f"/gradio_api/call/{endpoint}", json={"data": data})
        started.raise_for_status()
        return http.get(f"/gradio_api/call/{endpoint}/{started.json()['event_id']}").text


def test_the_server_refuses_a_model_outside_the_list(demo):
    """The browser offers only the list, but the HTTP API takes any value: the server must check it."""
    question = "When does the demo start?"
    assert "room B12" in call_api(demo[0], "respond", [question, [], "fake/echo"])  # the call itself is right
    assert "room B12" not in call_api(demo[0], "respond", [question, [], "fake/not-in-the-list"])
    ledger = sqlite3.connect(demo[1] / ".hackkit" / "ledger.sqlite")
    try:
        rows = [" ".join(map(str, row)) for row in ledger.execute("SELECT model, requested FROM calls")]
    finally:
        ledger.close()
    assert not [row for row in rows if "not-in-the-list" in row]


def test_offline_banner_and_polite_provider_errors(browser, tmp_path):
    (tmp_path / "hackkit.toml").write_text(
        '[llm.aliases]\nmistral = "mistral/mistral-small-latest"\n'  # offered, but no MISTRAL_API_KEY here
        "[llm.router]\nmax_retries = 0\n"
    )  # no key: the local model is the default
    port = free_port()
    process = serve(["ui", "--port", str(port)], tmp_path, port)
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}", wait_until="domcontentloaded")
        page.locator("#offline-banner").get_by_text("Running offline on a small local model").wait_for()
        pick(page, "#model-picker", "mistral")
        ask(page, "Hello?")
        page.locator("#chatbot").get_by_text("Sorry, the model could not answer just now").wait_for()
        assert "MISTRAL_API_KEY" not in page.locator("#chatbot").inner_text()  # details go to the log
    finally:
        stop(process)
