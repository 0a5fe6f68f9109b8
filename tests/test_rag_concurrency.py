"""Many threads opening and querying one index at once, as a demo's visitors do; two ingests at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from hackkit.config import load_settings
from hackkit.rag import Index, ask, find_sources

THREADS = 24
# Fake embeddings (deterministic, meaningless), so keyword search decides and the gate lets every hit through.
TOML = """schema_version = 1
[llm]
model = "fake/echo"
[rag]
embedding_model = "fake/hash"
mode = "bm25"
min_score = -1
"""
COLOURS = ["red", "blue", "green", "amber", "violet"]
QUESTION = "Where does the wombat in the amber tent live?"


def hackkit(*args, cwd, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "hackkit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"},
        **kwargs,
    )


@pytest.fixture
def project(isolated):
    (isolated / "hackkit.toml").write_text(TOML)
    (isolated / "data").mkdir()
    for colour in COLOURS:
        (isolated / "data" / f"{colour}.md").write_text(
            f"# The {colour} tent\n\nA wombat lives in the {colour} tent.\n"
        )
    return isolated


def test_many_threads_open_and_query_one_fresh_index_at_once(project):
    """The store was built by another process, so this one opens it for the first time in every thread."""
    built = hackkit("ingest", "--json", cwd=project)
    assert built.returncode == 0 and len(json.loads(built.stdout)["added"]) == 5, built.stderr
    settings = load_settings(project)
    start = threading.Barrier(THREADS)
    results: list[tuple[int, list[str], str]] = []
    errors: list[BaseException] = []

    def visitor() -> None:
        try:
            index = Index(settings)  # its own client, store and manifest, as a fresh script run has
            start.wait()
            count = index.store.count()
            sources = find_sources(index, QUESTION)
            answer = ask(QUESTION, index)
            results.append((count, [s.source for s in sources], answer.text))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=visitor) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, [f"{type(e).__name__}: {e}" for e in errors]
    assert len(results) == THREADS
    assert all(count == 5 and "data/amber.md" in sources for count, sources, _ in results)
    assert all(text.startswith("Echo:") for *_, text in results)


def test_stores_share_one_collection_handle_and_a_reindex_reaches_all_of_them(project):
    from hackkit.rag import ingest

    settings = load_settings(project)
    first, second = Index(settings), Index(settings)
    ingest(["data"], first)
    assert second.store.count() == 5
    report = ingest(["data"], first, reindex=True)  # drops and recreates the collection
    assert len(report.added) == 5
    assert second.store.count() == 5  # not a handle on the deleted collection
    assert find_sources(second, QUESTION)[0].source == "data/amber.md"
    assert first.store is not second.store and first.store.collection is second.store.collection


HOLDER = """
import sys
from hackkit.rag import Index, ingest

def wait_on_first_file(done, total, stage):
    if done == 1:
        print("ingesting", flush=True)
        sys.stdin.readline()  # until the test lets go, or kills this process

ingest(["data"], Index(), progress=wait_on_first_file)
print("done", flush=True)
"""


def test_a_second_ingest_is_refused_while_one_runs_and_a_killed_one_blocks_nothing(project):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        cwd=project,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        assert holder.stdout.readline().strip() == "ingesting"
        second = hackkit("ingest", "--json", cwd=project)
        assert second.returncode == 1, second.stdout
        assert f"Another ingest is running on this index (pid {holder.pid})" in second.stderr
        assert f"kill {holder.pid}" in second.stderr and "Traceback" not in second.stderr
        holder.send_signal(signal.SIGKILL)  # the kernel drops the lock with the process
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=30)
    after = hackkit("ingest", "--json", cwd=project)
    assert after.returncode == 0, after.stderr
    assert len(json.loads(after.stdout)["added"]) == 5


def test_threads_of_one_process_take_turns(project):
    from hackkit.rag import ingest

    settings = load_settings(project)
    reports = []

    def upload() -> None:
        reports.append(ingest(["data"], Index(settings)))

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(len(r.added) for r in reports) == [0, 0, 0, 5]  # one did the work, the others found it done
    assert Index(settings).store.count() == 5
