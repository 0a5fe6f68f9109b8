"""The Streamlit demo: ``hackkit ui --backend streamlit``, or ``streamlit run`` this file.

    streamlit run "$(python -c 'import hackkit.ui.streamlit_app as m; print(m.__file__)')" \\
        --server.address 127.0.0.1 --browser.gatherUsageStats false --client.showErrorDetails none

Run from the project folder. A project's own ``app.py`` is two lines::

    from hackkit.ui.streamlit_app import main
    main()

Every behaviour comes from :mod:`hackkit.ui.viewmodel`, the same as the Gradio app; this module
only lays it out. Text that is not the app's own reaches ``st.markdown`` only through
:func:`hackkit.ui.sanitize.safe_markdown`. Anything that goes wrong while drawing the page
becomes the polite message, with the details in the server's log.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import streamlit as st

from hackkit.ui.limits import visitor_address
from hackkit.ui.sanitize import safe_markdown
from hackkit.ui.viewmodel import POLITE_ERROR, DemoApp, DemoSession, Reply

log = logging.getLogger("hackkit.ui")


@st.cache_resource
def demo_app(model: str) -> DemoApp:
    """One DemoApp per server process, shared by every visitor."""
    app = DemoApp(model=model or None)
    threading.Thread(target=app.warm_up, name="hackkit-warm-up", daemon=True).start()  # the page does not wait
    return app


def main() -> None:
    try:
        _page()
    except Exception:  # Streamlit's reruns and stops are BaseExceptions, so they pass through
        log.exception("the demo page failed")
        st.error(POLITE_ERROR)


def _page() -> None:
    app = demo_app(os.environ.get("HACKKIT_UI_MODEL", ""))
    ui = app.ui
    st.set_page_config(page_title=ui.title, layout="wide")
    st.title(ui.title)
    st.caption(ui.description)
    if app.banner:
        st.warning(app.banner)
    state = st.session_state
    if "session" not in state:
        state.session, state.messages, state.uploaded, state.last = app.session(), [], set(), None
    session: DemoSession = state.session
    session.visitor = _visitor(app)
    with st.sidebar:
        _sidebar(app, session)
    names = ["Chat"] + [n for n, panel in (("Side by side", "compare"), ("Usage", "usage")) if panel in ui.panels]
    views = {"Chat": _chat, "Side by side": _compare, "Usage": _usage}
    for name, tab in zip(names, st.tabs(names), strict=True):
        with tab:
            views[name](app, session)


def _visitor(app: DemoApp) -> str:
    """The address this run's request budget is kept under (loopback reads as None in Streamlit)."""
    forwarded = st.context.headers.get_all("X-Forwarded-For")
    return visitor_address(getattr(st.context, "ip_address", None), forwarded, app.ui.trust_proxy)


def _sidebar(app: DemoApp, session: DemoSession) -> None:
    ui, state = app.ui, st.session_state
    if "model_picker" in ui.panels:
        session.model = st.selectbox("Model", app.models, key="model") or app.default_model
    if "upload" in ui.panels:
        files = st.file_uploader("Add documents", accept_multiple_files=True, key="upload")  # server.maxUploadSize
        new = [f for f in files or [] if f.file_id not in state.uploaded]
        if new:
            with st.spinner("Ingesting your files..."):
                state.upload_report = session.upload([(f.name, f.getvalue()) for f in new])
            state.uploaded |= {f.file_id for f in new}
        if state.get("upload_report"):
            st.info(safe_markdown(state.upload_report))


def _chat(app: DemoApp, session: DemoSession) -> None:
    state = st.session_state
    for message in state.messages:
        with st.chat_message(message["role"]):
            st.markdown(message["content"])
    example = None
    if app.ui.examples and not state.messages:
        columns = st.columns(len(app.ui.examples))
        example = next((e for column, e in zip(columns, app.ui.examples, strict=True) if column.button(e)), None)
    if question := st.chat_input("Ask a question") or example:
        state.messages.append({"role": "user", "content": safe_markdown(question)})
        with st.chat_message("user"):
            st.markdown(safe_markdown(question))
        with st.chat_message("assistant"):
            placeholder, reply = st.empty(), Reply()
            for reply in session.send(question):
                placeholder.markdown(reply.markdown)
        state.messages.append({"role": "assistant", "content": reply.markdown})
        state.last = reply
    if state.last is not None:
        _sources(app, state.last)


def _sources(app: DemoApp, reply: Reply) -> None:
    if reply.stats:
        st.caption(safe_markdown(reply.stats))
    if "sources" not in app.ui.panels:
        return
    for source in reply.sources:
        with st.expander(safe_markdown(f"[{source.n}] {source.label} ({source.similarity:.2f})")):
            st.markdown(safe_markdown(source.snippet))
            st.code(source.text, language=None, wrap_lines=True)


def _compare(app: DemoApp, session: DemoSession) -> None:
    prompt = st.text_input("One prompt, two models", key="compare_prompt")
    models = app.models if len(app.models) > 1 else app.models * 2
    left, right = st.columns(2)
    model_a = left.selectbox("Model A", models, index=0, key="model_a")
    model_b = right.selectbox("Model B", models, index=1, key="model_b")
    if st.button("Compare", type="primary") and prompt.strip():
        st.session_state.comparison = session.compare(prompt, model_a, model_b)
    results: Any = st.session_state.get("comparison")
    if results:
        for column, result in zip((left, right), results, strict=True):
            column.markdown(result.markdown)
            column.caption(result.stats)


def _usage(app: DemoApp, session: DemoSession) -> None:
    st.button("Refresh", key="usage_refresh")
    rows = app.usage_rows()
    if rows:
        st.table(rows)  # a real HTML table: st.dataframe draws on a canvas screen readers cannot read
    else:
        st.write("No calls recorded yet.")


if __name__ == "__main__":  # `streamlit run` runs its script as __main__
    main()
