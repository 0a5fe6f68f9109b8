"""The PostgreSQL store's hot path: admission as a read and one locked check-and-reserve, settlement as one statement.

Each test runs against a real PostgreSQL server (a fresh database each) and races real
connections: another transaction holds the key's row while an admission decided on an older
read waits for it, so what the lock-free read could not see must still stop the reservation.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from gateway_helpers import postgres_databases

from hackkit.server.errors import ApiError
from hackkit.server.store import AdmissionRequest, Settlement, hash_key, open_store

PRICE = (1000.0, 1000.0)  # nano-dollars per token either way
WORST_CASE = 110_000  # 100 input bytes and a 10-token answer at PRICE


@pytest.fixture(scope="module")
def new_database():
    with postgres_databases() as new:
        yield new


@pytest.fixture
def store(new_database):
    url = new_database()
    opened = open_store(url)
    yield opened
    opened.close()


def ask(secret: str, request_id: str) -> AdmissionRequest:
    return AdmissionRequest(request_id, hash_key(secret), "echo", 100, 10, PRICE, 60)


def admitted_or_code(store, request: AdmissionRequest) -> str:
    try:
        store.admit(request)
    except ApiError as refusal:
        return refusal.code or str(refusal.status)
    return "admitted"


def wait_until_blocked_on_a_lock(url: str) -> None:
    """Until some backend waits for a lock (the admission's ``FOR UPDATE`` behind the open transaction)."""
    with psycopg.connect(url, autocommit=True) as watcher:
        deadline = time.time() + 10
        while time.time() < deadline:
            if watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("the admission never waited for the key's lock")


def race_behind(store, other_transaction: str, args: tuple, request: AdmissionRequest) -> str:
    """Admit ``request`` while another connection's transaction holds the key's row, then let that commit."""
    outcome: list[str] = []
    with psycopg.connect(store.url) as other:
        other.execute(other_transaction, args)  # psycopg opens the transaction; the key's row stays locked
        thread = threading.Thread(target=lambda: outcome.append(admitted_or_code(store, request)))
        thread.start()
        wait_until_blocked_on_a_lock(store.url)
        other.commit()
    thread.join(10)
    return outcome[0]


def test_a_reservation_committed_while_admission_waited_for_the_lock_is_counted(store):
    key, secret = store.create_key("Racers", budget_usd=2 * WORST_CASE / 1e9)  # room for two worst cases
    store.admit(ask(secret, "r1"))  # one left
    take_the_last = (
        "WITH locked AS (SELECT id FROM keys WHERE id = %s FOR UPDATE) "
        "INSERT INTO reservations SELECT 'elsewhere', id, %s, %s FROM locked"
    )
    outcome = race_behind(store, take_the_last, (key.id, WORST_CASE, time.time() + 60), ask(secret, "r2"))
    assert outcome == "insufficient_quota"  # its read saw room; the lock's fresh look did not
    assert store.find_key(key.id).reserved_nano == 2 * WORST_CASE  # r1 and the other machine's, never r2


def test_a_key_revoked_while_admission_waited_for_the_lock_admits_nothing(store):
    key, secret = store.create_key("Revoked", budget_usd=1.0)
    revoke = "UPDATE keys SET status = 'revoked' WHERE id = %s"
    assert race_behind(store, revoke, (key.id,), ask(secret, "r1")) == "invalid_api_key"
    assert store.find_key(key.id).reserved_nano == 0


def test_concurrent_admissions_reserve_exactly_what_the_budget_and_the_rpm_hold(store):
    _, budgeted = store.create_key("Budget", budget_usd=7 * WORST_CASE / 1e9)
    _, limited = store.create_key("Rpm", rpm=5)
    start = threading.Barrier(8)

    def attempt(number: int) -> tuple[str, str]:
        if number < 8:
            start.wait()
        secret = budgeted if number % 2 else limited
        return secret, admitted_or_code(store, ask(secret, f"r{number}"))

    with ThreadPoolExecutor(max_workers=8) as pool:  # eight threads: eight connections
        outcomes = list(pool.map(attempt, range(64)))
    assert sorted(o for s, o in outcomes if s == budgeted) == ["admitted"] * 7 + ["insufficient_quota"] * 25
    assert sorted(o for s, o in outcomes if s == limited) == ["admitted"] * 5 + ["rate_limit_exceeded"] * 27


def test_settlement_charges_at_most_the_reservation_counts_the_tokens_and_logs_once(store):
    key, secret = store.create_key("Settlers", budget_usd=1.0, rpm=100)
    admission = store.admit(ask(secret, "r1"))
    row = {"request_id": "r1", "ts": time.time(), "team": "Settlers", "key_id": key.id, "route": "chat"}
    row |= {"status": "ok", "http_status": 200, "input_tokens": 30, "output_tokens": 9}
    charged = store.settle(Settlement("r1", key.id, admission.reserved_nano + 5, 39, row))
    assert charged == admission.reserved_nano  # never more than was reserved
    after = store.find_key(key.id)
    assert (after.spent_nano, after.reserved_nano) == (charged, 0)
    assert [(r["request_id"], r["cost_nano"]) for r in store.logs(limit=10)] == [("r1", charged)]
    assert store.one("SELECT tokens FROM rate_events WHERE request_id = 'r1'")[0] == 39
    unreserved = {**row, "request_id": "r2"}  # a request with no reservation is charged what it cost
    assert store.settle(Settlement("r2", key.id, 1234, 5, unreserved, windowed=False)) == 1234
    assert store.find_key(key.id).spent_nano == charged + 1234


def test_admit_and_settle_from_many_threads_never_overspend_and_log_every_answer(store):
    key, secret = store.create_key("Busy", budget_usd=20 * WORST_CASE / 1e9, rpm=1000)

    def request(number: int) -> int:
        request_id = f"r{number}"
        try:
            store.admit(ask(secret, request_id))
        except ApiError:
            return 0
        row = {"request_id": request_id, "ts": time.time(), "team": "Busy", "key_id": key.id, "route": "chat"}
        row |= {"status": "ok", "http_status": 200}
        return store.settle(Settlement(request_id, key.id, WORST_CASE // 2, 60, row))

    with ThreadPoolExecutor(max_workers=8) as pool:
        charges = [c for c in pool.map(request, range(120)) if c]
    after = store.find_key(key.id)
    assert after.spent_nano == sum(charges) <= after.budget_nano and after.reserved_nano == 0
    assert len(store.logs(limit=1000)) == len(charges) >= 20  # settled at half the worst case: more than 20 fit


def test_a_long_stream_settles_while_another_request_of_its_key_is_admitted(store):
    """Settlement waits for the key's row before it touches the request's own rows, as admission does.

    Admission prunes the key's rate events older than the window under the key's lock; a stream
    that started over 60 s ago settles its own event. Locking that event first deadlocked, and the
    settlement was the side rolled back: no charge, no log row, the reservation held until its TTL.
    """
    key, secret = store.create_key("Streamers", budget_usd=1.0, rpm=100)
    started = time.time()
    first = AdmissionRequest("r1", hash_key(secret), "echo", 100, 10, PRICE, 600, now=started - 70)
    admitted = store.admit(first)  # a stream that began 70 s ago
    row = {"request_id": "r1", "ts": started, "team": "Streamers", "key_id": key.id, "route": "chat"}
    row |= {"status": "ok", "http_status": 200}
    outcome: list[object] = []

    def settle() -> None:
        try:
            outcome.append(store.settle(Settlement("r1", key.id, 5_000, 20, row)))
        except Exception as exc:  # what the stream's end would raise
            outcome.append(exc)

    with psycopg.connect(store.url) as other:
        other.execute("SELECT id FROM keys WHERE id = %s FOR UPDATE", (key.id,))  # another admission's lock
        thread = threading.Thread(target=settle)
        thread.start()
        wait_until_blocked_on_a_lock(store.url)
        settings = other.execute("SELECT hackkit_key_settings(k) FROM keys k WHERE id = %s", (key.id,)).fetchone()[0]
        args = (key.id, settings, "r2", started, started - 60, 10, WORST_CASE, started + 600, True, True)
        assert other.execute("SELECT hackkit_admit(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", args).fetchone()[0]
        other.commit()  # the admission prunes r1's old event and reserves r2
    thread.join(10)
    assert outcome == [5_000], outcome  # on the old statement: DeadlockDetected
    after = store.find_key(key.id)
    assert after.spent_nano == 5_000 and after.reserved_nano == WORST_CASE  # r1 charged and released, r2 held
    assert [log["request_id"] for log in store.logs(limit=10)] == ["r1"]
    assert admitted.reserved_nano == WORST_CASE


def counted_statements(store) -> list[str]:
    """The statements the store sends from now on (wraps its ``execute``)."""
    sent: list[str] = []
    execute = store.execute

    def counting(sql, args=()):
        sent.append(sql)
        return execute(sql, args)

    store.execute = counting
    return sent


def test_a_key_admitted_before_is_admitted_in_one_statement_and_its_headers_count_exactly(store):
    key, secret = store.create_key("Regulars", budget_usd=1.0, rpm=10)
    first = store.admit(ask(secret, "r1"))  # read, then reserve
    sent = counted_statements(store)
    later = [store.admit(ask(secret, f"r{n}")) for n in (2, 3)]
    assert [s.split("(")[0] for s in sent] == ["SELECT * FROM hackkit_admit_known"] * 2
    assert [a.limits.rpm_left for a in (first, *later)] == [9, 8, 7]  # what x-ratelimit-remaining-requests says
    assert store.find_key(key.id).reserved_nano == 3 * first.reserved_nano


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda other, key: other.revoke_key(key.id), "invalid_api_key"),
        (lambda other, key: other.rotate_key(key.id), "invalid_api_key"),
        (lambda other, key: other.update_key(key.id, budget_usd=WORST_CASE / 1e9 / 2), "insufficient_quota"),
        (lambda other, key: other.update_key(key.id, models=["another"]), "model_not_allowed"),
        (lambda other, key: other.update_key(key.id, rpm=1), "rate_limit_exceeded"),
        (lambda other, key: other.update_key(key.id, expires_at=time.time() - 1), "invalid_api_key"),
    ],
    ids=["revoked", "rotated", "budget-lowered", "model-withdrawn", "rpm-lowered", "expired"],
)
def test_a_change_made_on_another_machine_applies_to_a_key_admitted_before(store, change, expected):
    """The key a worker remembers is checked against its row under the lock, so nothing stale admits."""
    key, secret = store.create_key("Changing", budget_usd=1.0, rpm=5)
    assert admitted_or_code(store, ask(secret, "r1")) == "admitted"
    other = open_store(store.url)  # another gateway machine on the same database
    try:
        change(other, key)
    finally:
        other.close()
    assert admitted_or_code(store, ask(secret, "r2")) == expected
    assert [r[0] for r in store.execute("SELECT request_id FROM reservations").fetchall()] == ["r1"]


def test_a_rotated_keys_new_secret_is_admitted_and_its_old_one_never_again(store):
    key, old = store.create_key("Rotating", budget_usd=1.0)
    store.admit(ask(old, "r1"))
    _, new = store.rotate_key(key.id)
    assert admitted_or_code(store, ask(new, "r2")) == "admitted"
    assert admitted_or_code(store, ask(old, "r3")) == "invalid_api_key"
    assert admitted_or_code(store, ask(new, "r4")) == "admitted"


def test_a_budget_spent_elsewhere_refuses_a_key_admitted_before_with_the_exact_message(store):
    key, secret = store.create_key("Spenders", budget_usd=2 * WORST_CASE / 1e9)
    store.admit(ask(secret, "r1"))  # remembered, one worst case left
    other = open_store(store.url)
    try:
        other.admit(ask(secret, "r2"))  # the other machine takes the last of it
    finally:
        other.close()
    with pytest.raises(ApiError) as refused:
        store.admit(ask(secret, "r3"))
    assert refused.value.code == "insufficient_quota"
    assert "held by requests in flight" in refused.value.message
    assert store.find_key(key.id).reserved_nano == 2 * WORST_CASE
