"""Save screenshots of the demo app for the docs: `make screenshots` (needs Debian's Chromium).

Renders each demo backend over the test suite's sample documents, asks a question, opens a source,
and saves docs/images/gradio.png and docs/images/streamlit.png; then the gateway's pages
(``screenshots_gateway.py``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import ARGS, CHROMIUM, demo_project, free_port, serve, stop  # noqa: E402


def main() -> None:
    from playwright.sync_api import sync_playwright

    out = ROOT / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        demo_project(
            project,
            '[llm]\nmodel = "fake/echo"\n[ui]\ntitle = "Hackathon helper"\n'
            'description = "Ask anything about the event: rules, schedule, '
            'prizes, food."\n',
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for backend, shoot in (("gradio", _gradio), ("streamlit", _streamlit)):
                port = free_port()
                app = serve(["ui", "--backend", backend, "--port", str(port)], project, port)
                try:
                    page = browser.new_page(viewport={"width": 1280, "height": 820})
                    page.goto(f"http://127.0.0.1:{port}", wait_until="domcontentloaded")
                    shoot(page)
                    page.screenshot(path=str(out / f"{backend}.png"))
                    print(f"saved {out / backend}.png")
                finally:
                    stop(app)
            browser.close()
    import screenshots_gateway  # the gateway's catalog and dashboard: docs/images/catalog.png, dashboard.png

    screenshots_gateway.main()


QUESTION = "What is the first prize?"


def _gradio(page: Any) -> None:
    page.locator("#question textarea").fill(QUESTION)
    page.locator("#question textarea").press("Enter")
    page.locator("#sources details").first.wait_for()
    page.locator("#sources details summary").first.click()
    page.locator("#stats").get_by_text("tokens").wait_for()
    page.locator("#chatbot").get_by_text("Answered by fake/echo").wait_for()


def _streamlit(page: Any) -> None:
    box = page.locator('[data-testid="stChatInputTextArea"]')
    box.wait_for(timeout=60_000)
    box.fill(QUESTION)
    box.press("Enter")
    source = page.locator('[data-testid="stExpander"]').first
    source.wait_for()
    source.locator("summary").click()
    page.get_by_text("Answered by fake/echo").wait_for()
    page.wait_for_timeout(500)


if __name__ == "__main__":
    main()
