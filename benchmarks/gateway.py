"""The workshop gateway against LiteLLM's proxy, both in front of one fast mock upstream, same run.

The same closed-loop load (wrk: C connections, each sending its next request when the last answer
ended) goes to the mock directly, through ``hackkit gateway serve`` (SQLite and PostgreSQL, one
worker and two) and through LiteLLM's proxy (no database, callbacks off), at concurrency 1 and 32,
JSON and streamed. Every target runs for the whole run; each round measures every scenario on
every target back to back, so the machine's drift (it is shared) hits them alike, and the ratios
are the median round's, printed with the spread. Each scenario prints requests/s, p50 and p99,
the server's CPU per request (utime + stime of its processes and their children, from /proc,
over the scenario, divided by the answers served; PostgreSQL's processes counted too), its RSS,
the mock's and wrk's CPU per request (they share the machine), then the ratios, the targets and
how many teams each setup serves. Every target's answers are checked first, and errors and
answers that never reached the mock are counted. The script starts every process itself on free
loopback ports and stops them all, children included, on exit, on an error, on Ctrl+C and on
SIGTERM. LiteLLM is installed into its own venv the first time (``--litellm-venv`` or
``$HACKKIT_BENCH_LITELLM_VENV``, default ``~/.cache/hackkit-bench/litellm-venv``).

    python benchmarks/gateway.py                        # everything, 3 rounds of 4 s: 10-20 minutes
    python benchmarks/gateway.py --quick --skip-litellm # a smoke run, a minute or two
    python benchmarks/gateway.py --rounds 5 --duration 2 --workers 1 --skip-postgres --json
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import _gateway_report as report
import _litellm_proxy as litellm
from _gateway_targets import (
    Endpoint,
    Mock,
    TargetFailed,
    check_answers,
    direct,
    hackkit_gateway,
    litellm_proxy,
    mock_upstream,
    request_body,
)
from _load import describe, run_load
from _postgres import find_bin
from _services import ServiceFailed, cpu_seconds, exit_on_sigterm, rss_bytes

MB = 1024 * 1024
VENV_VARIABLE = "HACKKIT_BENCH_LITELLM_VENV"


@dataclass
class Options:
    seconds: int | None  # per scenario and round, unless requests is set (wrk takes whole seconds)
    requests: int | None
    rounds: int
    concurrency: list[int]
    workers: list[int]
    stores: list[str]
    litellm_python: Path | None  # None: LiteLLM skipped
    pg_bin: Path | None
    warmup_seconds: int
    soak: tuple[int, int] | None  # RSS after this many requests, and after that many
    threads: int = 1
    served: dict[str, int] = field(default_factory=dict)  # requests served so far, per endpoint


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 1 s, memory over 500 -> 2,500 requests")
    parser.add_argument("--rounds", type=int, help="rounds, each running every scenario on every target (default 3)")
    parser.add_argument("--duration", type=int, help="whole seconds a scenario runs in each round (default 4)")
    parser.add_argument("--requests", type=int, help="answers a scenario gets in each round, instead of a duration")
    parser.add_argument("--skip-litellm", action="store_true", help="no LiteLLM: no install, no ratios against it")
    parser.add_argument("--skip-postgres", action="store_true", help="the gateway on SQLite only")
    parser.add_argument("--workers", default="1,2", help="gateway and LiteLLM worker counts (default 1,2)")
    parser.add_argument("--concurrency", default="1,32", help="connections (default 1,32)")
    parser.add_argument("--soak", help="memory check: RSS after N1 and after N2 requests (default 5000,50000)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1: it is not the bottleneck)")
    parser.add_argument(
        "--litellm-venv",
        type=Path,
        help=f"where LiteLLM is installed (default ${VENV_VARIABLE}, else {litellm.DEFAULT_VENV})",
    )
    parser.add_argument("--pg-bin", help="folder of initdb and postgres (default Debian's newest)")
    parser.add_argument("--work-dir", type=Path, help="keep configs, databases and logs here (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of tables")
    parser.add_argument("--report", type=Path, help="measure nothing: print the tables of a run saved with --json")
    return parser.parse_args(argv)


def litellm_venv(args: argparse.Namespace) -> Path:
    from_env = os.environ.get(VENV_VARIABLE)
    return args.litellm_venv or (Path(from_env).expanduser() if from_env else litellm.DEFAULT_VENV)


def options_from(args: argparse.Namespace) -> Options:
    soak = args.soak or ("500,2500" if args.quick else "5000,50000")
    first, last = (int(n) for n in soak.split(","))
    return Options(
        seconds=None if args.requests else (args.duration or (1 if args.quick else 4)),
        requests=args.requests,
        rounds=args.rounds or (2 if args.quick else 3),
        concurrency=[int(c) for c in args.concurrency.split(",")],
        workers=[int(w) for w in args.workers.split(",")],
        stores=["sqlite"] if args.skip_postgres else ["sqlite", "postgres"],
        litellm_python=None if args.skip_litellm else litellm.ensure_installed(litellm_venv(args), log),
        pg_bin=None if args.skip_postgres else find_bin(args.pg_bin),
        warmup_seconds=1 if args.quick else 2,
        soak=(first, last) if last > first > 0 else None,
        threads=args.threads,
    )


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def endpoints(mock: Mock, folder: Path, options: Options) -> Iterator[tuple[str, AbstractContextManager[Endpoint]]]:
    """Every target to measure, in order, as (a name for messages, a context manager that starts it)."""
    yield "direct", direct(mock)
    for store in options.stores:
        for workers in options.workers:
            where = folder / f"hackkit-{store}-w{workers}"
            yield f"hackkit {store} w{workers}", hackkit_gateway(mock, where, workers, store, options.pg_bin)
    if options.litellm_python:
        for workers in options.workers:
            where = folder / f"litellm-w{workers}"
            yield f"litellm w{workers}", litellm_proxy(mock, where, workers, options.litellm_python)


def measure(endpoint: Endpoint, mock: Mock, concurrency: int, stream: bool, options: Options) -> report.Row:
    """One scenario: the load, and the server's, database's and mock's CPU over it."""
    body = request_body(endpoint.model, stream)
    mock_roots = [mock.service.process.pid]
    server0, db0, mock0 = cpu_seconds(endpoint.server), cpu_seconds(endpoint.database), cpu_seconds(mock_roots)
    served0 = mock.served()
    result = run_load(endpoint.url, body, endpoint.key, concurrency, options.seconds, options.requests, options.threads)
    db_cpu = cpu_seconds(endpoint.database) - db0
    server_cpu = cpu_seconds(endpoint.server) - server0 + db_cpu
    mock_cpu = cpu_seconds(mock_roots) - mock0
    upstream = mock.served() - served0
    count(options, endpoint, result.requests)
    answers = max(result.requests, 1)
    return report.Row(
        *(endpoint.target, endpoint.store, endpoint.workers, concurrency, stream),
        requests=result.requests,
        seconds=result.seconds,
        rps=result.rps,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        errors=result.errors,
        cpu_ms=server_cpu / answers * 1000,
        db_cpu_ms=db_cpu / answers * 1000,
        rss_mb=rss_bytes(endpoint.server) / MB,
        db_rss_mb=rss_bytes(endpoint.database) / MB,
        upstream_cpu_ms=mock_cpu / answers * 1000,
        load_cpu_ms=result.load_cpu_s / answers * 1000,
        upstream_requests=upstream,
        load_average=os.getloadavg()[0],
    )


def count(options: Options, endpoint: Endpoint, requests: int) -> None:
    options.served[endpoint.label] = options.served.get(endpoint.label, 0) + requests


def load_until(endpoint: Endpoint, options: Options, total: int) -> None:
    """Concurrency-32 load, half JSON and half streamed, until the endpoint has served ``total`` answers."""
    for stream in (False, True):
        missing = total - options.served.get(endpoint.label, 0)
        share = missing if stream else missing // 2
        if share > 0:
            result = run_load(endpoint.url, request_body(endpoint.model, stream), endpoint.key, 32, requests=share)
            count(options, endpoint, result.requests)


def warm_up(endpoint: Endpoint, options: Options) -> None:
    for stream in (False, True):
        body = request_body(endpoint.model, stream)
        result = run_load(endpoint.url, body, endpoint.key, 32, seconds=options.warmup_seconds)
        count(options, endpoint, result.requests)


def prepare(endpoint: Endpoint, options: Options) -> tuple[int, float] | None:
    """Check the answers and warm up; on a one-worker gateway, load it to the soak's first mark and take its RSS."""
    check_answers(endpoint)
    warm_up(endpoint, options)
    if not (options.soak and endpoint.target == "hackkit" and endpoint.workers == 1):
        return None
    load_until(endpoint, options, options.soak[0])
    return options.served[endpoint.label], rss_bytes(endpoint.server) / MB


def one_round(run: report.Run, live: list[Endpoint], mock: Mock, options: Options) -> None:
    """Every scenario on every target, the targets back to back within a scenario."""
    rows: list[report.Row] = []
    run.rounds.append(rows)
    for concurrency in options.concurrency:
        for stream in (False, True):
            for endpoint in live:
                row = measure(endpoint, mock, concurrency, stream, options)
                rows.append(row)
                log(
                    f"  round {len(run.rounds)}, {report.scenario_name(concurrency, stream)}, {endpoint.label}: "
                    f"{row.rps:,.0f} req/s, p50 {row.p50_ms:.2f} ms, p99 {row.p99_ms:.2f} ms, "
                    f"CPU {row.cpu_ms:.3f} ms/req, {row.errors} errors"
                )


def soak_end(run: report.Run, endpoint: Endpoint, first: tuple[int, float], options: Options) -> None:
    assert options.soak is not None
    load_until(endpoint, options, options.soak[1])
    last = (options.served[endpoint.label], rss_bytes(endpoint.server) / MB)
    run.memory.append(report.Memory(endpoint.store, endpoint.workers, *first, *last))
    log(f"  {endpoint.label} memory: {first[1]:.1f} MB after {first[0]:,} requests, {last[1]:.1f} MB after {last[0]:,}")


def header(options: Options) -> dict[str, object]:
    each = f"{options.requests:,} requests" if options.requests else f"{options.seconds} s"
    per = f"{options.rounds} rounds of {each} a scenario and target, after a warm-up"
    return {
        "run": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average {load_average()}",
        "load": f"{describe(options.threads)}; {per}",
        "upstream": "benchmarks/_mock_upstream.py (asyncio + httptools + uvloop), a 5-token answer",
        "litellm": f"litellm[proxy]=={litellm.LITELLM_VERSION}" if options.litellm_python else "skipped",
    }


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


Prepared = tuple[Endpoint, tuple[int, float] | None]  # a running target, and its RSS at the soak's first mark


def start_all(
    stack: contextlib.ExitStack, run: report.Run, mock: Mock, folder: Path, options: Options
) -> list[Prepared]:
    """Start and prepare every target, each kept running until ``stack`` closes; a failure skips only that one."""
    live = []
    for name, target in endpoints(mock, folder, options):
        log(f"{name}: starting")
        own = contextlib.ExitStack()
        stack.push(own)  # before it starts anything, so an interruption stops it too
        try:
            endpoint = own.enter_context(target)
            live.append((endpoint, prepare(endpoint, options)))
        except (TargetFailed, ServiceFailed) as failure:
            own.close()
            log(f"  not measured: {failure}")
            run.skipped.append({"endpoint": name, "reason": str(failure).splitlines()[0]})
    return live


def run_all(options: Options, folder: Path) -> report.Run:
    run = report.Run(header(options))
    with mock_upstream(folder) as mock, contextlib.ExitStack() as stack:
        live = start_all(stack, run, mock, folder, options)
        for _ in range(options.rounds):
            one_round(run, [endpoint for endpoint, _ in live], mock, options)
        for endpoint, first in live:
            if first:
                soak_end(run, endpoint, first, options)
    run.header["load average at the end"] = load_average()
    return run


@contextlib.contextmanager
def work_folder(path: Path | None) -> Iterator[Path]:
    if path:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="hackkit-bench-gateway-") as tmp:
        yield Path(tmp)


def main(argv: list[str] | None = None) -> int:
    exit_on_sigterm()
    args = parse_args(argv)
    if args.report:
        report.print_report(report.from_json(args.report.read_text()))
        return 0
    options = options_from(args)
    try:
        with work_folder(args.work_dir) as folder:
            run = run_all(options, folder)
    except KeyboardInterrupt:
        log("interrupted: every process this run started is stopped")
        return 130
    if args.json:
        print(report.as_json(run))
    else:
        report.print_report(run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
