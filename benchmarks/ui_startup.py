"""Seconds from `hackkit ui` to a page that answers, beside a bare Gradio hello-world app
started the same way (a fresh Python process) in the same run, interleaved.

Target: at most 1.5x the bare app, and under 10 s, with the fake provider.
    python benchmarks/ui_startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import summary, verdict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser import OFFLINE_ENV, free_port

HELLO = """
import sys, gradio as gr
with gr.Blocks(title="hello") as demo:
    gr.Markdown("# Hello")
    box = gr.Textbox()
    out = gr.Textbox()
    box.submit(lambda text: "Echo: " + text, box, out)
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
"""


def time_to_page(command: list[str], cwd: Path, port: int, timeout: float = 60) -> float:
    """Start ``command``; seconds until GET / on ``port`` answers 200."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env={**os.environ, **OFFLINE_ENV}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while time.perf_counter() - started < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{command} did not serve a page within {timeout} s")
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "hackkit.toml").write_text('[llm]\nmodel = "fake/echo"\n')
        (project / "hello.py").write_text(HELLO)
        bare, hackkit = [], []
        for _ in range(args.runs):
            port = free_port()
            bare.append(time_to_page([sys.executable, "hello.py", str(port)], project, port))
            port = free_port()
            hackkit.append(time_to_page([sys.executable, "-m", "hackkit", "ui", "--port", str(port)], project, port))
    b, h = summary(bare)["p50"], summary(hackkit)["p50"]
    print(f"gradio hello-world app   p50 {b:5.2f} s  ({', '.join(f'{x:.2f}' for x in bare)})")
    print(f"hackkit ui (gradio)      p50 {h:5.2f} s  ({', '.join(f'{x:.2f}' for x in hackkit)})")
    ratio = h / b
    print(f"ratio {ratio:.2f}x (target <= 1.5x) {verdict(ratio <= 1.5)}; {h:.2f} s (target < 10 s) {verdict(h < 10)}")
    print("streamlit: not built yet (docs/roadmap.md)")


if __name__ == "__main__":
    main()
