"""The Gradio demo in a real browser: questions over documents, uploads, models, side by side."""

from __future__ import annotations

import pytest
from browser import ask_in, free_port, open_page, serve, serve_demo

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A project with sample documents ingested, served by `hackkit ui` on a free port."""
    project = tmp_path_factory.mktemp("demo")
    yield from serve_demo(
        project,
        '[llm]\nmodel = "fake/echo"\n[llm.aliases]\nother = "fake/other"\n'
        '[ui]\ntitle = "Ducks demo"\nrate_limit_per_minute = 6\nexamples = ["What is the first prize?"]\n',
    )


QUESTION_BOX = "#question textarea"


@pytest.fixture
def page(browser, demo):
    yield from open_page(browser, demo[0], QUESTION_BOX)


def ask(page, question):
    ask_in(page, QUESTION_BOX, question)


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


def test_an_uploaded_file_is_ingested_and_cited(page, demo, tmp_path):
    notes = tmp_path / "parking.md"
    notes.write_text("# Parking\n\nVisitors park in the underground garage on level minus two, gate C.\n")
    page.locator("#upload input[type=file]").set_input_files(str(notes))
    page.locator("#upload-status").get_by_text("Ingested 1 file").wait_for(timeout=60_000)
    assert (demo[1] / "data" / "uploads" / "parking.md").is_file()
    ask(page, "Where do visitors park?")
    page.locator("#sources details", has_text="data/uploads/parking.md").first.wait_for()


def test_switching_model(page):
    page.locator("#model-picker input").click()
    page.get_by_role("option", name="other").click()  # the alias from hackkit.toml
    ask(page, "When is lunch served?")
    page.locator("#stats").get_by_text("fake/other").wait_for()


def test_side_by_side_shows_both_answers_with_their_cost(page):
    page.get_by_role("tab", name="Side by side").click()
    page.locator("#compare-prompt textarea").fill("Name a duck")
    page.locator("#compare-run").click()
    for answer in ("#answer-a", "#answer-b"):
        page.locator(answer).get_by_text("Echo: Name a duck").wait_for()
        assert "tokens" in page.locator(answer).inner_text() and "$" in page.locator(answer).inner_text()
    assert "fake/echo" in page.locator("#answer-a").inner_text()
    assert "other" in page.locator("#answer-b").inner_text()


def test_usage_panel_reads_the_ledger(page):
    ask(page, "Anything about prizes?")
    page.locator("#stats").get_by_text("tokens").wait_for()
    page.get_by_role("tab", name="Usage").click()
    page.locator("#usage-refresh").click()
    page.locator("#usage").get_by_text("fake/echo").first.wait_for()


def test_a_visitor_over_the_rate_limit_gets_a_polite_message(page):
    for n in range(7):
        ask(page, f"question number {n}")
        page.locator("#chatbot").get_by_text(f"question number {n}").first.wait_for()
    page.locator("#chatbot").get_by_text("faster than this demo allows").wait_for()


def test_offline_banner_and_polite_provider_errors(browser, tmp_path):
    (tmp_path / "hackkit.toml").write_text("schema_version = 1\n")  # no key: the local model is the default
    port = free_port()
    process = serve(["ui", "--port", str(port)], tmp_path, port)
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}", wait_until="domcontentloaded")
        page.locator("#offline-banner").get_by_text("Running offline on a small local model").wait_for()
        picker = page.locator("#model-picker input")
        picker.fill("mistral/mistral-small-latest")  # a custom model id; no MISTRAL_API_KEY here
        picker.press("Tab")
        ask(page, "Hello?")
        page.locator("#chatbot").get_by_text("Sorry, the model could not answer just now").wait_for()
        assert "MISTRAL_API_KEY" not in page.locator("#chatbot").inner_text()  # details go to the log
    finally:
        process.terminate()
        process.wait(timeout=10)
