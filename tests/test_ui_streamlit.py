"""The Streamlit demo in a real browser: the same behaviours as the Gradio one, from one view-model."""

from __future__ import annotations

import pytest
from browser import ask_in, free_port, open_page, serve, serve_demo

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    project = tmp_path_factory.mktemp("streamlit-demo")
    yield from serve_demo(
        project,
        '[llm]\nmodel = "fake/echo"\n[llm.aliases]\nother = "fake/other"\n[ui]\ntitle = "Ducks on Streamlit"\n'
        'examples = ["What is the first prize?"]\n',
        "--backend",
        "streamlit",
    )


QUESTION_BOX = '[data-testid="stChatInputTextArea"]'


@pytest.fixture
def page(browser, demo):
    yield from open_page(browser, demo[0], QUESTION_BOX)


def ask(page, question):
    ask_in(page, QUESTION_BOX, question)


def test_a_question_over_the_documents_shows_the_answer_and_its_sources(page):
    assert page.get_by_role("heading", name="Ducks on Streamlit").is_visible()
    ask(page, "When does the demo start?")
    source = page.locator('[data-testid="stExpander"]', has_text="data/handbook.md").first
    source.wait_for()
    page.locator('[data-testid="stChatMessage"]').get_by_text("17:00", exact=False).first.wait_for()
    source.locator("summary").click()  # a citation opens its chunk
    source.get_by_text("room B12", exact=False).first.wait_for()
    page.get_by_text("tokens", exact=False).first.wait_for()


def test_an_example_question_is_one_click(page):
    page.get_by_role("button", name="What is the first prize?").click()
    page.locator('[data-testid="stExpander"]', has_text="data/handbook.md").first.wait_for()


def test_an_uploaded_file_is_ingested_and_cited(page, demo, tmp_path):
    notes = tmp_path / "parking.md"
    notes.write_text("# Parking\n\nVisitors park in the underground garage on level minus two, gate C.\n")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(notes))
    page.get_by_text("Ingested 1 file").wait_for(timeout=60_000)
    assert (demo[1] / "data" / "uploads" / "parking.md").is_file()
    ask(page, "Where do visitors park?")
    page.locator('[data-testid="stExpander"]', has_text="data/uploads/parking.md").first.wait_for()


def test_switching_model(page):
    custom = page.get_by_label("or any model id")
    custom.fill("other")
    custom.press("Enter")
    ask(page, "When is lunch served?")
    page.get_by_text("fake/other", exact=False).first.wait_for()


def test_side_by_side_shows_both_answers_with_their_cost(page):
    page.get_by_role("tab", name="Side by side").click()
    prompt = page.get_by_label("One prompt, two models")
    prompt.fill("Name a duck")
    prompt.press("Enter")
    page.get_by_role("button", name="Compare").click()
    answers = page.get_by_text("Echo: Name a duck")
    answers.nth(1).wait_for()
    assert answers.count() == 2
    assert page.get_by_text("tokens ·", exact=False).count() >= 2


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
        process.terminate()
        process.wait(timeout=10)
