"""A loopback Hugging Face Hub: the endpoints ``huggingface_hub`` calls to create and run a Space.

    with TestHub(token="hf_test...") as hub:         # then HF_ENDPOINT=hub.url, HF_TOKEN=hub.token
        hub.runner = start_the_app                  # called with the Space once its files arrive
        ...hackkit deploy spaces...
        hub.spaces["team/app"].files                # what was uploaded, path -> bytes

Implemented, as the installed huggingface_hub calls them (read from its source): whoami-v2,
repos/create (with secrets, variables and hardware; 402 for a free account's Gradio or Docker
Space when ``free_account``), the Space's info, secrets and variables, validate-yaml, preupload
(every file "regular": small files go inline in the commit, no LFS), commit (ndjson, base64
files), runtime, and the build and run logs (server-sent events). A Space's stage is BUILDING
until ``runner`` returns; the runner sets RUNNING with the app's URL as the Space's host, or a
failure stage with a log.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from hackkit.testing.wire import send_json

PAID_SDKS = {"gradio", "docker", "streamlit"}


@dataclass
class Space:
    repo_id: str
    sdk: str
    hardware: str | None
    private: bool
    secrets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[str] = field(default_factory=list)
    stage: str = "NO_APP_FILE"
    host: str | None = None
    error: str = ""
    build_log: list[str] = field(default_factory=list)
    run_log: list[str] = field(default_factory=list)
    secrets_before_first_commit: dict[str, str] | None = None  # what the Space held when its files came

    @property
    def sha(self) -> str | None:
        return self.commits[-1] if self.commits else None

    def runtime(self) -> dict[str, Any]:
        data: dict[str, Any] = {"stage": self.stage, "hardware": {"current": self.hardware, "requested": None}}
        if self.sha:
            data["sha"] = self.sha
        if self.error:
            data["errorMessage"] = self.error
        return data


Runner = Callable[[Space], None]


class TestHub:
    __test__ = False  # not a pytest class

    def __init__(self, token: str, user: str = "team", free_account: bool = False) -> None:
        self.token = token
        self.user = user
        self.free_account = free_account
        self.spaces: dict[str, Space] = {}
        self.calls: list[tuple[str, str]] = []  # (method, path) in order
        self.runner: Runner | None = None
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.hub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> TestHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        for thread in self.threads:
            thread.join(timeout=600)
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> TestHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def committed(self, space: Space) -> None:
        space.stage = "BUILDING"
        if self.runner is None:
            return
        runner = self.runner
        thread = threading.Thread(target=self._run, args=(runner, space), daemon=True)
        self.threads.append(thread)
        thread.start()

    @staticmethod
    def _run(runner: Runner, space: Space) -> None:
        try:
            runner(space)
        except Exception as exc:  # a runner that breaks is the Space's runtime error, as on the Hub
            space.stage, space.error = "RUNTIME_ERROR", f"{type(exc).__name__}: {exc}"
            space.run_log.append(space.error)


SPACE_PATH = re.compile(r"^/api/spaces/(?P<repo>[^/]+/[^/]+)(?P<rest>/.*)?$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def hub(self) -> TestHub:
        return self.server.hub  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        path = urlsplit(self.path).path
        self.hub.calls.append((method, path))
        body = self._body() if method == "POST" else b""
        if self.headers.get("Authorization") != f"Bearer {self.hub.token}":
            return self._json(401, {"error": "Invalid credentials in Authorization header"})
        if path == "/api/whoami-v2":
            return self._json(200, {"type": "user", "name": self.hub.user, "auth": {"type": "access_token"}})
        if path == "/api/repos/create":
            return self._create(json.loads(body))
        if path == "/api/validate-yaml":
            return self._validate_yaml(json.loads(body))
        match = SPACE_PATH.match(path)
        if match is None:
            return self._json(404, {"error": f"not implemented: {method} {path}"})
        space = self.hub.spaces.get(match["repo"])
        if space is None:
            return self._json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        return self._space(method, space, match["rest"] or "", body)

    def _space(self, method: str, space: Space, rest: str, body: bytes) -> None:
        if method == "GET" and rest == "":
            return self._json(200, self._info(space))
        if method == "GET" and rest == "/runtime":
            return self._json(200, space.runtime())
        if method == "GET" and rest in ("/logs/build", "/logs/run"):
            return self._events(space.build_log if rest.endswith("build") else space.run_log)
        if method == "POST" and rest in ("/secrets", "/variables"):
            item = json.loads(body)
            (space.secrets if rest == "/secrets" else space.variables)[item["key"]] = item["value"]
            return self._json(200, {})
        if method == "POST" and rest.startswith("/preupload/"):
            files = json.loads(body)["files"]
            modes = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None} for f in files]
            return self._json(200, {"files": modes})
        if method == "POST" and rest.startswith("/commit/"):
            return self._commit(space, body)
        return self._json(404, {"error": f"not implemented: {method} {rest}"})

    def _create(self, payload: dict[str, Any]) -> None:
        repo_id = f"{payload.get('organization') or self.hub.user}/{payload['name']}"
        hardware = payload.get("hardware")
        if self.hub.free_account and payload.get("sdk") in PAID_SDKS and hardware != "zero-a10g":
            return self._json(402, {"error": "Subscribe to PRO or add credits to run a Gradio or Docker Space."})
        if repo_id in self.hub.spaces:
            url = f"{self.hub.url}/spaces/{repo_id}"
            return self._json(409, {"error": "You already created this space repo", "url": url})
        space = Space(repo_id, payload["sdk"], hardware, payload.get("visibility") == "private")
        space.secrets = {s["key"]: s["value"] for s in payload.get("secrets", [])}
        space.variables = {v["key"]: v["value"] for v in payload.get("variables", [])}
        self.hub.spaces[repo_id] = space
        return self._json(200, {"url": f"{self.hub.url}/spaces/{repo_id}", "name": repo_id})

    def _validate_yaml(self, payload: dict[str, Any]) -> None:
        match = re.search(r"^short_description: (.*)$", payload["content"], re.M)
        if match and len(match[1].strip("'\"")) > 60:
            return self._json(400, {"errors": [{"message": '"short_description" length must be <= 60'}]})
        return self._json(200, {"errors": [], "warnings": []})

    def _commit(self, space: Space, body: bytes) -> None:
        files = {}
        for line in body.splitlines():
            item = json.loads(line)
            if item["key"] == "file":
                files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            elif item["key"] != "header":
                return self._json(400, {"error": f"the test Hub takes inline files only, not {item['key']}"})
        with self.hub.lock:
            if space.secrets_before_first_commit is None:
                space.secrets_before_first_commit = dict(space.secrets)
            space.files.update(files)
            oid = hashlib.sha1(f"{sorted(files)} {len(space.commits)}".encode()).hexdigest()
            space.commits.append(oid)
        self._json(200, {"commitUrl": f"{self.hub.url}/spaces/{space.repo_id}/commit/{oid}", "commitOid": oid})
        self.hub.committed(space)

    def _info(self, space: Space) -> dict[str, Any]:
        return {
            "id": space.repo_id,
            "sdk": space.sdk,
            "private": space.private,
            "sha": space.sha,
            "host": space.host,
            "subdomain": space.repo_id.replace("/", "-"),
            "siblings": [{"rfilename": name} for name in sorted(space.files)],
            "runtime": space.runtime(),
        }

    def _events(self, lines: list[str]) -> None:
        events = b"".join(
            b"data: " + json.dumps({"data": line + "\n", "timestamp": "2026-01-01T00:00:00Z"}).encode() + b"\n\n"
            for line in lines
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(events)))
        self.end_headers()
        self.wfile.write(events)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        send_json(self, status, payload, headers)


def go_online(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deploy goes to the Hub: the shell's HF_HUB_OFFLINE=1 (read when huggingface_hub is imported) is lifted."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
