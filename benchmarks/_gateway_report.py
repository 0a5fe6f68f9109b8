"""The gateway benchmark's figures: one table per scenario, the ratios, the targets, teams served, JSON.

Every scenario runs in rounds, each round measuring every target back to back, so a shared
machine's drift hits them all alike. A table row sums its rounds (requests/s over all of them, CPU
over all answers; p50 and p99 are the median round's); a ratio is the median of the rounds'
ratios, printed with their spread, so one lucky round cannot pass.

Targets (one worker each, this run): the gateway adds under 1 ms to the direct p50 at
concurrency 1; serves at least 10x LiteLLM's requests/s at concurrency 32, streamed and not;
spends at most 1.5 ms of CPU per request (its database's CPU included) in every scenario; its
memory stays flat (RSS after 50,000 requests within 10% of RSS after 5,000); and every request
gets an answer that came from the upstream.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from _common import verdict

ADDED_P50_MS = 1.0
RPS_VS_LITELLM = 10.0
CPU_MS = 1.5
MEMORY_GROWTH = 0.10
TEAM_RPS = 1.0  # a team at full tilt: 60 requests a minute (the rpm of docs/gateway.md's example key)
HEADROOM = 0.5  # plan to run the gateway at half the throughput it reached here
LITELLM_RATIOS = (("rps_vs_litellm", 1), ("p50_vs_litellm", 3), ("cpu_vs_litellm", 3))


@dataclass
class Row:
    target: str
    store: str
    workers: int
    concurrency: int
    stream: bool
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float  # server CPU per request, its database's included
    db_cpu_ms: float  # the database's share of cpu_ms
    rss_mb: float  # the server's processes after the scenario (the database's apart)
    db_rss_mb: float
    upstream_cpu_ms: float  # the mock's CPU per request
    load_cpu_ms: float  # wrk's CPU per request
    upstream_requests: int  # what reached the mock during the scenario
    load_average: float  # the machine's one-minute load average after the scenario (it is shared)

    @property
    def scenario(self) -> tuple[int, bool]:
        return self.concurrency, self.stream

    @property
    def endpoint(self) -> tuple[str, str, int]:
        return self.target, self.store, self.workers


@dataclass
class Memory:
    store: str
    workers: int
    first_requests: int
    first_rss_mb: float
    last_requests: int
    last_rss_mb: float

    @property
    def growth(self) -> float:
        return self.last_rss_mb / self.first_rss_mb - 1 if self.first_rss_mb else 0.0


@dataclass
class Run:
    header: dict[str, Any]
    rounds: list[list[Row]] = field(default_factory=list)  # each round: one row per target and scenario
    memory: list[Memory] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def rows(self) -> list[Row]:
        """One row per target and scenario, its rounds combined."""
        groups: dict[tuple[tuple[str, str, int], tuple[int, bool]], list[Row]] = {}
        for row in (row for rows in self.rounds for row in rows):
            groups.setdefault((row.endpoint, row.scenario), []).append(row)
        return [combine(samples) for samples in groups.values()]

    def find(self, target: str, store: str, workers: int, concurrency: int, stream: bool) -> Row | None:
        return find(self.rows, (target, store, workers), (concurrency, stream))

    def over_rounds(self, figure: Callable[[list[Row]], float | None]) -> tuple[float, list[float]] | None:
        """The median over rounds of ``figure`` (computed on one round's rows), and every round's value."""
        values = [value for rows in self.rounds if (value := figure(rows)) is not None]
        return (statistics.median(values), values) if values else None


def find(rows: list[Row], endpoint: tuple[str, str, int], scenario: tuple[int, bool]) -> Row | None:
    return next((row for row in rows if row.endpoint == endpoint and row.scenario == scenario), None)


def combine(samples: list[Row]) -> Row:
    """Rounds summed: req/s over all of them, CPU over all answers, the median round's p50 and p99."""
    requests, seconds = sum(s.requests for s in samples), sum(s.seconds for s in samples)
    answers = max(requests, 1)

    def per_answer(name: str) -> float:
        return sum(getattr(s, name) * max(s.requests, 1) for s in samples) / answers

    last = samples[-1]
    return Row(
        *(last.target, last.store, last.workers, last.concurrency, last.stream),
        requests=requests,
        seconds=seconds,
        rps=requests / seconds if seconds else 0.0,
        p50_ms=statistics.median(s.p50_ms for s in samples),
        p99_ms=statistics.median(s.p99_ms for s in samples),
        errors=sum(s.errors for s in samples),
        cpu_ms=per_answer("cpu_ms"),
        db_cpu_ms=per_answer("db_cpu_ms"),
        rss_mb=last.rss_mb,
        db_rss_mb=last.db_rss_mb,
        upstream_cpu_ms=per_answer("upstream_cpu_ms"),
        load_cpu_ms=per_answer("load_cpu_ms"),
        upstream_requests=sum(s.upstream_requests for s in samples),
        load_average=statistics.fmean(s.load_average for s in samples),
    )


def scenario_name(concurrency: int, stream: bool) -> str:
    return f"concurrency {concurrency}, {'streamed' if stream else 'JSON'}"


def print_tables(run: Run) -> None:
    for concurrency, stream in sorted({row.scenario for row in run.rows}):
        print(f"\n{scenario_name(concurrency, stream)}")
        print(
            f"  {'target':<9}{'store':<9}{'w':>2}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/req':>11}"
            f"{'(db)':>7}{'RSS MB':>7}{'(db)':>5}{'mock ms':>8}{'wrk ms':>7}{'errors':>7}{'load':>6}"
        )
        for row in (r for r in run.rows if r.scenario == (concurrency, stream)):
            print(
                f"  {row.target:<9}{row.store:<9}{row.workers:>2}{row.rps:>9,.0f}{row.p50_ms:>9.2f}{row.p99_ms:>9.2f}"
                f"{row.cpu_ms:>11.3f}{row.db_cpu_ms:>7.3f}{row.rss_mb:>7.0f}{row.db_rss_mb:>5.0f}"
                f"{row.upstream_cpu_ms:>8.3f}{row.load_cpu_ms:>7.3f}{row.errors:>7}{row.load_average:>6.1f}"
            )


FIGURES: dict[str, tuple[str, Callable[[Row, Row], float]]] = {  # name: (compared with, figure(mine, theirs))
    "added_p50_ms": ("direct", lambda mine, base: mine.p50_ms - base.p50_ms),
    "rps_vs_direct": ("direct", lambda mine, base: mine.rps / base.rps),
    "rps_vs_litellm": ("litellm", lambda mine, peer: mine.rps / peer.rps),
    "p50_vs_litellm": ("litellm", lambda mine, peer: mine.p50_ms / peer.p50_ms),
    "cpu_vs_litellm": ("litellm", lambda mine, peer: mine.cpu_ms / peer.cpu_ms),
}


def ratios(run: Run) -> list[dict[str, Any]]:
    """Each target against direct (added p50, throughput) and LiteLLM with as many workers: medians of rounds."""
    found = []
    for row in run.rows:
        if row.target == "direct":
            continue
        entry: dict[str, Any] = {"target": row.target, "store": row.store, "workers": row.workers}
        entry |= {"concurrency": row.concurrency, "stream": row.stream}
        for name, (peer, _) in FIGURES.items():
            found_ratio = figure_over_rounds(run, row, name) if peer != row.target else None
            if found_ratio:
                entry[name], entry[name + "_rounds"] = found_ratio
        found.append(entry)
    return found


def figure_over_rounds(run: Run, row: Row, name: str) -> tuple[float, list[float]] | None:
    """A figure of ``FIGURES`` for ``row`` in each round, against its peer in that round: median, and all."""
    peer_target, figure = FIGURES[name]
    peer = ("direct", "-", 1) if peer_target == "direct" else (peer_target, "-", row.workers)

    def one_round(rows: list[Row]) -> float | None:
        mine, theirs = find(rows, row.endpoint, row.scenario), find(rows, peer, row.scenario)
        if mine is None or theirs is None:
            return None
        try:
            return figure(mine, theirs)
        except ZeroDivisionError:  # a peer that served nothing, or too little CPU for a clock tick
            return None

    return run.over_rounds(one_round)


def print_ratios(entries: list[dict[str, Any]]) -> None:
    print("\nratios (against LiteLLM with as many workers)")
    print(f"  {'scenario':<26}{'target':<20}{'added p50':>11}{'req/s':>16}{'req/s':>16}{'p50':>16}{'CPU/req':>16}")
    for e in entries:
        name = f"{e['target']} {e['store']} w{e['workers']}"
        added = f"{e['added_p50_ms']:+.2f} ms" if "added_p50_ms" in e else "-"
        direct = f"{e['rps_vs_direct']:.3f}x direct" if "rps_vs_direct" in e else "-"
        cells = [f"{e[k]:.{digits}f}x LiteLLM" if k in e else "-" for k, digits in LITELLM_RATIOS]
        print(f"  {scenario_name(e['concurrency'], e['stream']):<26}{name:<20}{added:>11}{direct:>16}", end="")
        print("".join(f"{cell:>16}" for cell in cells))


def targets(run: Run) -> list[dict[str, Any]]:
    """One verdict per target and per store, on the one-worker gateway."""
    found = []
    for store in dict.fromkeys(row.store for row in run.rows if row.target == "hackkit" and row.workers == 1):
        found += [added_p50(run, store), rps_vs_litellm(run, store), cpu_per_request(run, store)]
        found += [memory_flat(m) for m in run.memory if m.store == store and m.workers == 1]
        found.append(answers(run, store))
    return found


def verdict_of(name: str, store: str, ok: bool | None, detail: str) -> dict[str, Any]:
    return {"target": name, "store": store, "verdict": "n/a" if ok is None else verdict(ok), "detail": detail}


def spread(values: list[float], digits: int) -> str:
    return "rounds " + " ".join(f"{value:.{digits}f}" for value in values)


def added_p50(run: Run, store: str) -> dict[str, Any]:
    added = {}
    for stream in (False, True):
        row = run.find("hackkit", store, 1, 1, stream)
        found = figure_over_rounds(run, row, "added_p50_ms") if row else None
        if found:
            added["streamed" if stream else "JSON"] = found
    parts = [f"{ms:+.2f} ms {kind} ({spread(each, 2)})" for kind, (ms, each) in added.items()]
    detail = ", ".join(parts) + f" (target < {ADDED_P50_MS:g} ms)"
    ok = all(ms < ADDED_P50_MS for ms, _ in added.values()) if len(added) == 2 else None
    return verdict_of("added p50 at concurrency 1", store, ok, detail)


def rps_vs_litellm(run: Run, store: str) -> dict[str, Any]:
    times = {}
    for stream in (False, True):
        row, peer = run.find("hackkit", store, 1, 32, stream), run.find("litellm", "-", 1, 32, stream)
        found = figure_over_rounds(run, row, "rps_vs_litellm") if row and peer else None
        if row and peer and found:
            times["streamed" if stream else "JSON"] = (*found, row.rps, peer.rps)
    parts = [
        f"{x:.1f}x {kind} ({mine:,.0f} vs {theirs:,.0f} req/s; {spread(each, 1)})"
        for kind, (x, each, mine, theirs) in times.items()
    ]
    detail = (", ".join(parts) or "LiteLLM not measured in this run") + f" (target >= {RPS_VS_LITELLM:g}x)"
    ok = all(x >= RPS_VS_LITELLM for x, *_ in times.values()) if len(times) == 2 else None
    return verdict_of("req/s at concurrency 32 vs LiteLLM", store, ok, detail)


def cpu_per_request(run: Run, store: str) -> dict[str, Any]:
    rows = [row for row in run.rows if row.endpoint == ("hackkit", store, 1)]
    if not rows:
        return verdict_of("server CPU per request", store, None, "not measured")
    worst = max(rows, key=lambda row: row.cpu_ms)
    each = ", ".join(f"{r.cpu_ms:.2f}" for r in rows)
    detail = f"at most {worst.cpu_ms:.2f} ms ({scenario_name(*worst.scenario)}; all: {each}) (target <= {CPU_MS:g} ms)"
    return verdict_of("server CPU per request", store, worst.cpu_ms <= CPU_MS, detail)


def memory_flat(memory: Memory) -> dict[str, Any]:
    detail = (
        f"RSS {memory.first_rss_mb:.1f} MB after {memory.first_requests:,} requests, {memory.last_rss_mb:.1f} MB "
        f"after {memory.last_requests:,} ({memory.growth:+.1%}; target within {MEMORY_GROWTH:.0%})"
    )
    return verdict_of("memory flat", memory.store, abs(memory.growth) <= MEMORY_GROWTH, detail)


def answers(run: Run, store: str) -> dict[str, Any]:
    """Every request answered (no error, no status of 400 or more), every answer from the upstream (no cache)."""
    rows = [row for row in run.rows if row.target == "hackkit" and row.store == store]
    errors = sum(row.errors for row in rows)
    short = [row for row in rows if row.upstream_requests < row.requests]
    detail = f"{sum(row.requests for row in rows):,} answers, {errors} errors"
    detail += f", {len(short)} scenarios with fewer upstream calls than answers" if short else ", all from the mock"
    return verdict_of("answers", store, errors == 0 and not short, detail)


def print_targets(entries: list[dict[str, Any]]) -> None:
    print("\ntargets (the gateway with one worker, this run)")
    for e in entries:
        print(f"  {e['store']:<9}{e['target'] + ':':<38}{e['detail']}  {e['verdict'].upper()}")


def teams(run: Run) -> list[dict[str, Any]]:
    """How many teams each setup serves, from its concurrency-32 figures (the lower of JSON and streamed).

    Two ways: at half the req/s it reached here (2 cores shared with wrk and the mock), and at half
    what one dedicated core would give at the CPU per request it spent (its database's included).
    """
    found = []
    for endpoint in dict.fromkeys(row.endpoint for row in run.rows if row.target != "direct"):
        both = [row for stream in (False, True) if (row := run.find(*endpoint, 32, stream))]
        if len(both) == 2:
            rps, cpu_ms = min(row.rps for row in both), max(row.cpu_ms for row in both)
            per_core = 1000 / cpu_ms if cpu_ms else 0.0
            found.append(
                {"target": endpoint[0], "store": endpoint[1], "workers": endpoint[2], "rps": rps}
                | {"teams": int(rps * HEADROOM / TEAM_RPS), "rps_per_core": per_core}
                | {"teams_per_core": int(per_core * HEADROOM / TEAM_RPS)}
            )
    return found


def print_teams(entries: list[dict[str, Any]]) -> None:
    print(f"\nteams served (each at {TEAM_RPS * 60:.0f} requests a minute; the server at {HEADROOM:.0%} of capacity)")
    for e in entries:
        here = f"about {e['teams']:,} teams at the {e['rps']:,.0f} req/s reached here"
        core = f"about {e['teams_per_core']:,} per dedicated core ({e['rps_per_core']:,.0f} req/s)"
        print(f"  {e['target']:<9}{e['store']:<10}w{e['workers']}  {here}; {core}")


def print_report(run: Run) -> None:
    for key, value in run.header.items():
        print(f"{key}: {value}")
    print_tables(run)
    print_ratios(ratios(run))
    print_targets(targets(run))
    print_teams(teams(run))
    for skipped in run.skipped:
        print(f"\nnot measured: {skipped['endpoint']}: {skipped['reason']}")


def as_json(run: Run) -> str:
    document = {
        **run.header,
        "rows": [asdict(row) for row in run.rows],
        "rounds": [[asdict(row) for row in rows] for rows in run.rounds],
        "memory": [asdict(m) | {"growth": m.growth} for m in run.memory],
        "ratios": ratios(run),
        "targets": targets(run),
        "teams": teams(run),
        "skipped": run.skipped,
    }
    return json.dumps(document, indent=2)


COMPUTED = ("rows", "rounds", "memory", "ratios", "targets", "teams", "skipped")


def from_json(text: str) -> Run:
    """A run saved with ``--json``, to print its tables again (``--report FILE``)."""
    document = json.loads(text)
    run = Run({key: value for key, value in document.items() if key not in COMPUTED})
    run.rounds = [[Row(**row) for row in rows] for rows in document["rounds"]]
    run.memory = [Memory(**{k: v for k, v in m.items() if k != "growth"}) for m in document["memory"]]
    run.skipped = document["skipped"]
    return run
