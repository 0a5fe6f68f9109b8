"""``hackkit ui``: serve the demo app."""

from __future__ import annotations

import os
import subprocess
import sys

import click

DEFAULT_PORTS = {"gradio": 7860, "streamlit": 8501}


@click.command()
@click.option("--backend", type=click.Choice(["gradio", "streamlit"]), default="gradio", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="0.0.0.0 for containers and Spaces.")
@click.option("--port", type=int, help="Default 7860 for Gradio, 8501 for Streamlit.")
@click.option("-m", "--model", help="The default model; default from settings.")
def ui(backend: str, host: str, port: int | None, model: str | None) -> None:
    """Serve the demo app: chat over your documents, sources, uploads, side-by-side models, usage."""
    port = port or DEFAULT_PORTS[backend]
    click.echo(f"hackkit demo ({backend}) on http://{host}:{port} (Ctrl+C stops it)", err=True)
    if backend == "streamlit":
        raise SystemExit(run_streamlit(host, port, model))
    from hackkit.ui import gradio_app, launch_gradio

    launch_gradio(gradio_app(model=model), host=host, port=port)


def streamlit_command(script: str, host: str, port: int, max_upload_mb: int = 10) -> list[str]:
    """``streamlit run SCRIPT``, offline-safe: no usage stats, no browser, no traceback on the page, on ``host``."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        script,
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.maxUploadSize",
        str(max_upload_mb),  # enforced while a file is received
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--client.showErrorDetails",
        "none",
    ]


def run_streamlit(host: str, port: int, model: str | None) -> int:
    """Become Streamlit (POSIX): a stop signal then reaches the server itself, not a parent that would die alone.

    ``os.execve`` replaces this process, so there is no second process to forward SIGTERM or
    SIGINT to, the exit status is Streamlit's, and a container's PID stays the server's. Windows
    has no exec that keeps the process, so there Streamlit runs as a child and is stopped with us.
    """
    import importlib.util

    from hackkit.config import load_settings

    spec = importlib.util.find_spec("hackkit.ui.streamlit_app")
    assert spec is not None and spec.origin is not None
    command = streamlit_command(spec.origin, host, port, load_settings().ui.max_upload_mb)
    env = {
        **os.environ,
        "HACKKIT_UI_MODEL": model or "",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "FORWARDED_ALLOW_IPS": os.environ.get("FORWARDED_ALLOW_IPS", ""),  # [ui] trust_proxy decides, not uvicorn
    }
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(command[0], command, env)  # does not return
    child = subprocess.Popen(command, env=env)
    try:
        return child.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait(timeout=10)


COMMANDS = [ui]
