"""The gateway under pressure: several workers, several gateways on one PostgreSQL, a worker killed.

Budgets and rate limits must hold exactly whatever the concurrency: many requests race for a
budget only a few fit, and no key ever spends more than it has. Upstream is the fake provider
(instant), so what is measured is the gateway's own bookkeeping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gateway_helpers import eventually, postgres_databases, serve_gateway, write_config

from hackkit.server.store import AdmissionRequest, hash_key, open_store
from hackkit.server.store.base import NANO, migrations
from hackkit.server.store.sqlite import SQLITE

CONFIG = """
[gateway]
default_model = "echo"
[gateway.models]
echo = { model = "fake/echo", input_price = 1000.0, output_price = 1000.0 }
slow = { model = "fake/slow", input_price = 1.0, output_price = 1.0 }
[gateway.keys]
max_tokens = 100
"""
BODY = {"model": "echo", "messages": [{"role": "user", "content": "a question of some length"}], "max_tokens": 100}


def hammer(url: str, key: str, count: int, threads: int = 16) -> list[httpx.Response]:
    """``count`` requests at once (``threads`` in flight), each on its own connection."""

    def one(_: int) -> httpx.Response:
        return httpx.post(
            url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=BODY, timeout=60
        )

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(count)))


def worst_case(body: dict) -> float:
    """What the gateway reserves for BODY at 1000 USD per million tokens either way, in USD."""
    import json

    return (len(json.dumps(body).encode()) + body["max_tokens"]) * 1000 / 1_000_000


def check_the_budget_held(store, key_id: str, budget: float, responses: list[httpx.Response]) -> None:
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(ok) + len(refused) == len(responses), {r.status_code for r in responses}
    assert all(r.json()["error"]["code"] == "insufficient_quota" for r in refused)
    assert refused and ok  # the race was real: some fit, most did not
    key = eventually(lambda: (k := store.find_key(key_id)).reserved_nano == 0 and k)  # every settlement landed
    assert key and key.spent_nano <= budget * NANO
    charged = sum(row["cost_nano"] or 0 for row in store.logs(limit=10_000) if row["key_id"] == key_id)
    assert charged == key.spent_nano  # every answered request was charged, once
    assert key.budget_nano - key.spent_nano < worst_case(BODY) * NANO  # refused only once the worst case no longer fit


@pytest.fixture
def folder(tmp_path) -> Path:
    write_config(tmp_path / "gw", CONFIG)
    return tmp_path / "gw"


@pytest.fixture(scope="module")
def new_postgres_database():
    with postgres_databases() as new:
        yield new


@pytest.fixture(params=["sqlite", "postgres"])
def db(request) -> str | None:
    """The store's URL: None for the SQLite file in the gateway folder, or a fresh PostgreSQL database."""
    return None if request.param == "sqlite" else request.getfixturevalue("new_postgres_database")()


def test_a_budget_race_across_two_workers_never_overspends(folder, db):
    with serve_gateway(folder, workers=2, db=db) as gateway:
        budget = 0.5  # about 38 answers at what they cost, but each is reserved at its worst case, 0.2
        record, secret = gateway.key_record(budget_usd=budget)
        responses = hammer(gateway.url, secret, 60)
        check_the_budget_held(gateway.store, record.id, budget, responses)


@pytest.mark.parametrize("workers", [1, 2])
def test_one_request_at_a_time_is_refused_only_once_the_worst_case_no_longer_fits(folder, db, workers):
    """On PostgreSQL an answer settles just after it: the next admission, on any worker, must not count it."""
    with serve_gateway(folder, db=db, workers=workers) as gateway:
        budget = 0.3  # one worst case (0.2) and a few answers (about 0.013 each)
        record, secret = gateway.key_record(budget_usd=budget)
        statuses = []
        while 429 not in statuses:  # a new connection each time: with two workers, either may answer
            response = httpx.post(
                gateway.url + "/v1/chat/completions",
                headers={"Authorization": f"Bearer {secret}"},
                json=BODY,
                timeout=30,
            )
            statuses.append(response.status_code)
        assert response.json()["error"]["code"] == "insufficient_quota"
        assert len(statuses) > 2 and set(statuses[:-1]) == {200}
        key = eventually(lambda: (k := gateway.store.find_key(record.id)).reserved_nano == 0 and k)
        assert key and key.budget_nano - key.spent_nano < worst_case(BODY) * NANO  # refused only once it did not fit


def test_rpm_holds_exactly_across_two_workers(folder, db):
    with serve_gateway(folder, workers=2, db=db) as gateway:
        secret = gateway.key(rpm=10)
        statuses = sorted(r.status_code for r in hammer(gateway.url, secret, 30))
        assert statuses == [200] * 10 + [429] * 20


def test_two_gateways_on_one_postgresql_share_keys_budgets_and_limits(folder, tmp_path, new_postgres_database):
    url = new_postgres_database()
    second = tmp_path / "gw2"
    write_config(second, CONFIG)
    with serve_gateway(folder, db=url) as one, serve_gateway(second, db=url) as two:
        budget = 0.5
        record, secret = one.key_record(budget_usd=budget)
        with ThreadPoolExecutor(max_workers=2) as pool:
            halves = list(pool.map(lambda g: hammer(g.url, secret, 30, threads=8), (one, two)))
        check_the_budget_held(one.store, record.id, budget, [r for half in halves for r in half])
        limited = two.key(rpm=6)
        statuses = [r.status_code for g in (one, two) for r in hammer(g.url, limited, 6, threads=6)]
        assert sorted(statuses) == [200] * 6 + [429] * 6
        eventually(lambda: len(one.store.logs(limit=1000)) >= 60 + 12)
        rows = one.store.logs(limit=1000)
        assert {r["team"] for r in rows} == {"Team A"} and len(rows) == 60 + 12
        assert one.store.one("SHOW synchronous_commit")[0] == "off"  # as SQLite's WAL with synchronous=NORMAL


def test_kill_9_of_a_worker_loses_no_answered_request_and_a_restart_keeps_keys(folder, db):
    with serve_gateway(folder, workers=2, db=db) as gateway:
        record, secret = gateway.key_record(budget_usd=100.0)
        answered: list[str] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(timeout=30) as http:  # keep-alive: requests stick to one worker until it dies
                while not stop.is_set():
                    try:
                        response = http.post(
                            gateway.url + "/v1/chat/completions",
                            headers={"Authorization": f"Bearer {secret}"},
                            json=BODY,
                        )
                    except httpx.HTTPError:
                        continue  # the connection died with its worker
                    if response.status_code == 200 and response.json()["choices"]:
                        answered.append(response.headers["x-request-id"])

        threads = [threading.Thread(target=load, daemon=True) for _ in range(6)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(1.5)
            workers = worker_pids(gateway.process.pid)
            assert len(workers) == 2
            os.kill(workers[0], signal.SIGKILL)
            deadline = time.time() + 20
            while time.time() < deadline and not (
                len(now := worker_pids(gateway.process.pid)) == 2 and workers[0] not in now
            ):
                time.sleep(0.2)
            assert len(worker_pids(gateway.process.pid)) == 2  # uvicorn's supervisor started a new one
            time.sleep(1.0)
        finally:
            stop.set()  # a failed check above must not leave the load spinning
            for thread in threads:
                thread.join()
        logged = eventually(
            lambda: set(answered) <= (ids := {r["request_id"] for r in gateway.store.logs(limit=100_000)}) and ids
        )
        assert answered and logged and set(answered) <= logged  # every answer a client received is in the log
        spent = gateway.store.find_key(record.id).spent_nano
    with serve_gateway(folder, workers=1, db=db) as restarted:
        response = httpx.post(
            restarted.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"}, json=BODY
        )
        assert response.status_code == 200
        assert eventually(lambda: restarted.store.find_key(record.id).spent_nano > spent)  # its spend carried over


def worker_pids(supervisor: int) -> list[int]:
    """uvicorn's worker processes (the supervisor's Python children)."""
    children = subprocess.run(["pgrep", "-P", str(supervisor)], capture_output=True, text=True).stdout.split()
    pids = [int(p) for p in children]
    return [p for p in pids if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text(errors="replace")]


@pytest.mark.parametrize("upto", range(1, len(migrations(SQLITE)) + 1))
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_store_from_any_earlier_schema_upgrades_keeps_its_keys_and_admits(tmp_path, upto, kind, request):
    url = str(tmp_path / "old.sqlite") if kind == "sqlite" else request.getfixturevalue("new_postgres_database")()
    old = open_store(url, migrate=False)
    old.migrate(upto=upto)
    with old.transaction():  # a key as the first schema wrote it: only its columns
        old.execute(
            "INSERT INTO keys (id, hash, prefix, team, status, budget_nano, spent_nano, created_at) "
            "VALUES ('kold', 'h', 'hk-old', 'Early Team', 'active', 2000000000, 5, 1.0)"
        )
    old.close()
    upgraded = open_store(url)
    key = upgraded.find_key("kold")
    assert (key.team, key.budget_usd, key.spent_nano, key.contact) == ("Early Team", 2.0, 5, None)
    names = [r[0] for r in upgraded.execute("SELECT name FROM _migrations").fetchall()]
    assert names == [name for name, _ in migrations(upgraded.dialect)]
    assert upgraded.migrate() == []  # nothing left to do
    admission = upgraded.admit(AdmissionRequest("r1", "h", "echo", 100, 10, (1000.0, 1000.0), 60))
    assert admission.reserved_nano == 110_000 and upgraded.find_key("kold").reserved_nano == 110_000
    upgraded.close()


def test_stores_opened_by_many_processes_at_once_migrate_once(tmp_path):
    code = "import sys; from hackkit.server.store import open_store; open_store(sys.argv[1]).close()"
    path = str(tmp_path / "fresh.sqlite")
    processes = [subprocess.Popen([os.sys.executable, "-c", code, path], stderr=subprocess.PIPE) for _ in range(4)]
    assert [p.wait(timeout=60) for p in processes] == [0] * 4, [p.stderr.read() for p in processes]
    store = open_store(path)
    assert len(store.execute("SELECT name FROM _migrations").fetchall()) == len(migrations(SQLITE))


def test_the_event_loops_no_wait_path_gives_up_on_a_locked_store_and_changes_nothing(tmp_path):
    import sqlite3

    store = open_store(str(tmp_path / "gw.sqlite"))
    key, secret = store.create_key("Waiters", budget_usd=1.0)
    request = AdmissionRequest("r1", hash_key(secret), "echo", 100, None, (1000.0, 1000.0), 60)
    blocker = sqlite3.connect(tmp_path / "gw.sqlite", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another worker's write in progress
    attempt: list[tuple[bool, object]] = []

    def try_on_a_thread_that_already_waits() -> None:
        store.find_key(key.id)  # this thread's usual connection, with the 30 s busy timeout, exists now
        attempt.append(store.run_without_waiting(store.admit, request))

    trying = threading.Thread(target=try_on_a_thread_that_already_waits)
    trying.start()
    trying.join(10)  # a no-wait attempt made on the waiting connection would still be waiting here
    assert not trying.is_alive() and attempt == [(False, None)]
    trying.join()
    blocker.execute("ROLLBACK")
    assert store.find_key(key.id).reserved_nano == 0  # nothing was reserved by the attempt that gave up
    done, admission = store.run_without_waiting(store.admit, request)
    assert done and admission.reserved_nano > 0
