"""Many threads opening and querying one index at once, as a demo's visitors do; two ingests at once."""

from __future__ import annotations

import json
import os
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
