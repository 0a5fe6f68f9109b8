"""Seconds from `hackkit ui` to a page that answers, for both backends, each beside a bare
hello-world app of the same framework started the same way in the same run, interleaved.

"Answers" means the app's question box is on screen in Chromium: Streamlit serves its HTML before
it runs the app's script, so an HTTP 200 alone would flatter it.

Target: at most 1.5x the bare app, and under 10 s, with the fake provider.
    python benchmarks/ui_startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import summary, verdict

from hackkit.cli.ui import streamlit_command  # the bare app starts exactly as `hackkit ui` starts ours

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import ARGS, CHROMIUM, OFFLINE_ENV, free_port

STREAMLIT_INPUT = '[data-testid="stChatInputTextArea"]'

HELLO = """
import sys, gradio as gr
with gr.Blocks(title="hello") as demo:
    gr.Markdown("# Hello")
    box = gr.Textbox()
    out = gr.Textbox()
    box.submit(lambda text: "Echo: " + text, box, out)
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
"""
HELLO_STREAMLIT = """
import streamlit as st
st.title("Hello")
if text := st.chat_input("Say something"):
    st.write("Echo: " + text)
"""


def time_to_page(browser: Any, command: list[str], cwd: Path, port: int, selector: str, timeout: float = 60) -> float:
    """Start ``command``; seconds until ``selector`` is visible on its page."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env={**os.environ, **OFFLINE_ENV}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while time.perf_counter() - started < timeout:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        page.locator(selector).first.wait_for(timeout=timeout * 1000)
        elapsed = time.perf_counter() - started
        page.close()
        return elapsed
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    hackkit_ui = [sys.executable, "-m", "hackkit", "ui", "--port"]
    commands = {  # backend: (bare command, its question box, hackkit command, its question box)
        "gradio": (
            lambda port: [sys.executable, "hello.py", str(port)],
            "textarea",
            lambda port: [*hackkit_ui, str(port)],
            "#question textarea",
        ),
        "streamlit": (
            lambda port: streamlit_command("hello_streamlit.py", "127.0.0.1", port),
            STREAMLIT_INPUT,
            lambda port: [*hackkit_ui, str(port), "--backend", "streamlit"],
            STREAMLIT_INPUT,
        ),
    }
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        project = Path(tmp)
        (project / "hackkit.toml").write_text('[llm]\nmodel = "fake/echo"\n')
        (project / "hello.py").write_text(HELLO)
        (project / "hello_streamlit.py").write_text(HELLO_STREAMLIT)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for backend, (bare_command, bare_box, hackkit_command, hackkit_box) in commands.items():
            bare, hackkit = [], []
            for _ in range(args.runs):
                port = free_port()
                bare.append(time_to_page(browser, bare_command(port), project, port, bare_box))
                port = free_port()
                hackkit.append(time_to_page(browser, hackkit_command(port), project, port, hackkit_box))
            report(backend, bare, hackkit)
        browser.close()


def report(backend: str, bare: list[float], hackkit: list[float]) -> None:
    b, h = summary(bare)["p50"], summary(hackkit)["p50"]
    print(f"{backend} hello-world app  p50 {b:5.2f} s  ({', '.join(f'{x:.2f}' for x in bare)})")
    print(f"hackkit ui ({backend})      p50 {h:5.2f} s  ({', '.join(f'{x:.2f}' for x in hackkit)})")
    ratio = h / b
    print(f"  ratio {ratio:.2f}x (target <= 1.5x) {verdict(ratio <= 1.5)}; {h:.2f} s (target < 10 s) {verdict(h < 10)}")


if __name__ == "__main__":
    main()
