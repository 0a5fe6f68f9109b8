"""A throwaway PostgreSQL server, for the gateway's tests and benchmarks.

    with temporary_postgres() as url:       # postgresql://hackkit@127.0.0.1:PORT/gateway
        ...hackkit gateway serve --db URL...

It runs Debian's (or any) PostgreSQL binaries from a temporary folder on a free port and is stopped
and deleted afterwards. ``initdb`` refuses to run as root, so as root the server runs as the
``postgres`` user, in a folder that user owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from hackkit.errors import MissingDependencyError

INSTALL = "apt-get install -y postgresql (Debian, Ubuntu) or brew install postgresql (macOS)"


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server binaries: Debian's newest version, else the one on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for folder in [*candidates, *(str(Path(f).parent) for f in [shutil.which("initdb")] if f)]:
        if all((Path(folder) / tool).exists() for tool in ("initdb", "postgres", "pg_isready", "createdb")):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def temporary_postgres(*, fast: bool = True, database: str = "gateway") -> Iterator[str]:
    """Start a private server; yield its URL. ``fast``: no fsync (fine for tests, not for benchmarks)."""
    binaries = postgres_bin()
    if binaries is None:
        raise MissingDependencyError("A PostgreSQL server", INSTALL)
    folder = Path(tempfile.mkdtemp(prefix="hackkit-pg-"))
    data, sockets = folder / "data", folder / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
    port = _free_port()
    server = None
    try:
        _run(_as_owner([str(binaries / "initdb"), "-D", str(data), "-U", "hackkit", "--auth=trust", "-E", "UTF8"]))
        settings = ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sockets}"]
        if fast:
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        server = subprocess.Popen(
            _as_owner([str(binaries / "postgres"), "-D", str(data), "-p", str(port), *settings]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        _wait_ready(binaries, port, server)
        _run([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "hackkit", database])
        yield f"postgresql://hackkit@127.0.0.1:{port}/{database}"
    finally:
        if server is not None:
            _stop(server)
        shutil.rmtree(folder, ignore_errors=True)


def server_pids(url: str) -> list[int]:
    """The PIDs of the server behind ``url`` and its backends (for counting the database's CPU)."""
    port = url.rsplit(":", 1)[1].split("/")[0]
    found = subprocess.run(["pgrep", "-f", f"postgres.*-p {port}"], capture_output=True, text=True)
    parents = [int(p) for p in found.stdout.split()]
    children = []
    for parent in parents:
        listed = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True)
        children += [int(p) for p in listed.stdout.split()]
    return parents + children


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()[-1000:]}")


def _wait_ready(binaries: Path, port: int, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"postgres exited: {server.stderr.read().decode()[-1000:]}")  # type: ignore[union-attr]
        ready = subprocess.run([str(binaries / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True)
        if ready.returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"postgres did not start on port {port} within {timeout} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(server.pid, 2)  # SIGINT: a fast shutdown
        server.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, 9)
        server.wait()
