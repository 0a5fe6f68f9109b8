"""The request budget through the real servers: it survives a reload, a direct API call and a forged header."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from browser import ask_in, free_port, open_page, serve, stop

from hackkit.ui.limits import RateLimiter, visitor_address

LIMITED = "faster than this demo allows"
TOML = '[llm]\nmodel = "fake/echo"\n[ui]\nrate_limit_per_minute = 3\n'


def test_the_visitor_is_the_connection_unless_a_proxy_is_trusted():
    assert visitor_address("198.51.100.7", ["203.0.113.1"]) == "198.51.100.7"  # trust_proxy = 0: header ignored
    assert visitor_address(None) == "127.0.0.1"
    # One proxy (Spaces, Render) appends the address it saw; whatever the client sent sits to its left.
    assert visitor_address("10.0.0.2", ["203.0.113.1"], trust_proxy=1) == "203.0.113.1"
    assert visitor_address("10.0.0.2", ["6.6.6.6, 203.0.113.1"], trust_proxy=1) == "203.0.113.1"
    assert visitor_address("10.0.0.2", ["6.6.6.6", "203.0.113.1"], trust_proxy=1) == "203.0.113.1"  # two headers
    assert visitor_address("10.0.0.2", ["6.6.6.6, 203.0.113.1, 10.0.0.1"], trust_proxy=2) == "203.0.113.1"
    assert visitor_address("10.0.0.2", [], trust_proxy=1) == "10.0.0.2"  # no header: the connection


def test_a_budget_refuses_what_does_not_fit_and_counts_nothing_then():
    limiter = RateLimiter(3)
    assert limiter.allow("a", cost=2) and not limiter.allow("a", cost=2) and limiter.allow("a")
    assert not limiter.allow("a") and limiter.allow("b", cost=3)
    assert RateLimiter(0).allow("a", cost=1000)  # 0: no limit


@pytest.fixture(scope="module")
def gradio(tmp_path_factory):
    project = tmp_path_factory.mktemp("limited-gradio")
    (project / "hackkit.toml").write_text(TOML)
    port = free_port()
    process = serve(["ui", "--port", str(port)], project, port)
    yield f"http://127.0.0.1:{port}"
    stop(process)


def respond(url: str, question: str, headers: dict[str, str] | None = None) -> str:
    """The chat's answer over plain HTTP, as any script can ask: no page, no session. Markdown escapes dropped."""
    with httpx.Client(base_url=url, timeout=60, headers=headers) as http:
        started = http.post("/gradio_api/call/respond", json={"data": [question, [], "fake/echo"]})
        started.raise_for_status()
        events = http.get(f"/gradio_api/call/respond/{started.json()['event_id']}").text
    last = [line for line in events.splitlines() if line.startswith("data:")][-1]
    content = json.loads(last.removeprefix("data:"))[1][-1]["content"]  # Gradio 6: a list of parts
    text = content if isinstance(content, str) else "".join(part.get("text", "") for part in content)
    return re.sub(r"\\(.)", r"\1", text)


@pytest.mark.browser
def test_gradio_a_reload_and_the_api_share_one_budget(browser, gradio):
    box = "#question textarea"
    for page in open_page(browser, gradio, box):
        for n in range(2):
            ask_in(page, box, f"question {n}")
            page.locator("#chatbot").get_by_text(f"Echo: question {n}").wait_for()
    for page in open_page(browser, gradio, box):  # a reload: a new page, a new session, the same visitor
        ask_in(page, box, "question 2")
        page.locator("#chatbot").get_by_text("Echo: question 2").wait_for()
        ask_in(page, box, "question 3")
        page.locator("#chatbot").get_by_text(LIMITED).wait_for()
    assert LIMITED in respond(gradio, "straight to the API")
    # X-Forwarded-For is the client's own word unless [ui] trust_proxy says a proxy wrote it.
    assert LIMITED in respond(gradio, "a forged address", {"X-Forwarded-For": "203.0.113.99"})


@pytest.mark.browser
def test_streamlit_a_reload_does_not_reset_the_budget(browser, tmp_path):
    (tmp_path / "hackkit.toml").write_text(TOML)
    port = free_port()
    process = serve(["ui", "--backend", "streamlit", "--port", str(port)], tmp_path, port)
    box, url = '[data-testid="stChatInputTextArea"]', f"http://127.0.0.1:{port}"
    try:
        for page in open_page(browser, url, box):
            for n in range(3):
                ask_in(page, box, f"question {n}")
                page.get_by_text(f"Echo: question {n}").wait_for(timeout=30_000)
        for page in open_page(browser, url, box):
            ask_in(page, box, "question 3")
            page.get_by_text(LIMITED).wait_for(timeout=30_000)
    finally:
        stop(process)


@pytest.mark.browser
def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_budget(browser, tmp_path):
    (tmp_path / "hackkit.toml").write_text(TOML.replace("= 3", "= 1") + "trust_proxy = 1\n")
    port = free_port()
    process = serve(["ui", "--port", str(port)], tmp_path, port)
    url = f"http://127.0.0.1:{port}"
    try:
        assert "Echo: from one" in respond(url, "from one", {"X-Forwarded-For": "203.0.113.1"})
        assert LIMITED in respond(url, "from one again", {"X-Forwarded-For": "203.0.113.1"})
        assert LIMITED in respond(url, "spoofed", {"X-Forwarded-For": "6.6.6.6, 203.0.113.1"})  # left hops: ignored
        assert "Echo: from two" in respond(url, "from two", {"X-Forwarded-For": "203.0.113.2"})
    finally:
        stop(process)


@pytest.mark.browser
def test_streamlit_behind_a_trusted_proxy_reads_the_forwarded_address(browser, tmp_path):
    (tmp_path / "hackkit.toml").write_text(TOML.replace("= 3", "= 1") + "trust_proxy = 1\n")
    port = free_port()
    process = serve(["ui", "--backend", "streamlit", "--port", str(port)], tmp_path, port)
    box, url = '[data-testid="stChatInputTextArea"]', f"http://127.0.0.1:{port}"
    try:
        for address, expected in (
            ("203.0.113.1", "Echo: hello"),
            ("203.0.113.1", LIMITED),
            ("203.0.113.2", "Echo: hello"),
        ):
            for page in open_page(browser, url, box, address=address):
                ask_in(page, box, "hello")
                page.get_by_text(expected).wait_for(timeout=30_000)
    finally:
        stop(process)
