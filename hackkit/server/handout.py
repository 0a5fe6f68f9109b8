"""Printable handouts for a room's keys: one page per team, in Markdown and in HTML.

Each page has the team, its key, the gateway's URL, a QR code of the URL (inline SVG: the HTML
needs nothing from the internet), and the three lines to paste into a project's ``.env``. The files
hold secrets, so they are written with mode 0600.
"""

from __future__ import annotations

import html
import os
import socket
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8787
STYLE = """
body {font-family: system-ui, sans-serif; margin: 0;}
.team {page-break-after: always; padding: 2.5cm 2cm; max-width: 18cm;}
h1 {font-size: 28pt; margin: 0 0 .3em;} .key {font: 15pt ui-monospace, monospace; word-break: break-all;
background: #f4f4f4; padding: .6em; border-radius: 6px;} pre {background: #f4f4f4; padding: 1em; font-size: 11pt;
white-space: pre-wrap;} .qr svg {width: 5cm; height: 5cm;} .note {color: #555;}
"""


def room_url() -> str:
    """A URL the room can reach: this machine's address on its network, else loopback."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
            address = probe.getsockname()[0]
    except OSError:
        address = "127.0.0.1"
    return f"http://{address}:{DEFAULT_PORT}/v1"


def env_lines(url: str, key: str) -> str:
    return f"HACKKIT_GATEWAY_URL={url}\nHACKKIT_GATEWAY_KEY={key}\nHACKKIT_MODEL=gateway/default"


def qr_svg(text: str) -> str:
    import segno

    return str(segno.make(text, error="m").svg_inline(scale=4, dark="#111"))


def write_handouts(keys: list[dict[str, Any]], out: Path, url: str | None = None) -> list[Path]:
    """``handouts.md`` and ``handouts.html`` in ``out``, one section per key; their paths."""
    url = _v1(url or room_url())
    out.mkdir(parents=True, exist_ok=True)
    markdown = "\n\n---\n\n".join(_markdown(key, url) for key in keys) + "\n"
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Gateway keys</title>"
        f"<style>{STYLE}</style></head><body>" + "".join(_html(key, url) for key in keys) + "</body></html>\n"
    )
    paths = [out / "handouts.md", out / "handouts.html"]
    for path, text in zip(paths, (markdown, page), strict=True):
        _write_private(path, text)
    return paths


def _v1(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


def _markdown(key: dict[str, Any], url: str) -> str:
    return (
        f"# {key['team']}\n\nYour key for the workshop gateway (keep it to your team):\n\n"
        f"`{key['key']}`\n\nGateway: {url}\n\nPaste these three lines into your project's `.env`:\n\n"
        f"```\n{env_lines(url, key['key'])}\n```\n\n{_limits(key)}"
    )


def _html(key: dict[str, Any], url: str) -> str:
    team, secret = html.escape(str(key["team"])), html.escape(str(key["key"]))
    return (
        f"<section class='team'><h1>{team}</h1><p>Your key for the workshop gateway (keep it to your team):</p>"
        f"<p class='key'>{secret}</p><p>Gateway: <b>{html.escape(url)}</b></p>"
        f"<div class='qr'>{qr_svg(url)}</div><p>Paste these three lines into your project's <code>.env</code>:</p>"
        f"<pre>{html.escape(env_lines(url, str(key['key'])))}</pre><p class='note'>{html.escape(_limits(key))}</p>"
        "</section>"
    )


def _limits(key: dict[str, Any]) -> str:
    parts = []
    if key.get("budget_usd") is not None:
        parts.append(f"budget ${key['budget_usd']:g}")
    if key.get("rpm"):
        parts.append(f"{key['rpm']} requests a minute")
    if key.get("models"):
        parts.append("models: " + ", ".join(key["models"]))
    return ("Limits: " + "; ".join(parts) + ".") if parts else "No limits set."


def _write_private(path: Path, text: str) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    path.chmod(0o600)  # an existing file keeps its old mode through O_CREAT
