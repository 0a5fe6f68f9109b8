"""PostgreSQL's settlement journal: written before the answer ends, shipped after, never lost, never twice.

Real PostgreSQL, real files, a real process killed with SIGKILL: a worker's journal outlives it,
another worker ships it, and a settlement whose statement was still waiting in the database when
its worker died is charged once, whichever of the two lands first.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest
from gateway_helpers import eventually, postgres_databases
from test_gateway_postgres import wait_until_blocked_on_a_lock

from hackkit.server.store import AdmissionRequest, Settlement, hash_key, open_store
from hackkit.server.store.journal import SettlementJournal, journal_entry

PRICE = (1000.0, 1000.0)  # nano-dollars per token either way
COST = 35_000  # what each answer below costs, under its 110,000 worst case


@pytest.fixture(scope="module")
def new_database():
    with postgres_databases() as new:
        yield new


@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "journal"


@pytest.fixture
def store(new_database):
    opened = open_store(new_database())
    yield opened
    opened.close()


def admitted(store, secret: str, count: int, prefix: str = "r") -> list[Settlement]:
    """``count`` requests admitted (each holds its worst case), as the settlements their answers make."""
    settlements = []
    for number in range(count):
        request_id = f"{prefix}{number}"
        admission = store.admit(AdmissionRequest(request_id, hash_key(secret), "echo", 100, 10, PRICE, 60))
        row = {"request_id": request_id, "ts": 1.0, "team": "A", "key_id": admission.key.id, "route": "chat"}
        row |= {"status": "ok", "http_status": 200, "input_tokens": 25, "output_tokens": 10}
        settlements.append(Settlement(request_id, admission.key.id, COST, 35, row, False))
    return settlements


def settled_once(store, key_id: str, count: int) -> bool:
    rows = store.logs(limit=1000)
    key = store.find_key(key_id)
    return len(rows) == count and key.reserved_nano == 0 and key.spent_nano == count * COST


def test_settlements_are_shipped_once_and_a_clean_close_leaves_no_file(store, folder):
    record, secret = store.create_key("A", budget_usd=1.0)
    journal = SettlementJournal(store, folder)
    for settlement in admitted(store, secret, 5):
        journal.append(settlement)
    assert journal.wait()
    assert settled_once(store, record.id, 5)
    assert [r["cost_nano"] for r in store.logs(limit=10)] == [COST] * 5
    journal.close()
    assert list(folder.iterdir()) == []


def test_a_killed_workers_journal_is_shipped_by_another_and_charged_once(store, folder):
    """The dead worker's own statement waits on a lock and commits after it died; the adopter ships the same."""
    record, secret = store.create_key("A", budget_usd=10.0)
    settlements = admitted(store, secret, 20)
    writer = textwrap.dedent(f"""
        import json, sys, time
        from hackkit.server.store import Settlement, open_store
        from hackkit.server.store.journal import SettlementJournal
        journal = SettlementJournal(open_store({store.url!r}), __import__("pathlib").Path({str(folder)!r}))
        for item in json.loads(sys.stdin.readline()):
            journal.append(Settlement(**item))
        print("written", flush=True)
        time.sleep(600)
    """)
    with psycopg.connect(store.url) as holder:
        holder.execute("SELECT 1 FROM keys WHERE id = %s FOR UPDATE", (record.id,))  # shipping must wait
        worker = subprocess.Popen(
            [sys.executable, "-c", writer], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            worker.stdin.write(json.dumps([s.__dict__ for s in settlements]) + "\n")
            worker.stdin.flush()
            assert worker.stdout.readline() == "written\n"
            wait_until_blocked_on_a_lock(store.url)  # its settle_many was sent and waits for the key
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
        (orphan,) = folder.glob("*.jsonl")
        assert len(orphan.read_text().splitlines()) == 20  # written before the answers ended: the kernel kept it
        adopter = SettlementJournal(store, folder)  # a worker starting in its place
        holder.commit()  # now both the dead worker's statement and the adopter's run
    try:
        assert eventually(lambda: not orphan.exists() and settled_once(store, record.id, 20))
        assert sorted(r["request_id"] for r in store.logs(limit=100)) == sorted(s.request_id for s in settlements)
    finally:
        adopter.close()


def test_a_torn_last_line_is_skipped_and_reported(store, folder, caplog):
    record, secret = store.create_key("A", budget_usd=1.0)
    entries = [json.dumps(journal_entry(s)) for s in admitted(store, secret, 2)]
    folder.mkdir()
    (folder / "elsewhere-1-dead.jsonl").write_text("\n".join(entries) + '\n{"request_id": "r2", "ts"')
    with caplog.at_level(logging.WARNING, logger="hackkit.gateway"):
        journal = SettlementJournal(store, folder)
        assert eventually(lambda: settled_once(store, record.id, 2))
        journal.close()
    assert "shipped 2 settlements a stopped worker left in elsewhere-1-dead.jsonl; 1 torn line" in caplog.text
    assert list(folder.iterdir()) == []


def test_while_the_store_refuses_settlements_they_wait_in_the_journal(store, folder, caplog):
    record, secret = store.create_key("A", budget_usd=1.0)
    with psycopg.connect(store.url, autocommit=True) as admin:
        admin.execute("ALTER FUNCTION hackkit_settle_many(json) RENAME TO hackkit_settle_many_away")
        journal = SettlementJournal(store, folder)
        for settlement in admitted(store, secret, 3):
            journal.append(settlement)
        with caplog.at_level(logging.WARNING, logger="hackkit.gateway"):
            assert not journal.wait(timeout=0.5)
        assert journal.backlog == 3 and store.logs(limit=10) == []
        assert len(journal.path.read_text().splitlines()) == 3
        assert "could not ship 3 settlements to the store yet" in caplog.text
        admin.execute("ALTER FUNCTION hackkit_settle_many_away(json) RENAME TO hackkit_settle_many")
    assert journal.wait()
    assert settled_once(store, record.id, 3)
    journal.close()


def test_a_journal_file_is_locked_and_named_only_once_locked(store, folder):
    journal = SettlementJournal(store, folder)
    other = SettlementJournal(store, folder)
    try:
        assert other.adopt_orphans() == 0 and journal.path.exists()  # a live worker's file is not an orphan
        assert journal.path.suffix == ".jsonl" and journal.path.stat().st_mode & 0o777 == 0o600
        assert not list(folder.glob(".*.new"))
    finally:
        other.close()
        journal.close()
