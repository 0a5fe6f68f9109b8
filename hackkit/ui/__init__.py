"""Demo UIs built from the runtime: ``gradio_app()``, and ``hackkit/ui/streamlit_app.py`` for Streamlit.

Importing this package imports no UI framework; each app imports its own when built.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DemoApp", "gradio_app", "launch_gradio"]


def __getattr__(name: str) -> Any:
    if name in ("gradio_app", "launch_gradio"):
        from hackkit.ui import _gradio as module

        return getattr(module, name)
    if name == "DemoApp":
        from hackkit.ui.viewmodel import DemoApp

        return DemoApp
    raise AttributeError(f"module 'hackkit.ui' has no attribute {name!r}")
