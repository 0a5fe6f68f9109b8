"""PostgreSQL's settlement journal: written before the answer ends, shipped after, never lost, never twice.

Real PostgreSQL, real files, a real process killed with SIGKILL: a worker's journal outlives it,
another worker ships it, and a settlement whose statement was still waiting in the database when
its worker died is charged once, whichever of the two lands first.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest
from gateway_helpers import eventually, postgres_databases
from test_gateway_postgres import wait_until_blocked_on_a_lock

from hackkit.errors import ConfigError
from hackkit.server.store import AdmissionRequest, Settlement, hash_key, open_store
from hackkit.server.store import journal as journal_module
from hackkit.server.store.journal import SettlementJournal, journal_entry, journal_for

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


def shipped(store, folder, count: int):
    """A new key and a journal that wrote ``count`` of its answered requests, all shipped."""
    record, secret = store.create_key("A", budget_usd=1.0)
    journal = SettlementJournal(store, folder)
    for settlement in admitted(store, secret, count):
        journal.append(settlement)
    assert journal.wait()
    return record, journal


def test_settlements_are_shipped_once_and_a_clean_close_leaves_no_file(store, folder):
    record, journal = shipped(store, folder, 5)
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
    name = f"{store.identity()[:12]}-elsewhere-1-dead.jsonl"  # files are named after their database
    (folder / name).write_text("\n".join(entries) + '\n{"request_id": "r2", "ts"')
    with caplog.at_level(logging.WARNING, logger="hackkit.gateway"):
        journal = SettlementJournal(store, folder)
        assert eventually(lambda: settled_once(store, record.id, 2))
        journal.close()
    assert f"shipped 2 settlements a stopped worker left in {name}; 1 torn line" in caplog.text
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
        (late,) = admitted(store, secret, 1, prefix="late")
        assert journal.append(late) is None  # the journal takes nothing it cannot ship: the gateway settles it
        store.settle(late)
        admin.execute("ALTER FUNCTION hackkit_settle_many_away(json) RENAME TO hackkit_settle_many")
    assert journal.wait()
    assert settled_once(store, record.id, 4)
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


def test_another_databases_files_are_left_alone(store, folder):
    folder.mkdir()
    stranger = folder / "0123456789ab-elsewhere-1-dead.jsonl"  # written against another database
    stranger.write_text('{"request_id": "x"}\n')
    journal = SettlementJournal(store, folder)
    assert journal.adopt_orphans() == 0
    journal.close()
    assert stranger.exists() and store.logs(limit=10) == []


def test_values_the_database_refuses_are_cleaned_and_a_refused_entry_never_blocks_the_rest(store, folder):
    record, secret = store.create_key("A", budget_usd=1.0)
    odd, bad, *rest = admitted(store, secret, 4)
    odd.log |= {"error": "upstream said \x00 and \udc80", "latency_ms": math.nan, "input_tokens": 2**40}
    bad.log["ts"] = None  # NOT NULL: refused even cleaned
    journal = SettlementJournal(store, folder)
    for settlement in (odd, bad, *rest):
        journal.append(settlement)
    assert journal.wait()
    rows = {r["request_id"]: r for r in store.logs(limit=10)}
    assert sorted(rows) == ["r0", "r2", "r3"]
    assert (rows["r0"]["error"], rows["r0"]["latency_ms"], rows["r0"]["input_tokens"]) == (
        "upstream said  and ?", None, 2**31 - 1)  # fmt: skip
    (kept,) = [json.loads(line) for line in (folder / "rejected.jsonl").read_text().splitlines()]
    assert kept["request_id"] == "r1"  # set aside for the organisers, not lost
    assert store.find_key(record.id).spent_nano == 3 * COST
    journal.close()


def test_a_settlement_landing_after_its_reservation_lapsed_never_takes_the_key_past_its_budget(store, folder):
    record, secret = store.create_key("A", budget_usd=0.00015)  # room for one worst case (110,000 nano)
    late = store.admit(AdmissionRequest("late", hash_key(secret), "echo", 100, 10, PRICE, 0.2))
    time.sleep(0.4)  # its worker lost the database longer than the reservation's ttl
    assert store.find_key(record.id).reserved_nano == 0
    (other,) = admitted(store, secret, 1)  # the room it held went to another request
    journal = SettlementJournal(store, folder)
    journal.append(Settlement(other.request_id, record.id, 110_000, 20, other.log, False))
    assert journal.wait()
    row = {**other.log, "request_id": "late"}
    journal.append(Settlement("late", late.key.id, 100_000, 20, row, False))
    assert journal.wait()
    key = store.find_key(record.id)
    assert key.spent_nano == key.budget_nano == 150_000  # charged what was left, not 100,000
    assert {r["request_id"]: r["cost_nano"] for r in store.logs(limit=10)} == {"r0": 110_000, "late": 40_000}
    journal.close()


def test_full_files_are_replaced_and_removed_once_shipped(store, folder, monkeypatch):
    monkeypatch.setattr(journal_module, "ROTATE_AT_BYTES", 2_000)
    record, journal = shipped(store, folder, 30)
    assert settled_once(store, record.id, 30)
    assert [p.name for p in folder.glob("*.jsonl")] == [journal.path.name]  # the full ones went once shipped
    assert journal.path.stat().st_size < 2_000
    journal.close()
    assert list(folder.glob("*.jsonl")) == []


def test_a_folder_that_cannot_hold_a_journal_means_settling_in_the_store(store, tmp_path, caplog):
    (tmp_path / ".hackkit").write_text("a file where the folder would go")  # as a read-only folder refuses it
    with caplog.at_level(logging.WARNING, logger="hackkit.gateway"):
        assert journal_for(store, tmp_path / ".hackkit" / "journal") is None
    assert "requests settle in the store before their answers" in caplog.text


def test_a_connection_the_database_dropped_is_replaced_and_what_waited_ships(store, folder):
    record, secret = store.create_key("A", budget_usd=1.0)
    settlements = admitted(store, secret, 3)
    journal = SettlementJournal(store, folder)
    journal.append(settlements[0])
    assert journal.wait()
    with psycopg.connect(store.url, autocommit=True) as admin:  # a restart, a failover, an admin's terminate
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    for settlement in settlements[1:]:
        journal.append(settlement)
    assert journal.wait()  # the shipper's connection failed once, and was replaced
    journal.close()
    fresh = open_store(store.url)
    assert settled_once(fresh, record.id, 3)
    fresh.close()


def test_an_entry_refused_for_a_limit_is_set_aside_once_in_a_private_file_and_the_rest_ship(store, folder):
    _, secret = store.create_key("A", budget_usd=1.0)
    first, long_team, last = admitted(store, secret, 3)
    long_team.log["team"] = secrets.token_hex(2500)  # past the btree's limit on (team, ts): SQLSTATE 54000
    journal = SettlementJournal(store, folder)
    for settlement in (first, long_team, last):
        journal.append(settlement)
    assert journal.wait() and journal.healthy
    assert sorted(r["request_id"] for r in store.logs(limit=10)) == ["r0", "r2"]
    rejected = folder / "rejected.jsonl"
    assert rejected.stat().st_mode & 0o777 == 0o600  # it may hold prompts and answers
    orphan = folder / f"{journal.prefix}-elsewhere-1-dead.jsonl"
    orphan.write_text(json.dumps(journal_entry(long_team)) + "\n")  # the same entry shipped again later
    journal.adopt_orphans()
    assert [json.loads(line)["request_id"] for line in rejected.read_text().splitlines()] == ["r1"]
    journal.close()


def test_the_shipper_lives_on_when_it_cannot_keep_a_refused_entry(store, folder, caplog):
    _, secret = store.create_key("A", budget_usd=1.0)
    bad, good = admitted(store, secret, 2)
    bad.log["ts"] = None
    (folder / "rejected.jsonl").mkdir(parents=True)  # it cannot be written
    journal = SettlementJournal(store, folder)
    with caplog.at_level(logging.ERROR, logger="hackkit.gateway"):
        journal.append(bad)
        assert journal.wait()
    assert '"request_id": "r0"' in caplog.text  # the entry is in the error line instead
    journal.append(good)
    assert journal.wait() and [r["request_id"] for r in store.logs(limit=10)] == ["r1"]
    journal.close()


def test_settling_in_the_store_cleans_what_postgresql_refuses_too(store):
    _, secret = store.create_key("A", budget_usd=1.0)
    (settlement,) = admitted(store, secret, 1)
    settlement.log["error"] = "an upstream echoed \x00"
    store.settle(settlement)  # the path when the journal cannot be written
    assert [r["error"] for r in store.logs(limit=10)] == ["an upstream echoed "]


def test_a_team_name_longer_than_the_log_can_index_is_refused_at_once(store):
    with pytest.raises(ConfigError, match="at most 200 characters"):
        store.create_key("T" * 201, budget_usd=1.0)
