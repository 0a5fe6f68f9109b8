"""The gateway store's own cost per request: one admission and one settlement, no HTTP, no upstream.

What ``benchmarks/gateway.py`` cannot separate: how much of a request's time and CPU is the
store's (the gateway process's share and the database's), and how many statements it sends. Each
request is ``store.admit`` then ``store.settle`` for a key with a budget (the benchmark's key) and,
with ``--limits``, rpm and tpm too, on one thread, in a loop. PostgreSQL is a fresh cluster started
by the script (fsync on, as ``gateway.py`` runs it), stopped and deleted after; its CPU is the
postmaster's tree from ``/proc``. ``--profile`` prints cProfile's top functions of the loop.
PostgreSQL runs twice: settling before the answer, as when the journal cannot be written
(``postgres``), and as the gateway does, appending to the worker's settlement journal that a
thread ships in batches (``postgres+journal``: its p50 is the request path's, admission and the
append; its CPU counts the shipping too, which the loop waits for at the end).

    python benchmarks/gateway_store.py                       # SQLite and PostgreSQL, 3,000 requests each
    python benchmarks/gateway_store.py --skip-sqlite --profile
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _postgres import find_bin, postgres_server
from _services import cpu_seconds

from hackkit.server.store import AdmissionRequest, Settlement, SQLStore, hash_key, open_store
from hackkit.server.store.journal import SettlementJournal

PRICE = (100.0, 300.0)  # nano-dollars per input and output token: the benchmark's 0.1 and 0.3 USD per million


@dataclass
class Figures:
    store: str
    requests: int
    p50_us: float
    p99_us: float
    client_cpu_us: float
    db_cpu_us: float
    statements: float


def one_request(store: SQLStore, secret_hash: str, number: int, journal: Any = None) -> None:
    request_id = f"bench{number:08d}"
    request = AdmissionRequest(request_id, secret_hash, "bench", 200, 16, PRICE, 300.0, default_max_tokens=64)
    admission = store.admit(request)
    log = {"request_id": request_id, "ts": time.time(), "team": admission.key.team, "key_id": admission.key.id}
    log |= {"route": "chat", "model_asked": "bench", "input_tokens": 20, "output_tokens": 5, "status": "ok"}
    log |= {"http_status": 200, "latency_ms": 0.5}
    windowed = admission.key.rpm is not None or admission.key.tpm is not None
    settlement = Settlement(request_id, admission.key.id, 3500, 25, log, windowed)
    if journal is None or journal.append(settlement) is None:
        store.settle(settlement)


def counting(store: SQLStore) -> list[int]:
    """Count the statements the store sends (wraps its ``execute``)."""
    counter = [0]
    execute = store.execute

    def counted(sql: str, args: Any = ()) -> Any:
        counter[0] += 1
        return execute(sql, args)

    store.execute = counted  # type: ignore[method-assign]
    return counter


def measure(
    store: SQLStore, name: str, db_roots: list[int], requests: int, limits: bool, profile: bool, journal: Any = None
) -> Figures:
    limited = {"rpm": 10**6, "tpm": 10**9} if limits else {}
    _, secret = store.create_key("bench", budget_usd=1_000_000.0, **limited)
    secret_hash = hash_key(secret)
    for number in range(200):  # warm up: connections, prepared statements
        one_request(store, secret_hash, -number - 1 - 1000 * bool(journal), journal)
    if journal is not None:
        journal.wait()
    counter = counting(store)
    profiler = cProfile.Profile() if profile else None
    samples = []
    cpu0, db0 = time.process_time(), cpu_seconds(db_roots) if db_roots else 0.0
    with profiler or contextlib.nullcontext():
        for number in range(requests):
            started = time.perf_counter()
            one_request(store, secret_hash, number + 1_000_000 * bool(journal), journal)
            samples.append(time.perf_counter() - started)
        if journal is not None:
            journal.wait(timeout=60)  # the shipping's CPU counts too
    client = time.process_time() - cpu0
    db = (cpu_seconds(db_roots) - db0) if db_roots else 0.0
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        print(text.getvalue())
    quantiles = statistics.quantiles(samples, n=100)
    return Figures(
        name, requests, quantiles[49] * 1e6, quantiles[98] * 1e6, client / requests * 1e6, db / requests * 1e6,
        counter[0] / requests,
    )  # fmt: skip


def stores(skip_sqlite: bool, skip_postgres: bool, work: Path) -> Iterator[tuple[str, SQLStore, list[int], Any]]:
    """Each store to measure, in turn; PostgreSQL's server runs only while its store is measured."""
    if not skip_sqlite:
        store = open_store(str(work / "gateway.sqlite"))
        yield "sqlite", store, [], None
        store.close()
    if not skip_postgres:
        binaries = find_bin()
        if binaries is None:
            raise SystemExit("no PostgreSQL found (apt-get install -y postgresql), or pass --skip-postgres")
        with postgres_server(binaries, work / "postgres.log") as postgres:
            store = open_store(postgres.url)
            yield "postgres", store, postgres.service.roots, None
            journal = SettlementJournal(store, work / "journal")
            yield "postgres+journal", store, postgres.service.roots, journal
            journal.close()
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--limits", action="store_true", help="the key has rpm and tpm too (a rate window)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile's top 25 functions of each loop")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hackkit-bench-store-") as folder:
        for name, store, db_roots, journal in stores(args.skip_sqlite, args.skip_postgres, Path(folder)):
            rows.append(measure(store, name, db_roots, args.requests, args.limits, args.profile, journal))
    print(f"admit + settle, one thread, {args.requests:,} requests, key with a budget{' and rpm/tpm' * args.limits}")
    print(f"{'store':16} {'p50 us':>8} {'p99 us':>8} {'client CPU us':>14} {'db CPU us':>10} {'statements':>11}")
    for row in rows:
        print(
            f"{row.store:16} {row.p50_us:8.0f} {row.p99_us:8.0f} {row.client_cpu_us:14.0f} {row.db_cpu_us:10.0f} "
            f"{row.statements:11.1f}"
        )


if __name__ == "__main__":
    main()
