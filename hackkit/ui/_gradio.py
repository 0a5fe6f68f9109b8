"""The Gradio demo: chat with sources, uploads, a model picker, side-by-side models, usage.

    from hackkit.ui import gradio_app
    gradio_app().launch()            # or: hackkit ui

Every behaviour comes from :mod:`hackkit.ui.viewmodel`; this module only lays it out.

No ``from __future__ import annotations`` here: Gradio finds the ``request: gr.Request``
parameter of an event function by its annotation object, which a string annotation naming a
local ``gr`` cannot give it (the visitor's address would silently be missing).
"""

import html
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hackkit.config import Settings
from hackkit.ui.limits import visitor_address
from hackkit.ui.sanitize import safe_markdown
from hackkit.ui.viewmodel import DemoApp, DemoSession, Reply

THEMES = ("soft", "default", "base", "glass", "monochrome", "ocean", "origin", "citrus")
CSS = """
.hk-banner {background: #fff7e0; border: 1px solid #f0d080; border-radius: 8px; padding: 8px 12px;}
.hk-source {border-left: 3px solid #7c9cbf; padding: 4px 10px; margin: 6px 0;}
.hk-source summary {cursor: pointer; font-weight: 600;}
.hk-stats {color: #667; font-size: 0.85em;}
"""


def sources_html(reply: Reply) -> str:
    if not reply.sources:
        return "<p class='hk-stats'>No sources for this answer.</p>" if reply.done else ""
    blocks = []
    for source in reply.sources:
        blocks.append(
            f"<details class='hk-source' id='source-{source.n}'><summary>[{source.n}] {html.escape(source.label)}"
            f" <span class='hk-stats'>({source.similarity:.2f})</span></summary>"
            f"<p>{html.escape(source.snippet)}</p><pre style='white-space: pre-wrap'>{html.escape(source.text)}</pre>"
            "</details>"
        )
    return "".join(blocks)


def gradio_app(settings: Settings | None = None, *, model: str | None = None, app: DemoApp | None = None) -> Any:
    """A ``gr.Blocks`` demo for the project; ``.launch()`` it, or use ``hackkit ui``."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    demo = app or DemoApp(settings, model=model)
    ui = demo.ui
    with gr.Blocks(title=ui.title, analytics_enabled=False) as blocks:
        gr.Markdown(f"# {ui.title}\n\n{ui.description}")
        if demo.banner:
            gr.HTML(f"<div class='hk-banner' id='offline-banner'>{html.escape(demo.banner)}</div>")
        session = gr.State(None)  # a DemoSession per page, made on its first request
        with gr.Tab("Chat"):
            _chat_tab(gr, demo, session)
        if "compare" in ui.panels:
            with gr.Tab("Side by side"):
                _compare_tab(gr, demo, session)
        if "usage" in ui.panels:
            with gr.Tab("Usage"):
                _usage_tab(gr, demo)
    blocks.hackkit_theme = ui.theme if ui.theme in THEMES else "soft"
    blocks.hackkit_app = demo
    return blocks


def visitor(demo: DemoApp, state: DemoSession | None, request: Any) -> DemoSession:
    """The page's session, its budget keyed by the address this request came from (not by the page)."""
    state = state or demo.session()
    headers = getattr(request, "headers", None) or {}
    forwarded = headers.getlist("x-forwarded-for") if hasattr(headers, "getlist") else [headers.get("x-forwarded-for")]
    peer = getattr(getattr(request, "client", None), "host", None)
    state.visitor = visitor_address(peer, [value for value in forwarded if value], demo.ui.trust_proxy)
    return state


def _chat_tab(gr: Any, demo: DemoApp, session: Any) -> None:
    ui = demo.ui
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Conversation", height=420, elem_id="chatbot", sanitize_html=True, render_markdown=True
            )
            question = gr.Textbox(placeholder="Ask a question and press Enter", show_label=False, elem_id="question")
            stats = gr.Markdown(elem_classes=["hk-stats"], elem_id="stats")
            if ui.examples:
                gr.Examples(ui.examples, inputs=question)
        with gr.Column(scale=2):
            picker = gr.Dropdown(
                demo.models,
                value=demo.default_model,
                label="Model",
                allow_custom_value=False,
                visible="model_picker" in ui.panels,
                elem_id="model-picker",
            )
            sources = gr.HTML(label="Sources", elem_id="sources", visible="sources" in ui.panels)
            if "upload" in ui.panels:
                _upload_box(gr, demo, session)

    def respond(
        message: str, history: list[dict[str, Any]], state: DemoSession | None, model: str, request: gr.Request
    ) -> Iterator[tuple[Any, ...]]:
        state = visitor(demo, state, request)
        state.model = model or demo.default_model  # checked against the allow-list in send()
        shown = {"role": "user", "content": safe_markdown(message)}
        history = [*history, shown, {"role": "assistant", "content": ""}]
        for reply in state.send(message):
            history[-1] = {"role": "assistant", "content": reply.markdown}
            yield "", history, sources_html(reply), safe_markdown(reply.stats), state

    question.submit(respond, [question, chatbot, session, picker], [question, chatbot, sources, stats, session])


def _upload_box(gr: Any, demo: DemoApp, session: Any) -> None:
    files = gr.File(label="Add documents", file_count="multiple", elem_id="upload")
    status = gr.Markdown(elem_id="upload-status")

    def upload(
        paths: list[str] | None,
        state: DemoSession | None,
        request: gr.Request,
        progress: Any = gr.Progress(),  # noqa: B008
    ) -> tuple[str, DemoSession]:
        state = visitor(demo, state, request)
        received = [(Path(f).name, Path(f).read_bytes()) for f in paths or []]
        report = state.upload(received, progress=lambda done, total, _: progress((done, total)))
        return safe_markdown(report), state

    files.upload(upload, [files, session], [status, session])


def _compare_tab(gr: Any, demo: DemoApp, session: Any) -> None:
    prompt = gr.Textbox(label="One prompt, two models", elem_id="compare-prompt")
    with gr.Row():
        models = demo.models if len(demo.models) > 1 else demo.models * 2
        left = gr.Dropdown(models, value=models[0], label="Model A", allow_custom_value=False, elem_id="model-a")
        right = gr.Dropdown(models, value=models[1], label="Model B", allow_custom_value=False, elem_id="model-b")
    run = gr.Button("Compare", variant="primary", elem_id="compare-run")
    with gr.Row():
        out_a, out_b = gr.Markdown(elem_id="answer-a"), gr.Markdown(elem_id="answer-b")

    def compare(
        text: str, model_a: str, model_b: str, state: DemoSession | None, request: gr.Request
    ) -> tuple[str, str, DemoSession]:
        state = visitor(demo, state, request)
        a, b = state.compare(text, model_a, model_b)
        column = "{}\n\n<span class='hk-stats'>{}</span>"  # the only markup: ours, around escaped text
        return column.format(a.markdown, html.escape(a.stats)), column.format(b.markdown, html.escape(b.stats)), state

    run.click(compare, [prompt, left, right, session], [out_a, out_b, session])


def _usage_tab(gr: Any, demo: DemoApp) -> None:
    columns = ["day", "model", "calls", "errors", "input_tokens", "output_tokens", "cost_usd"]
    table = gr.Dataframe(headers=columns, elem_id="usage", interactive=False)
    refresh = gr.Button("Refresh", elem_id="usage-refresh")
    refresh.click(lambda: [[row.get(c) for c in columns] for row in demo.usage_rows()], None, table)


def launch_gradio(blocks: Any, host: str = "127.0.0.1", port: int = 7860, **kwargs: Any) -> Any:
    """Serve the demo: bound to 127.0.0.1 unless asked, no analytics, no share link, uploads capped.

    Uvicorn is told to trust no proxy (``FORWARDED_ALLOW_IPS``): the visitor's address is the
    connection's, and ``[ui] trust_proxy`` alone decides whether X-Forwarded-For counts.
    """
    import threading

    import gradio as gr

    os.environ.setdefault("FORWARDED_ALLOW_IPS", "")
    kwargs.setdefault("max_file_size", blocks.hackkit_app.ui.max_upload_mb * 1_000_000)

    threading.Thread(target=blocks.hackkit_app.warm_up, name="hackkit-warm-up", daemon=True).start()
    # System fonts: the themes' default Google Fonts are a page asset that cannot load offline.
    theme = getattr(gr.themes, blocks.hackkit_theme.capitalize(), gr.themes.Soft)(
        font=["system-ui", "-apple-system", "Segoe UI", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )
    return blocks.launch(
        server_name=host, server_port=port, theme=theme, css=CSS, share=False, show_error=False, **kwargs
    )
