"""Pushing a Spaces bundle with ``huggingface_hub``, waiting for the build, and reading its outcome.

The calls are the ones :func:`hackkit.deploy.spaces.plan` lists (the dry run prints that same
list): provider keys become Space secrets when the Space is created (or, for an existing Space,
before the upload), never files; ``upload_folder`` gets explicit allow and ignore patterns. Then
the Space's runtime is polled until its stage is terminal for the commit just pushed.
``HF_ENDPOINT`` points all of it at another Hub (the tests' loopback one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hackkit.deploy.bundle import Call
from hackkit.deploy.errors import DeployError, PaymentRequired, SpaceFailed
from hackkit.errors import ConfigError, MissingDependencyError

INTERMEDIATE = {"BUILDING", "RUNNING_BUILDING", "APP_STARTING", "RUNNING_APP_STARTING"}
HINTS = {
    "BUILD_ERROR": "fix what the build log says (often a requirement that does not install), then deploy again",
    "RUNTIME_ERROR": "the app crashed on start: the log above says why (run the bundle's app.py locally to see it)",
    "CONFIG_ERROR": "the README front matter or the Space's settings are wrong: see the message above",
    "NO_APP_FILE": "the Space has no app file: check app_file in the README front matter and the uploaded files",
    "PAUSED": "the Space is paused: resume it in its Settings on the Hub, then deploy again",
    "STOPPED": "the Space is stopped: restart it in its Settings on the Hub (or pass --hardware)",
    "DELETING": "the Space is being deleted: wait, or deploy to another name with --space",
}
WAYS_FORWARD = (
    "a free account cannot run a Gradio or Docker Space since July 2026 (HTTP 402), even on cpu-basic. "
    "Three ways forward: (1) Hugging Face PRO (or an organisation with credits), then deploy again; "
    "(2) --hardware zero-a10g: a ZeroGPU Gradio Space, free for up to two per account; "
    "(3) another target: hackkit deploy docker or hackkit deploy render"
)

Report = Callable[[str], None]


@dataclass
class Pushed:
    repo_id: str
    commit: str
    url: str  # the running app's address (https://USER-NAME.hf.space on the Hub)
    page: str  # the Space's page on the Hub


def hub_api(token: str | None = None) -> Any:
    try:
        from huggingface_hub import HfApi
    except ImportError:
        raise MissingDependencyError("huggingface_hub", "pip install 'hackkit-llm[deploy]'") from None
    import os

    from huggingface_hub.constants import is_offline_mode

    if is_offline_mode():  # every request would raise OfflineModeIsEnabled, whoami first
        raise ConfigError(
            "HF_HUB_OFFLINE is set, so huggingface_hub will not reach the Hub and nothing can be pushed.",
            hint="run `HF_HUB_OFFLINE=0 hackkit deploy spaces` (a deploy needs the Hub; --dry-run works offline)",
        )
    return HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)  # read now, not at import


def token() -> str:
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise ConfigError(
            "No Hugging Face token, so nothing can be pushed.",
            hint="run `hf auth login` (a token with write access), or set HF_TOKEN; --dry-run needs none",
        )
    return str(found)


def whoami(api: Any) -> str:
    return str(_hub_call(api, Call("whoami"))["name"])


def push(api: Any, calls: list[Call], report: Report) -> str:
    """Make the planned calls in order; returns the commit pushed."""
    exists = False
    commit = ""
    for call in calls:
        if call.when and not exists:
            continue
        report(f"  {call}")
        result = _hub_call(api, call)
        if call.name == "repo_exists":
            exists = bool(result)
        if call.name == "upload_folder":
            commit = str(getattr(result, "oid", "") or "")
    return commit


def _hub_call(api: Any, call: Call) -> Any:
    from huggingface_hub.errors import HfHubHTTPError

    try:
        return getattr(api, call.name)(**call.args)
    except HfHubHTTPError as exc:
        raise _hub_error(exc, call) from None
    except ValueError as exc:  # upload_folder's front matter check on the Hub
        raise DeployError(f"The Hub refused {call.name}: {exc}", hint="fix what it names, then deploy again") from None


def _hub_error(exc: Any, call: Call) -> DeployError:
    status = getattr(exc.response, "status_code", None)
    detail = _server_message(exc)
    if status == 402:
        return PaymentRequired(f"The Hub answered 402 Payment Required to {call.name}: {detail}", hint=WAYS_FORWARD)
    if status in (401, 403):
        return DeployError(
            f"The Hub refused the token ({status}) for {call.name}: {detail}",
            hint="use a token with write access (hf auth login), for a namespace you can write to",
        )
    return DeployError(
        f"{call.name} failed (HTTP {status}): {detail}", hint="try again; if it persists, read the message"
    )


def _server_message(exc: Any) -> str:
    try:
        return str(exc.response.json().get("error") or exc)
    except Exception:  # a body that is not JSON: the exception's own text says enough
        return str(exc).splitlines()[0]


def wait(api: Any, repo_id: str, commit: str, timeout: float, interval: float, report: Report) -> Any:
    """Poll the runtime until it is terminal for ``commit``; anything but RUNNING raises SpaceFailed."""
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        runtime = _hub_call(api, Call("get_space_runtime", {"repo_id": repo_id}))
        stage = str(getattr(runtime.stage, "value", runtime.stage))
        if stage != last:
            report(f"  stage: {stage}")
            last = stage
        if stage not in INTERMEDIATE and _is_for(runtime, commit):
            break
        if time.monotonic() > deadline:
            raise DeployError(
                f"The Space is still {stage} after {timeout:.0f} s.",
                hint=f"watch it on the Hub; `hackkit deploy spaces --timeout {int(timeout * 2)}` waits longer",
            )
        time.sleep(interval)
    if stage != "RUNNING":
        raise SpaceFailed(
            f"The Space stopped at {stage}: {_runtime_message(runtime)}",
            HINTS.get(stage, ""),
            log=logs(api, repo_id, build=stage in ("BUILD_ERROR", "CONFIG_ERROR")),
        )
    return runtime


def _is_for(runtime: Any, commit: str) -> bool:
    """A runtime that says which commit it runs must run ours (a redeploy first reports the old build)."""
    sha = runtime.raw.get("sha")
    return not commit or not sha or sha == commit


def _runtime_message(runtime: Any) -> str:
    return str(runtime.raw.get("errorMessage") or "no message")


def logs(api: Any, repo_id: str, *, build: bool, lines: int = 40) -> str:
    try:
        text = list(api.fetch_space_logs(repo_id, build=build))
    except Exception as exc:  # the log is a help, not the outcome: say why it is missing
        return f"(the log could not be read: {type(exc).__name__})"
    return "".join(text[-lines:]).rstrip()


def app_url(api: Any, repo_id: str) -> str:
    """The running app's address: the Space's host, as the Hub reports it."""
    info = _hub_call(api, Call("space_info", {"repo_id": repo_id}))
    if getattr(info, "host", None):
        return str(info.host).rstrip("/")
    subdomain = getattr(info, "subdomain", None) or repo_id.replace("/", "-").replace("_", "-").lower()
    return f"https://{subdomain}.hf.space"


def page_url(api: Any, repo_id: str) -> str:
    return f"{api.endpoint.rstrip('/')}/spaces/{repo_id}"
