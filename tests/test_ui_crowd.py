"""A crowd on a freshly started demo: twenty browser sessions ask at once, and every one is answered.

The pages are opened one after another, each in a browser context of its own (twenty pages
loading at once starve a 2-core machine; in one context Chromium's six connections per host
starve Gradio's event streams), then all twenty questions are sent before any answer is awaited.
Each session comes from its own address through a trusted proxy header, as a crowd behind
Spaces or Render does, so the request budget is each visitor's own.
"""

from __future__ import annotations

import pytest
from browser import ask_in, demo_project, free_port, serve, stop

pytestmark = pytest.mark.browser

VISITORS = 20
TOML = (  # fake embeddings: the crowd tests the app's sharing of one index, not the embedding model's speed
    '[llm]\nmodel = "fake/echo"\n[rag]\nembedding_model = "fake/hash"\nmin_score = -1\n'
    "[ui]\nrate_limit_per_minute = 2\ntrust_proxy = 1\n"
)
BOXES = {"gradio": "#question textarea", "streamlit": '[data-testid="stChatInputTextArea"]'}


@pytest.mark.parametrize("backend", ["gradio", "streamlit"])
def test_twenty_visitors_asking_at_once_are_all_answered(browser, tmp_path, backend):
    demo_project(tmp_path, TOML)
    port = free_port()
    process = serve(["ui", "--backend", backend, "--port", str(port)], tmp_path, port)
    box, contexts, pages = BOXES[backend], [], []
    try:
        for n in range(VISITORS):
            contexts.append(browser.new_context(extra_http_headers={"X-Forwarded-For": f"203.0.113.{n + 1}"}))
            pages.append(contexts[-1].new_page())
            pages[-1].goto(f"http://127.0.0.1:{port}", wait_until="domcontentloaded")
            pages[-1].locator(box).wait_for(timeout=60_000)
        for n, page in enumerate(pages):
            ask_in(page, box, f"When does the demo start? (visitor {n})")
        for page in pages:
            page.get_by_text("room B12", exact=False).first.wait_for(timeout=120_000)  # the answer, from the index
        for page in pages:
            text = page.locator("body").inner_text()
            assert "Sorry" not in text and "faster than this demo allows" not in text and "Traceback" not in text
    finally:
        for context in contexts:
            context.close()
        stop(process)
