"""The ledger's rows and migrations, the cost of calls, and the exact-match cache."""

from __future__ import annotations

import sqlite3

import pytest

from hackkit.llm import Client
from hackkit.llm.ledger import MIGRATIONS, Ledger, _m001_calls, migrate
from hackkit.llm.prices import cost_usd, price_of, price_table
from hackkit.llm.types import Usage
from hackkit.testing import enqueue
from hackkit.testing.wire import Reply


def test_every_call_is_a_row_with_tokens_cost_and_text(wire, make_client, isolated):
    server = wire("mistral")
    server.enqueue(Reply.ok("Bonjour", usage=(1_000_000, 1_000_000)))
    client = make_client(server)
    client.chat("Say hello in French", "mistral/mistral-small-latest")
    row = client.ledger.recent(1)[0]
    assert client.ledger.path == isolated / ".hackkit" / "ledger.sqlite"
    assert (row["model"], row["provider"], row["status"]) == ("mistral/mistral-small-latest", "mistral", "ok")
    assert (row["input_tokens"], row["output_tokens"]) == (1_000_000, 1_000_000)
    assert row["cost_usd"] == pytest.approx(0.1 + 0.3)
    assert "Say hello in French" in row["prompt"] and row["response"] == "Bonjour"
    assert row["latency_ms"] > 0


def test_store_text_false_keeps_numbers_but_not_words(wire, make_client):
    server = wire("openai")
    client = make_client(server, llm__ledger__store_text=False)
    client.chat("a secret idea", "openai/gpt-4o-mini")
    row = client.ledger.recent(1)[0]
    assert row["prompt"] is None and row["response"] is None and row["output_tokens"] > 0


def test_failed_calls_are_recorded(wire, make_client):
    server = wire("openai")
    server.enqueue(Reply.error(400, "bad temperature"))
    client = make_client(server)
    with pytest.raises(Exception, match="bad temperature"):
        client.chat("hi", "openai/gpt-4o-mini")
    row = client.ledger.recent(1)[0]
    assert row["status"] == "error" and "bad temperature" in row["error"]


def test_usage_totals_by_model_and_day():
    client = Client(llm__model="fake/echo")
    for text in ("one", "two", "three"):
        client.chat(text)
    client.chat("x", "fake/other")
    by_model = {r["model"]: r for r in client.ledger.usage(by="model")}
    assert by_model["fake/echo"]["calls"] == 3 and by_model["fake/other"]["calls"] == 1
    by_day = client.ledger.usage(by="day")
    assert len(by_day) == 1 and by_day[0]["calls"] == 4


def test_migrations_are_append_only_and_upgrade_an_old_ledger(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)  # a ledger written by a version that had only the first migration
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
    _m001_calls(db)
    db.execute("INSERT INTO _migrations VALUES ('_m001_calls', 'then')")
    db.execute("INSERT INTO calls (ts, model, status) VALUES ('2026-01-01', 'old/model', 'ok')")
    db.commit()
    db.close()
    ledger = Ledger(path)
    assert ledger.recent(1)[0]["model"] == "old/model" and ledger.recent(1)[0]["attempts"] == 1
    migrate(ledger.db)  # idempotent
    names = [r[0] for r in ledger.db.execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert names == [m.__name__ for m in MIGRATIONS]


def test_ledger_can_be_switched_off(monkeypatch, isolated):
    monkeypatch.setenv("HACKKIT_LEDGER", "off")
    client = Client(llm__model="fake/echo")
    client.chat("hi")
    assert client.ledger is None and not (isolated / ".hackkit" / "ledger.sqlite").exists()


def test_price_table_covers_the_three_main_providers_with_sources():
    table = price_table()
    assert set(table["sources"]) == {"mistral", "openai", "anthropic"}
    for provider in ("mistral", "openai", "anthropic"):
        assert sum(1 for k in table["models"] if k.startswith(provider + "/")) >= 5
    assert price_of("anthropic/claude-sonnet-4-5-20250929") == (3.0, 15.0)
    assert price_of("gateway/openai/gpt-4o-mini") == (0.15, 0.6)
    assert price_of("local/smollm2") == (0.0, 0.0) and price_of("openai/unknown-model") is None
    assert cost_usd("openai/gpt-4o", Usage(2_000, 1_000)) == pytest.approx(0.005 + 0.01)


def test_cache_serves_an_identical_call_without_asking_the_provider(wire, make_client):
    server = wire("openai")
    server.enqueue(Reply.ok("first answer"), Reply.ok("second answer"))
    client = make_client(server)
    first = client.chat("same question", "openai/gpt-4o-mini", cache=True)
    again = client.chat("same question", "openai/gpt-4o-mini", cache=True)
    assert (first.text, again.text, again.cached, again.cost_usd) == ("first answer", "first answer", True, 0.0)
    assert len(server.requests) == 1
    assert client.chat("same question", "openai/gpt-4o-mini", temperature=1.0, cache=True).text == "second answer"
    assert client.ledger.recent(3)[1]["cached"] == 1


def test_cache_is_opt_in_from_config():
    enqueue("one", "two")
    client = Client(llm__model="fake/echo", llm__cache__enabled=True)
    assert client.chat("q").text == "one" and client.chat("q").text == "one"
    assert Client(llm__model="fake/echo").chat("q", cache=False).text == "two"


def test_concurrent_calls_all_reach_the_ledger():
    from concurrent.futures import ThreadPoolExecutor

    client = Client(llm__model="fake/echo")
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: client.chat(f"question {i}"), range(400)))
    assert client.ledger.usage(by="model")[0]["calls"] == 400  # reads wait for the batched writer
    client.close()
    reopened = Ledger(client.ledger.path if client.ledger else None)
    assert len(reopened.recent(1000)) == 400
