"""One ingest at a time per index: an OS-level lock on a file beside the manifest.

The lock is ``fcntl.flock`` on POSIX and ``msvcrt.locking`` on Windows; the kernel drops either
when the process holding it ends, however it ends, so a killed ingest never blocks the next one.
Another process is refused at once with the holder's pid (the file holds it); threads of one
process (two visitors uploading at once) wait for each other instead. Where neither call exists,
only threads are kept apart. With ``[rag] chroma_url`` the lock still guards this machine only.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from hackkit.errors import HackkitError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None  # type: ignore[assignment]

WINDOWS_LOCK_OFFSET = 1 << 20  # Windows locks a byte range; this one leaves the pid at the start readable

_locks_lock = threading.Lock()
_thread_locks: dict[str, threading.Lock] = {}


class IngestRunning(HackkitError):
    def __init__(self, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "its pid is not known yet"
        super().__init__(
            f"Another ingest is running on this index ({who}).",
            hint="wait for it to finish and run this again"
            + (f", or stop it first (kill {pid}); a stopped ingest resumes where it was" if pid else ""),
        )
        self.pid = pid


@contextlib.contextmanager
def ingest_lock(path: Path) -> Iterator[None]:
    """Hold the index's ingest lock at ``path`` for the block, or raise :class:`IngestRunning`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _thread_lock(path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not _try_lock(fd):
                raise IngestRunning(_holder(path))
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _thread_lock(path: Path) -> threading.Lock:
    with _locks_lock:
        return _thread_locks.setdefault(str(path.resolve()), threading.Lock())


def _try_lock(fd: int) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    if msvcrt is not None:
        os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
        return True
    return True


def _holder(path: Path) -> int | None:
    """The pid the holder wrote; it writes it just after it locks, so wait a moment for it."""
    for _ in range(20):
        with contextlib.suppress(OSError, ValueError):
            return int(path.read_text().strip())
        time.sleep(0.01)
    return None
