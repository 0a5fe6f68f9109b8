"""Helpers shared by the benchmark scripts: timing summaries and a wire server in its own process."""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
        "mean": statistics.fmean(ordered),
    }


@contextmanager
def wire_server_process(kind: str = "openai") -> Iterator[str]:
    """A WireServer in a separate process, so the client under test has the interpreter to itself."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hackkit.testing.wire", "--kind", kind], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"
