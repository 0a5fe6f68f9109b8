"""``hackkit chat``: one answer, streamed, or a REPL."""

from __future__ import annotations

import sys
import threading
from typing import Any

import click

from hackkit.errors import HackkitError

REPL_HELP = "/exit quits, /reset forgets the conversation, /model ID switches model"
WAITING_NOTICE_S = 4.0  # after this long with no answer, say who we are waiting for


@click.command()
@click.argument("prompt", required=False)
@click.option("-m", "--model", help="Model id (provider/model) or alias; default from settings.")
@click.option("-s", "--system", help="A system prompt.")
@click.option("-t", "--template", help="A prompt template, NAME or NAME@VERSION (see `hackkit prompts`).")
@click.option("-v", "--var", "variables", multiple=True, metavar="KEY=VALUE", help="A template variable.")
@click.option("--max-tokens", type=int, help="Cap the answer's length.")
@click.option("--temperature", type=float)
@click.option("--no-stream", is_flag=True, help="Print the answer once it is complete.")
def chat(
    prompt: str | None,
    model: str | None,
    system: str | None,
    template: str | None,
    variables: tuple[str, ...],
    max_tokens: int | None,
    temperature: float | None,
    no_stream: bool,
) -> None:
    """Answer PROMPT and exit; with no PROMPT, talk in a REPL."""
    from hackkit.llm import default_client

    client = default_client()
    model = model or client.default_model()
    params: dict[str, Any] = {k: v for k, v in (("max_tokens", max_tokens), ("temperature", temperature)) if v}
    _offline_banner(model)
    history: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    if template:
        from hackkit.llm import prompt as render

        rendered = render(template, **dict(_pair(v) for v in variables))
        if prompt:
            rendered.messages[-1]["content"] += "\n\n" + prompt
        _answer(client, rendered, model, params, stream=not no_stream)
        return
    if prompt:
        _answer(client, [*history, {"role": "user", "content": prompt}], model, params, stream=not no_stream)
        return
    _repl(client, history, model, params, stream=not no_stream)


def _repl(client: Any, history: list[dict[str, Any]], model: str, params: dict[str, Any], stream: bool) -> None:
    start = list(history)
    click.echo(f"hackkit chat with {model}. {REPL_HELP}", err=True)
    while True:
        try:
            line = input("you> " if sys.stdin.isatty() else "")
        except EOFError:
            return
        line = line.strip()
        if not line:
            continue
        if line in ("/exit", "/quit"):
            return
        if line == "/reset":
            history = list(start)
            click.echo("(conversation cleared)", err=True)
            continue
        if line.startswith("/model "):
            model = line.split(maxsplit=1)[1]
            _offline_banner(model)
            continue
        try:
            response = _answer(client, [*history, {"role": "user", "content": line}], model, params, stream)
        except HackkitError as exc:  # one failed turn keeps the conversation
            click.secho(f"error: {exc.message}", fg="red", err=True)
            if exc.hint:
                click.echo(f"  fix: {exc.hint}", err=True)
            click.echo("(the conversation is kept: ask again, or /model ID to switch)", err=True)
            continue
        history += [{"role": "user", "content": line}, response.message]


def _answer(client: Any, messages: Any, model: str, params: dict[str, Any], stream: bool) -> Any:
    """Print the answer (as it arrives, or once complete), then one line saying who answered and for how much."""
    result = client.chat(messages, model, stream=True, **params)  # streamed either way: it says who it waits for
    told = False
    with _waiting_notice(lambda: result.trying):
        for piece in result:
            if not told:
                _fallback_notice(result.fallback_note)
                told = True
            if stream:
                click.echo(piece, nl=False)
    response = result.response
    if not told:
        _fallback_notice(response.fallback_note)
    click.echo("" if stream else response.text)
    cost = f"${response.cost_usd:.6f}" if response.cost_usd is not None else "cost unknown"
    click.secho(
        f"[{response.model_id} · {response.usage.input_tokens}→"
        f"{response.usage.output_tokens} tokens · {cost} · {response.latency_ms / 1000:.1f}s]",
        dim=True,
        err=True,
    )
    return response


def _fallback_notice(note: str | None) -> None:
    """Say on stderr that a fallback answered and why, so a wrong key never passes unseen."""
    if note:
        click.secho(f"note: {note}", fg="yellow", err=True)


class _waiting_notice:
    """While a call has not answered for ``WAITING_NOTICE_S``, say once which model it waits for."""

    def __init__(self, waiting_for: Any) -> None:
        self.waiting_for = waiting_for
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="hackkit-waiting", daemon=True)

    def __enter__(self) -> None:
        self.thread.start()

    def __exit__(self, *exc: object) -> None:
        self.done.set()

    def _watch(self) -> None:
        told: set[str] = set()
        while not self.done.wait(WAITING_NOTICE_S):
            model = self.waiting_for()
            if model and model not in told:
                told.add(model)
                click.secho(f"still waiting for {model}...", dim=True, err=True)


def _offline_banner(model: str) -> None:
    if model.startswith("local/"):
        click.secho(
            "Offline: answering with a small local model (no API key set). Set MISTRAL_API_KEY or "
            "another provider's key for better answers; the first load takes about 30 s.",
            fg="yellow",
            err=True,
        )


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--var")
    return key, value


COMMANDS = [chat]
