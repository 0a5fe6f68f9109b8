"""The Streamlit demo in a real browser: the same behaviours as the Gradio one, from one view-model."""

from __future__ import annotations

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
    project = tmp_path_factory.mktemp("streamlit-demo")
    toml = DEMO_TOML.replace('title = "Ducks demo"', 'title = "Ducks on Streamlit"')
    yield from serve_demo(project, toml, "--backend", "streamlit", files={"vault.md": planted_document(canary)})


QUESTION_BOX = '[data-testid="stChatInputTextArea"]'
MESSAGES = '[data-testid="stChatMessage"]'


@pytest.fixture
def page(browser, demo):
    yield from open_page(browser, demo[0], QUESTION_BOX)


def ask(page, question):
    ask_in(page, QUESTION_BOX, question)


def pick(page, label: str, model: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text(label, exact=True))
    box.click()
    page.get_by_role("option", name=model, exact=True).click()


def test_a_question_over_the_documents_shows_the_answer_and_its_sources(page):
    assert page.get_by_role("heading", name="Ducks on Streamlit").is_visible()
    ask(page, "When does the demo start?")
    source = page.locator('[data-testid="stExpander"]', has_text="data/handbook.md").first
    source.wait_for()
    page.locator(MESSAGES).get_by_text("17:00", exact=False).first.wait_for()
    source.locator("summary").click()  # a citation opens its chunk
    source.get_by_text("room B12", exact=False).first.wait_for()
    page.get_by_text("tokens", exact=False).first.wait_for()


def test_an_example_question_is_one_click(page):
    page.get_by_role("button", name="What is the first prize?").click()
    page.locator('[data-testid="stExpander"]', has_text="data/handbook.md").first.wait_for()


def test_markup_planted_in_a_document_shows_as_text_and_fetches_nothing(page, canary):
    ask(page, "Where is the vault code kept?")
    page.locator(MESSAGES).get_by_text("blue safe behind the stage", exact=False).first.wait_for()
    page.wait_for_timeout(500)  # time for any image request to leave
    planted = f"form, input[placeholder=password], img[src^='{canary.url}'], a[href^='{canary.url}']"
    assert page.locator("[data-testid='stMain']").locator(planted).count() == 0  # chat, sources and captions
    assert canary.hits == []
    assert "<input placeholder=password>" in page.locator(MESSAGES).last.inner_text()  # shown as the text it is


def test_an_uploaded_file_is_ingested_and_cited(page, demo, tmp_path):
    notes = tmp_path / "parking.md"
    notes.write_text("# Parking\n\nVisitors park in the underground garage on level minus two, gate C.\n")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(notes))
    page.get_by_text("Ingested 1 file").wait_for(timeout=60_000)
    assert len(list((demo[1] / ".hackkit" / "uploads").glob("*/parking.md"))) == 1
    ask(page, "Where do visitors park?")
    page.locator('[data-testid="stExpander"]', has_text="parking.md").first.wait_for()


def test_refused_uploads_say_why_and_leave_nothing_behind(page, demo):
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        [
            {"name": "payload.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00 not a document"},
            {"name": ".hidden.md", "mimeType": "text/markdown", "buffer": b"# Hidden\n\nPlanted text.\n"},
        ]
    )
    page.get_by_text("payload.exe: unsupported type .exe", exact=False).wait_for(timeout=60_000)
    page.get_by_text(".hidden.md: left out by the project's [rag] include", exact=False).wait_for()
    kept = [p.name for p in (demo[1] / ".hackkit" / "uploads").rglob("*") if p.is_file()]
    assert "payload.exe" not in kept and ".hidden.md" not in kept


def test_switching_model(page):
    assert page.get_by_label("or any model id").count() == 0  # only the server's list is offered
    pick(page, "Model", "other")
    ask(page, "When is lunch served?")
    page.locator(MESSAGES).get_by_text("Answered by fake/other").wait_for()


def test_the_chat_says_which_model_answered_and_why_a_fallback_did(page):
    pick(page, "Model", "large")
    ask(page, "When is lunch served?")
    page.locator(MESSAGES).get_by_text("Answered by fake/echo").wait_for()
    page.get_by_text("mistral/mistral-large-latest could not answer (MISTRAL_API_KEY is not set)").wait_for()


def test_side_by_side_names_the_model_that_really_answered(page):
    page.get_by_role("tab", name="Side by side").click()
    prompt = page.get_by_label("One prompt, two models")
    prompt.fill("Name a duck")
    prompt.press("Enter")
    pick(page, "Model A", "large")
    pick(page, "Model B", "gpt4o")
    page.get_by_role("button", name="Compare").click()
    answers = page.get_by_text("Echo: Name a duck")
    answers.nth(1).wait_for()
    assert answers.count() == 2
    assert page.get_by_text("tokens ·", exact=False).count() >= 2
    for variable in ("MISTRAL_API_KEY", "OPENAI_API_KEY"):
        page.get_by_text(f"could not answer ({variable} is not set), so fake/echo answered", exact=False).wait_for()


def test_usage_panel_reads_the_ledger(page):
    ask(page, "Anything about prizes?")
    page.get_by_text("tokens", exact=False).first.wait_for()
    page.get_by_role("tab", name="Usage").click()
    page.get_by_role("button", name="Refresh").click()
    page.locator("table").get_by_text("fake/echo").first.wait_for()


def test_offline_banner(browser, tmp_path):
    (tmp_path / "hackkit.toml").write_text("schema_version = 1\n")  # no key: the local model is the default
    port = free_port()
    process = serve(["ui", "--backend", "streamlit", "--port", str(port)], tmp_path, port)
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}", wait_until="domcontentloaded")
        page.get_by_text("Running offline on a small local model").wait_for(timeout=60_000)
    finally:
        stop(process)
