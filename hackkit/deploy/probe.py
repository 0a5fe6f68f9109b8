"""Ask a deployed app a question over HTTP, the way a visitor would, before its URL is given out.

A Gradio app is asked through its own API (``/gradio_api/call/respond``, streamed as server-sent
events) and must answer with text that is not the polite error message. Streamlit talks to its
page over a websocket only, so a Streamlit app is checked through its health endpoint and page;
a static Space through its page.
"""

from __future__ import annotations

import json
import time
from typing import Any

from hackkit.deploy.errors import NoAnswer

POLITE_ERROR_START = "Sorry, the model could not answer"
ENDPOINT = "/respond"


def ask(url: str, kind: str, question: str, *, token: str | None = None, timeout: float = 300) -> str:
    """The app's answer (Gradio), or what showed it is up (Streamlit, static); NoAnswer says why not."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, headers=headers, timeout=timeout, follow_redirects=True) as client:
        _wait_until_up(client, "/_stcore/health" if kind == "streamlit" else "/", timeout)
        if kind == "gradio":
            return _ask_gradio(client, question)
        if kind == "streamlit":
            return "the Streamlit server is healthy and serves its page"
        return "the page is served"


def _wait_until_up(client: Any, path: str, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            response = client.get(path)
            if response.status_code == 200:
                return
            problem = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            problem = type(exc).__name__
        if time.monotonic() > deadline:
            raise NoAnswer(
                f"{client.base_url}{path} did not answer ({problem}).",
                hint="open the Space's page and its logs: the app may still be loading, or may have crashed",
            )
        time.sleep(2)


def _ask_gradio(client: Any, question: str) -> str:
    info = client.get("/gradio_api/info").json()
    endpoint = info.get("named_endpoints", {}).get(ENDPOINT)
    if endpoint is None:
        raise NoAnswer(
            f"The app has no {ENDPOINT} API endpoint, so no question could be asked.",
            hint="a hackkit Gradio app has one: check that app.py builds hackkit.ui.gradio_app()",
        )
    data = [_value_for(parameter, question) for parameter in endpoint["parameters"]]
    started = client.post(f"/gradio_api/call{ENDPOINT}", json={"data": data})
    started.raise_for_status()
    event_id = started.json()["event_id"]
    answer = _final_answer(client, f"/gradio_api/call{ENDPOINT}/{event_id}")
    if not answer.strip() or answer.startswith(POLITE_ERROR_START):
        raise NoAnswer(
            f"The app answered the question with an error: {answer.strip()[:200] or '(nothing)'}",
            hint="check the Space's secrets (the provider key) and its logs",
        )
    return answer


def _value_for(parameter: dict[str, Any], question: str) -> Any:
    component = parameter.get("component")
    if component == "Textbox":
        return question
    if component == "Chatbot":
        return []
    return None  # the model picker: the app's default model


def _final_answer(client: Any, path: str) -> str:
    event, data = "", None
    with client.stream("GET", path) as response:
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("generating", "complete", "error"):
                data = json.loads(line.split(":", 1)[1] or "null")
                if event in ("complete", "error"):
                    break
    if event != "complete" or not isinstance(data, list):
        raise NoAnswer(
            f"The app's answer stream ended with {event or 'nothing'}.",
            hint="see the Space's run log for the error",
        )
    return _assistant_text(data)


def _assistant_text(outputs: list[Any]) -> str:
    history = next((item for item in outputs if isinstance(item, list)), [])
    replies = [message for message in history if isinstance(message, dict) and message.get("role") == "assistant"]
    if not replies:
        return ""
    content = replies[-1].get("content")
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")
