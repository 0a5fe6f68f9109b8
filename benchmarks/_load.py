"""Closed-loop load with wrk: C connections, each sending its next request when the last answer ends.

wrk is C and one thread of it does over 20,000 requests/s here, so at 32 connections the server,
not the load generator, is the bottleneck (a Python client caps out first on 2 cores). A Lua
script sets the POST body and headers, and its ``done`` hook prints the figures as one JSON line;
with ``requests`` set, a ``response`` hook counts answers and says so on stdout when its thread
has served its share, and wrk is then stopped with SIGINT, as Ctrl+C stops it (wrk alone only runs
for a duration, and a Lua ``thread:stop()`` still waits out the duration). wrk parses chunked
responses, so a streamed answer counts when its stream ends. Answers with a status of 400 or more
are counted as errors, never as served.
"""

from __future__ import annotations

import json
import resource
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRK = shutil.which("wrk")

SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {authorization}

local share = {share}
local counted = 0
{response_hook}

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n@@wrk {{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, '
      .. '"timeout": %d, "p50_us": %d, "p99_us": %d, "mean_us": %f, "max_us": %d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
"""

RESPONSE_HOOK = """
function response(status, headers, body)
  counted = counted + 1
  if counted == share then
    io.write("@@share-served\\n")
    io.flush()
  end
end
"""


@dataclass
class LoadResult:
    requests: int  # answers with a status under 400
    seconds: float
    errors: int  # connect, read, write and timeout errors, and answers with a status of 400 or more
    p50_ms: float
    p99_ms: float
    mean_ms: float
    load_cpu_s: float  # the load generator's own CPU

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def describe(threads: int) -> str:
    version = subprocess.run([WRK or "wrk", "--version"], capture_output=True, text=True).stdout.split("[")[0]
    return f"{version.strip()}, {threads} thread{'s' if threads > 1 else ''}, closed loop, keep-alive"


def lua_script(body: dict[str, Any], key: str, share: int | None) -> str:
    return SCRIPT.format(
        body=lua_string(json.dumps(body, separators=(",", ":"))),
        authorization=lua_string(f"Bearer {key}"),
        share=share or 0,
        response_hook=RESPONSE_HOOK if share else "",
    )


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def run_load(
    url: str,
    body: dict[str, Any],
    key: str,
    connections: int,
    seconds: int | None = None,
    requests: int | None = None,
    threads: int = 1,
) -> LoadResult:
    """``connections`` clients in a closed loop for ``seconds`` (whole: wrk's unit), or until ``requests`` answers."""
    if WRK is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk): the gateway benchmark needs it")
    threads = max(1, min(threads, connections))
    share = -(-requests // threads) if requests else None
    duration = max(1, int(seconds)) if seconds else 600
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(body, key, share))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        command = [WRK, "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "30s"]
        completed = run_wrk([*command, "-s", script.name, url], threads if share else 0, duration + 60)
    finally:
        Path(script.name).unlink()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return parse(completed, cpu)


def run_wrk(command: list[str], stop_after_shares: int, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run wrk; once ``stop_after_shares`` threads said they served their share, stop it with SIGINT."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            lines, shares = [], 0
            for line in process.stdout:
                lines.append(line)
                shares += line.startswith("@@share-served")
                if stop_after_shares and shares == stop_after_shares:
                    process.send_signal(signal.SIGINT)
                    stop_after_shares = 0
            _, stderr = process.communicate(timeout=timeout)
        except BaseException:
            process.kill()
            raise
    return subprocess.CompletedProcess(command, process.returncode, "".join(lines), stderr)


def parse(completed: subprocess.CompletedProcess[str], cpu: float) -> LoadResult:
    line = next((line for line in completed.stdout.splitlines() if line.startswith("@@wrk ")), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    figures = json.loads(line.removeprefix("@@wrk "))
    errors = sum(figures[kind] for kind in ("connect", "read", "write", "status", "timeout"))
    return LoadResult(
        requests=figures["requests"] - figures["status"],
        seconds=figures["duration_us"] / 1e6,
        errors=errors,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        mean_ms=figures["mean_us"] / 1000,
        load_cpu_s=cpu,
    )
