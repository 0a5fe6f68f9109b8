"""The project's app, started for the backup demo and stopped afterwards, children included.

``hackkit ui`` runs in the project's folder (so its ``hackkit.toml`` and ``.env`` apply) on a free
port of 127.0.0.1, in a process group of its own: stopping it sends SIGTERM to the whole group,
then SIGKILL to what is left, so no Streamlit or Gradio worker outlives the recording.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from hackkit.errors import HackkitError

START_TIMEOUT = 120.0  # seconds for the app to answer on its port (Gradio takes 5-15 s, more on a busy machine)
STOP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def served_app(project: Path, ui: str) -> Iterator[str]:
    """``hackkit ui --backend UI`` in ``project`` on a free port; yields its URL, stops it on exit."""
    port = free_port()
    command = [sys.executable, "-m", "hackkit", "ui", "--backend", ui, "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False"}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, cwd=project, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            _wait_for_port(process, port, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(process)


def _wait_for_port(process: subprocess.Popen[bytes], port: int, log: IO[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HackkitError(
                f"The app stopped before it answered (exit code {process.returncode}):\n{_tail(log)}",
                hint="run `hackkit ui` in the project to see the whole error, or pass --url of a running app",
            )
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        time.sleep(0.25)
    raise HackkitError(
        f"The app did not answer on port {port} within {START_TIMEOUT:.0f} s.",
        hint="start it yourself (`hackkit ui`) and pass --url http://127.0.0.1:7860",
    )


def _tail(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read()[-2000:].decode("utf-8", "replace").strip()


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL to whatever is left after STOP_TIMEOUT."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # children that ignored SIGTERM, or outlived their parent
    process.wait()
