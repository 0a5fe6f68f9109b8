"""A throwaway PostgreSQL server for the gateway benchmark: initdb, start on a free port, stop, delete.

Debian's PostgreSQL (``/usr/lib/postgresql/N/bin``, the newest N) unless ``--pg-bin`` names another
folder. ``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` user
and every server command runs through ``runuser -u postgres``. The server keeps its default
settings (fsync on: what a workshop would run), listens on 127.0.0.1 only, trusts local
connections, and its CPU is measured over the postmaster's tree (the backends are its children).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from _services import Service, ServiceFailed, free_port, started

DEBIAN_ROOT = Path("/usr/lib/postgresql")


@dataclass
class Postgres:
    url: str
    service: Service


def find_bin(explicit: str | None = None) -> Path | None:
    """The folder holding ``initdb`` and ``postgres``: the one given, Debian's newest, or on PATH."""
    if explicit:
        return Path(explicit)
    versions = sorted((p for p in DEBIAN_ROOT.glob("*/bin") if (p / "initdb").exists()), key=lambda p: p.parent.name)
    if versions:
        return versions[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def as_owner(argv: list[str]) -> list[str]:
    """Run as the ``postgres`` user when we are root (initdb and postgres refuse root)."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def make_cluster(bin_dir: Path, root: Path, log: Path) -> Path:
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (root, data):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    command = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]
    with log.open("ab") as out:
        result = subprocess.run(as_owner(command), stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise ServiceFailed(f"initdb failed ({result.returncode}); see {log}")
    return data


@contextlib.contextmanager
def postgres_server(bin_dir: Path, log: Path, database: str = "bench") -> Iterator[Postgres]:
    """A fresh cluster on a free port with ``database`` created; stopped (fast shutdown) and deleted after."""
    root = Path(tempfile.mkdtemp(prefix="hackkit-bench-pg-"))
    try:
        data = make_cluster(bin_dir, root, log)
        port = free_port()
        argv = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(root)]
        argv += ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]
        pid_file = data / "postmaster.pid"
        with started("postgres", as_owner(argv), log, stop_signal=signal.SIGINT, pid_file=pid_file) as service:
            wait_ready(bin_dir, port, service)
            create_database(bin_dir, port, database, log)
            yield Postgres(f"postgresql://postgres@127.0.0.1:{port}/{database}", service)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def wait_ready(bin_dir: Path, port: int, service: Service, timeout: float = 60.0) -> None:
    check = [str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise ServiceFailed(f"postgres exited with {service.process.returncode}:\n{service.log_tail()}")
        if subprocess.run(check, capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise ServiceFailed(f"postgres did not accept connections within {timeout:.0f} s:\n{service.log_tail()}")


def create_database(bin_dir: Path, port: int, database: str, log: Path) -> None:
    command = [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database]
    with log.open("ab") as out:
        if subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
            raise ServiceFailed(f"createdb {database} failed; see {log}")
