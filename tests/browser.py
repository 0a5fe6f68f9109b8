"""Serving an app on loopback and driving Debian's Chromium with Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False"}


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs it with apt-get install -y chromium")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(
    args: list[str], cwd: Path, port: int, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``hackkit ARGS`` (or ``env`` and a whole command line) and wait until the port answers.

    The caller stops it. Provider keys and HACKKIT_ settings from the developer's shell are left out.
    """
    command = args if args[0].startswith("/") else [sys.executable, "-m", "hackkit", *args]
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("HACKKIT_")}
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**clean, **OFFLINE_ENV, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the app did not answer on port {port} within {timeout} s")


def demo_project(folder: Path, toml: str) -> Path:
    """A project with ``toml`` as its hackkit.toml and the sample documents ingested."""
    from documents import write_sample_docs

    (folder / "hackkit.toml").write_text(toml)
    write_sample_docs(folder / "data")
    subprocess.run(
        [sys.executable, "-m", "hackkit", "ingest"],
        cwd=folder,
        check=True,
        capture_output=True,
        env={**OFFLINE_ENV, "PATH": "/usr/bin:/bin"},
    )
    return folder


def serve_demo(project: Path, toml: str, *args: str) -> Iterator[tuple[str, Path]]:
    """``hackkit ui ARGS`` over a demo project (``toml``, sample documents ingested): yields (url, project)."""
    demo_project(project, toml)
    port = free_port()
    process = serve(["ui", *args, "--port", str(port)], project, port)
    yield f"http://127.0.0.1:{port}", project
    process.terminate()
    process.wait(timeout=10)


def open_page(browser: Any, url: str, question_box: str) -> Iterator[Any]:
    """A fresh browser context on ``url``, ready once its question box is visible."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded")  # Gradio pages never reach "networkidle"
    page.locator(question_box).wait_for(timeout=60_000)
    yield page
    context.close()


def ask_in(page: Any, question_box: str, question: str) -> None:
    box = page.locator(question_box)
    box.fill(question)
    box.press("Enter")
