"""Processes a benchmark starts and must stop: free ports, health waits, CPU and memory from /proc.

Every service starts in its own session (process group), logs to a file, and is stopped with its
whole group, children included, when the context that started it exits: on success, on an error,
on Ctrl+C and on SIGTERM (``exit_on_sigterm`` turns SIGTERM into ``SystemExit``). CPU is
utime + stime of a process and all its descendants (``cutime``/``cstime`` count the children
that already exited), read from ``/proc`` so a server's worker processes are included.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class ServiceFailed(RuntimeError):
    """A service exited or never became healthy; the message ends with its log's tail."""


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    stop_signal: int = signal.SIGTERM
    pid_file: Path | None = None  # where the real server writes its pid, when a wrapper starts it

    @property
    def roots(self) -> list[int]:
        """The processes whose trees this service's CPU and memory are measured over."""
        roots = [self.process.pid]
        if self.pid_file and self.pid_file.exists():
            first = self.pid_file.read_text().split("\n", 1)[0].strip()
            roots += [int(first)] if first.isdigit() else []
        return roots

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so ``finally`` blocks and exit stacks stop every service."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


@contextlib.contextmanager
def started(
    name: str,
    argv: list[str],
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stop_signal: int = signal.SIGTERM,
    pid_file: Path | None = None,
) -> Iterator[Service]:
    """Start ``argv`` in its own process group; stop the whole group on the way out."""
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
    service = Service(name, process, log, stop_signal, pid_file)
    try:
        yield service
    finally:
        stop(service)


def stop(service: Service, grace: float = 10.0) -> None:
    """The stop signal to the service (its real server too), then SIGKILL to whatever is left of its group."""
    group = service.process.pid  # start_new_session: the group id is the leader's pid
    for pid in dict.fromkeys(service.roots):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, service.stop_signal)
    with contextlib.suppress(subprocess.TimeoutExpired):
        service.process.wait(timeout=grace)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and group_alive(group):
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    service.process.wait()


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def wait_healthy(service: Service, url: str, timeout: float = 120.0) -> None:
    """Poll ``url`` until it answers 200; fail early, with the log, if the service exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise ServiceFailed(f"{service.name} exited with {service.process.returncode}:\n{service.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise ServiceFailed(f"{service.name} did not answer {url} within {timeout:.0f} s:\n{service.log_tail()}")


def process_table() -> dict[int, tuple[int, list[str]]]:
    """Every readable process: pid -> (parent pid, the fields of /proc/PID/stat after the name)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), fields)
    return table


def tree(roots: list[int], table: dict[int, tuple[int, list[str]]]) -> set[int]:
    """The roots and all their descendants."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [pid for pid in roots if pid in table]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return found


def cpu_seconds(roots: list[int]) -> float:
    """utime + stime + cutime + cstime of the roots' trees, in seconds."""
    table = process_table()
    ticks = sum(sum(int(table[pid][1][index]) for index in (11, 12, 13, 14)) for pid in tree(roots, table))
    return ticks / CLOCK_TICKS


def rss_bytes(roots: list[int]) -> int:
    """Resident memory of the roots' trees (field 24 of /proc/PID/stat, in pages)."""
    table = process_table()
    return sum(int(table[pid][1][21]) for pid in tree(roots, table)) * PAGE_SIZE
