"""A check that the test run leaves no process behind: every process a test starts, it stops.

At the start of the run pytest becomes a "child subreaper" (Linux's PR_SET_CHILD_SUBREAPER), so a
process whose parent died (the Streamlit that `hackkit ui` started, a uvicorn worker) is handed to
pytest rather than to init. At the end, any child still alive is a leak: the run fails, naming each
one, and they are stopped so they do not outlive it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from pathlib import Path

import pytest

PR_SET_CHILD_SUBREAPER = 36
GRACE_S = float(os.environ.get("HACKKIT_LEAK_GRACE_S", "10"))  # processes told to stop may still be exiting
REAPING = pytest.StashKey[bool]()


def become_subreaper() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def children(parent: int) -> dict[int, str]:
    """Living children of ``parent``: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid, state = int(stat.rsplit(")", 1)[1].split()[1]), stat.rsplit(")", 1)[1].split()[0]
            if ppid == parent and state != "Z":
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
    return found


def reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def leftovers() -> dict[int, str]:
    """Children still alive after a grace period, reaping the ones that exit meanwhile."""
    deadline = time.time() + GRACE_S
    while True:
        reap()
        alive = children(os.getpid())
        if not alive or time.time() > deadline:
            return alive
        time.sleep(0.2)


def stop(pids: dict[int, str]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    reap()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[REAPING] = become_subreaper()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a process a test started is still alive (see tests/py)."""
    if not session.config.stash.get(REAPING, False) or hasattr(session.config, "workerinput"):
        return
    alive = leftovers()
    if alive:
        stop(alive)
        lines = "\n".join(f"  pid {pid}: {command[:200]}" for pid, command in alive.items())
        session.config.get_terminal_writer().line(
            f"\nprocesses left running by the tests (now killed):\n{lines}", red=True, bold=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
