"""`hackkit --help` wall time beside a bare `python -c pass`, interleaved in the same run.

Target: at most 0.3 s more than the bare interpreter.
    python benchmarks/cli_startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import summary, verdict

TARGET_EXTRA_S = 0.3


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    script = shutil.which("hackkit", path=str(Path(sys.executable).parent)) or shutil.which("hackkit")
    if script is None:
        sys.exit("install hackkit first (pip install -e .): no `hackkit` command found")
    bare_cmd, cli_cmd = [sys.executable, "-c", "pass"], [script, "--help"]
    timed(bare_cmd), timed(cli_cmd)  # warm the file cache
    bare, cli = [], []
    for _ in range(args.runs):
        bare.append(timed(bare_cmd))
        cli.append(timed(cli_cmd))
    b, c = summary(bare), summary(cli)
    extra = c["p50"] - b["p50"]
    print(f"python -c pass   p50 {b['p50'] * 1000:7.1f} ms   p95 {b['p95'] * 1000:7.1f} ms")
    print(f"hackkit --help   p50 {c['p50'] * 1000:7.1f} ms   p95 {c['p95'] * 1000:7.1f} ms")
    print(
        f"extra over bare interpreter: {extra * 1000:.1f} ms (target <= {TARGET_EXTRA_S * 1000:.0f} ms), "
        f"ratio {c['p50'] / b['p50']:.2f}x  {verdict(extra <= TARGET_EXTRA_S)}"
    )


if __name__ == "__main__":
    main()
