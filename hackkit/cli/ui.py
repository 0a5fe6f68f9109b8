"""``hackkit ui``: serve the demo app."""

from __future__ import annotations

import click


@click.command()
@click.option(
    "--backend",
    type=click.Choice(["gradio"]),
    default="gradio",
    show_default=True,
    help="The UI framework (Streamlit is not built yet: docs/roadmap.md).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="0.0.0.0 for containers and Spaces.")
@click.option("--port", type=int, default=7860, show_default=True)
@click.option("-m", "--model", help="The default model; default from settings.")
def ui(backend: str, host: str, port: int, model: str | None) -> None:
    """Serve the demo app: chat over your documents, sources, uploads, side-by-side models, usage."""
    from hackkit.ui import gradio_app, launch_gradio

    click.echo(f"hackkit demo on http://{host}:{port} (Ctrl+C stops it)", err=True)
    launch_gradio(gradio_app(model=model), host=host, port=port)


COMMANDS = [ui]
