"""A real gateway for tests: `hackkit gateway serve` in a subprocess, in a folder of its own."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from browser import free_port

from hackkit.config import load_settings
from hackkit.server.serve import admin_key
from hackkit.server.store import open_store

T = TypeVar("T")


class RunningGateway:
    def __init__(self, folder: Path, port: int, process: subprocess.Popen[bytes], db: str | None) -> None:
        self.folder = folder
        self.port = port
        self.process = process
        self.db = db
        self.url = f"http://127.0.0.1:{port}"
        self.store = open_store(db, folder)
        self.admin_key = admin_key(load_settings(folder))[0]

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    def key(self, team: str = "Team A", **limits: Any) -> str:
        """A new key, made in the store while the gateway runs (so no key cache can hide it)."""
        return self.store.create_key(team, **limits)[1]

    def key_record(self, team: str = "Team A", **limits: Any) -> tuple[Any, str]:
        return self.store.create_key(team, **limits)

    def log_text(self) -> str:
        """What the gateway printed (its banner and its log)."""
        return (self.folder / "gateway.log").read_text(errors="replace")


def write_config(folder: Path, toml: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hackkit.toml").write_text("schema_version = 1\n" + toml)


def eventually(check: Callable[[], T], timeout: float = 20.0) -> T:
    """``check()`` once it is true: a gateway on PostgreSQL ships its settlements just after the answer."""
    deadline = time.time() + timeout
    while not (result := check()) and time.time() < deadline:
        time.sleep(0.05)
    return result


@contextmanager
def serve_gateway(folder: Path, *, workers: int = 1, db: str | None = None, env: dict[str, str] | None = None) -> Any:
    """``hackkit gateway serve`` on a free port; stopped (workers included) when the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "hackkit", "gateway", "serve", "--port", str(port), "--workers", str(workers)]
    if db:
        command += ["--db", db]
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("HACKKIT_")}
    log = folder / "gateway.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=folder, env={**clean, **(env or {})}, stdout=output, stderr=output, start_new_session=True
        )
    try:
        _wait_healthy(port, process, log)
        gateway = RunningGateway(folder, port, process, db)
        yield gateway
    finally:
        _stop(process)
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]


def _wait_healthy(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"the gateway did not answer /health within {timeout} s: {log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the gateway's process group (uvicorn's workers too), then SIGKILL what is left."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # workers that outlived their supervisor


@contextmanager
def postgres_databases() -> Any:
    """One throwaway PostgreSQL server; yields ``new()``, which makes a fresh database on it and gives its URL.

    Skips the test without PostgreSQL, except on CI, where .ci/run installs it.
    """
    import itertools

    import psycopg
    import pytest

    from hackkit.testing.postgres import postgres_bin, temporary_postgres

    if postgres_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is missing: .ci/run installs it with apt-get install -y postgresql")
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql)")
    numbers = itertools.count(1)
    with temporary_postgres() as url:

        def new() -> str:
            name = f"test{next(numbers)}"
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {name}")
            return url.rsplit("/", 1)[0] + "/" + name

        yield new
