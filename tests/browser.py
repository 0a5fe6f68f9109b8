"""Serving an app on loopback and driving Debian's Chromium with Playwright."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
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
# The demo the browser modules serve: the fake model, aliases of which two have no key (so the
# fallback answers and the page must say so), no request budget (tests would share one: they all
# come from 127.0.0.1; the budget has its own module).
DEMO_TOML = """[llm]
model = "fake/echo"
[llm.aliases]
other = "fake/other"
large = "mistral/mistral-large-latest"
gpt4o = "openai/gpt-4o"
[llm.router]
max_retries = 0
[llm.router.fallbacks]
"*" = ["fake/echo"]
[ui]
title = "Ducks demo"
rate_limit_per_minute = 0
examples = ["What is the first prize?"]
"""

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

    The caller stops it with :func:`stop`. It runs in a process group of its own, so stopping it
    stops whatever it started too; its log goes to a file (a pipe nobody reads would fill and
    block it), read back when it fails. Provider keys and HACKKIT_ settings from the developer's
    shell are left out.
    """
    command = args if args[0].startswith("/") else [sys.executable, "-m", "hackkit", *args]
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("HACKKIT_")}
    log = tempfile.TemporaryFile()  # noqa: SIM115  closed by stop()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**clean, **OFFLINE_ENV, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    process.log = log  # type: ignore[attr-defined]
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited: {server_log(process)[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"the app did not answer on port {port} within {timeout} s")


def server_log(process: subprocess.Popen[bytes]) -> str:
    """What a process started by :func:`serve` wrote to stderr so far."""
    log = process.log  # type: ignore[attr-defined]
    log.seek(0)
    return str(log.read().decode(errors="replace"))


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM the process's group (what a container stop sends), then SIGKILL whatever outlived it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=timeout)
    process.log.close()  # type: ignore[attr-defined]


def group_alive(group: int) -> bool:
    """Whether any process of process group ``group`` is still running."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def demo_project(folder: Path, toml: str, files: dict[str, str] | None = None) -> Path:
    """A project with ``toml`` as its hackkit.toml and the sample documents (and ``files``) ingested."""
    from documents import write_sample_docs

    (folder / "hackkit.toml").write_text(toml)
    write_sample_docs(folder / "data")
    for name, text in (files or {}).items():
        (folder / "data" / name).write_text(text)
    subprocess.run(
        [sys.executable, "-m", "hackkit", "ingest"],
        cwd=folder,
        check=True,
        capture_output=True,
        env={**OFFLINE_ENV, "PATH": "/usr/bin:/bin"},
    )
    return folder


def serve_demo(project: Path, toml: str, *args: str, files: dict[str, str] | None = None) -> Iterator[tuple[str, Path]]:
    """``hackkit ui ARGS`` over a demo project (``toml``, sample documents ingested): yields (url, project)."""
    demo_project(project, toml, files)
    port = free_port()
    process = serve(["ui", *args, "--port", str(port)], project, port)
    yield f"http://127.0.0.1:{port}", project
    stop(process)


def open_page(browser: Any, url: str, question_box: str, address: str | None = None) -> Iterator[Any]:
    """A fresh browser context on ``url``, ready once its question box is visible.

    With ``address``, every request says it comes from there (``X-Forwarded-For``), as a proxy in
    front of an app with ``[ui] trust_proxy = 1`` would: each test can be its own visitor.
    """
    headers = {"X-Forwarded-For": address} if address else {}
    context = browser.new_context(viewport={"width": 1280, "height": 900}, extra_http_headers=headers)
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded")  # Gradio pages never reach "networkidle"
    page.locator(question_box).wait_for(timeout=60_000)
    yield page
    context.close()


def ask_in(page: Any, question_box: str, question: str) -> None:
    box = page.locator(question_box)
    box.fill(question)
    box.press("Enter")


class Canary:
    """An HTTP server on loopback that counts every request it gets: a planted address points here."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.hits: list[str] = []
        canary = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                canary.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def planted_document(canary: Canary) -> str:
    """A document holding everything an answer must not turn into markup, requests or links."""
    return (
        "# Vault\n\nThe vault code is kept in the blue safe behind the stage.\n\n"
        "<form><input placeholder=password></form>\n\n"
        f'<img src="{canary.url}/html-image.png">\n\n'
        f"![map]({canary.url}/markdown-image.png)\n\n"
        f"[click here]({canary.url}/link) or {canary.url}/bare-address\n"
    )
