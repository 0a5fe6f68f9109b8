"""`hackkit ui` as a process: it stops when told to, and its page never shows a traceback."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest
from browser import demo_project, free_port, group_alive, serve, stop

pytestmark = pytest.mark.browser


def port_answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def test_sigterm_to_hackkit_ui_stops_streamlit_and_frees_its_port(tmp_path):
    (tmp_path / "hackkit.toml").write_text('[llm]\nmodel = "fake/echo"\n')
    port = free_port()
    process = serve(["ui", "--backend", "streamlit", "--port", str(port)], tmp_path, port)
    try:
        os.kill(process.pid, signal.SIGTERM)  # what `docker stop` sends: to the process, not to its group
        process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while port_answers(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not port_answers(port), "Streamlit still holds the port after hackkit ui was stopped"
        assert not group_alive(process.pid), "a process hackkit ui started outlived it"
    finally:
        stop(process)


def test_a_broken_index_gives_the_polite_message_not_a_traceback(browser, tmp_path):
    demo_project(tmp_path, '[llm]\nmodel = "fake/echo"\n')
    (tmp_path / ".hackkit" / "rag" / "hackkit.manifest.sqlite").write_bytes(b"not a database at all" * 100)
    port = free_port()
    process = serve(["ui", "--backend", "streamlit", "--port", str(port)], tmp_path, port)
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}", wait_until="domcontentloaded")
        box = page.locator('[data-testid="stChatInputTextArea"]')
        box.wait_for(timeout=60_000)
        box.fill("When does the demo start?")
        box.press("Enter")
        page.get_by_text("Sorry, the model could not answer just now").wait_for(timeout=30_000)
        text = page.locator("body").inner_text()
        assert "Traceback" not in text and "DatabaseError" not in text and "sqlite" not in text
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        stop(process)
