"""The ledger's invariant: a call that returned is in the ledger, whatever happens to the process next.

Processes are real (killed with real signals), the database is real, and several processes write
one ledger at once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from hackkit.llm import Client
from hackkit.llm.ledger import Ledger
from hackkit.testing.wire import Reply

CALLS_THEN_WAIT = textwrap.dedent(
    """
    import sys, time
    from hackkit.llm import Client
    client = Client(llm__model="fake/echo")
    for i in range(int(sys.argv[1])):
        client.chat(f"question {i}")
    print("answered", flush=True)
    time.sleep(120)
    """
)


def run_python(code: str, cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=os.environ
    )


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGKILL"])
def test_calls_that_returned_survive_the_process_being_killed(stop, isolated):
    process = subprocess.Popen(
        [sys.executable, "-c", CALLS_THEN_WAIT, "20"], cwd=isolated, stdout=subprocess.PIPE, env=os.environ
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == b"answered"
        process.send_signal(getattr(signal, stop))  # what Docker, Render and Spaces send, then the hard stop
        process.wait(timeout=30)
    finally:
        process.kill()
        process.wait()
    rows = Ledger(isolated / ".hackkit" / "ledger.sqlite").recent(100)
    assert sorted(r["prompt"] for r in rows) == sorted(
        f'[{{"role": "user", "content": "question {i}"}}]' for i in range(20)
    )


def test_writing_after_close_reopens_the_ledger_and_the_process_exits(isolated):
    code = textwrap.dedent(
        """
        from pathlib import Path
        from hackkit.llm.ledger import CallRecord, Ledger
        ledger = Ledger(Path(".hackkit/ledger.sqlite"))
        ledger.record(CallRecord(model="fake/echo"))
        ledger.close()
        ledger.record(CallRecord(model="fake/after-close"))
        print([row["model"] for row in ledger.recent(5)])
        """
    )
    result = run_python(code, isolated, timeout=30)  # used to hang forever, at exit too
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['fake/after-close', 'fake/echo']"


def test_a_transient_write_error_loses_no_row_and_does_not_switch_the_ledger_off(isolated, monkeypatch):
    monkeypatch.setattr(Ledger, "BUSY_TIMEOUT", 0.05, raising=False)
    client = Client(llm__model="fake/echo")
    client.chat("before")
    blocker = sqlite3.connect(client.ledger.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holding the write lock: "database is locked"
    assert client.chat("while locked").text == "Echo: while locked"  # the call still answers
    blocker.execute("ROLLBACK")
    blocker.close()
    client.chat("after")
    assert [r["response"] for r in client.ledger.recent(10)] == ["Echo: after", "Echo: while locked", "Echo: before"]


def test_many_processes_write_one_new_ledger_at_once(isolated):
    code = textwrap.dedent(
        """
        import sys
        from hackkit.llm import Client
        client = Client(llm__model="fake/echo")
        for i in range(50):
            client.chat(f"process {sys.argv[1]} question {i}")
        """
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code, str(n)], cwd=isolated, stderr=subprocess.PIPE, env=os.environ)
        for n in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], errors
    ledger = Ledger(isolated / ".hackkit" / "ledger.sqlite")
    assert len(ledger.recent(1000)) == 200  # and the migrations ran once, though four processes raced to run them
    names = [r[0] for r in ledger.db.execute("SELECT name FROM _migrations")]
    assert len(names) == len(set(names))


def _open_ledger(path: Path) -> None:
    Ledger(path).db.close()


def _open_gateway_store(path: Path) -> None:
    from hackkit.server.store import open_store

    open_store(str(path)).close()


def _open_response_cache(path: Path) -> None:
    from hackkit.llm.cache import ResponseCache

    cache = ResponseCache(path)
    cache.get("a key")  # the first use opens the file
    cache.close()


@pytest.mark.parametrize("opener", [_open_ledger, _open_gateway_store, _open_response_cache])
def test_a_file_another_process_is_still_creating_opens_once_it_is_free(tmp_path, opener):
    """The switch to WAL is refused at once, not after the busy timeout, while the file is being written."""
    path = tmp_path / "shared.sqlite"
    creator = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # rollback mode, as new
    creator.execute("CREATE TABLE early (x)")
    creator.execute("BEGIN IMMEDIATE")
    creator.execute("INSERT INTO early VALUES (1)")
    releasing = threading.Timer(0.3, creator.execute, ["COMMIT"])
    releasing.start()
    try:
        opener(path)  # failed with 'database is locked' after 0 s on the code before the fix
    finally:
        releasing.join()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_ledger_row_is_written_before_the_call_returns(isolated):
    client = Client(llm__model="fake/echo")
    client.chat("hello")
    fresh = sqlite3.connect(isolated / ".hackkit" / "ledger.sqlite")  # another reader, no flush, no wait
    assert fresh.execute("SELECT response FROM calls").fetchall() == [("Echo: hello",)]


def test_an_abandoned_stream_is_a_cancelled_row_with_the_tokens_seen(wire, make_client):
    from hackkit.errors import StreamNotFinished

    server = wire("openai")
    server.enqueue(Reply.ok("one two three four five six seven eight"))
    client = make_client(server)
    stream = client.chat("Count for me", "openai/gpt-4o-mini", stream=True)
    for piece in stream:
        assert piece
        break  # a visitor closed the tab
    row = client.ledger.recent(1)[0]
    assert row["status"] == "cancelled" and row["model"] == "openai/gpt-4o-mini"
    assert row["input_tokens"] > 0 and 0 < row["output_tokens"] < 8
    with pytest.raises(StreamNotFinished, match="closed before it finished"):
        stream.response  # noqa: B018


@pytest.mark.anyio
async def test_an_abandoned_async_stream_is_a_cancelled_row(wire, make_client):
    server = wire("anthropic")
    server.enqueue(Reply.ok("one two three four five six"))
    client = make_client(server)
    stream = await client.achat("Count", "anthropic/claude-haiku-4-5", stream=True)
    async for _ in stream:
        break
    await stream.aclose()
    row = client.ledger.recent(1)[0]
    assert row["status"] == "cancelled" and row["output_tokens"] >= 1


def test_a_finished_stream_is_one_ok_row(wire, make_client):
    server = wire("mistral")
    client = make_client(server)
    stream = client.chat("hi there", "mistral/mistral-small-latest", stream=True)
    assert "".join(stream) == "Echo: hi there" == stream.response.text
    rows = client.ledger.recent(5)
    assert [r["status"] for r in rows] == ["ok"]
