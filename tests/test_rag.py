"""RAG end to end on real files, a real Chroma store and the real offline embedding model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from documents import encrypted_pdf_bytes, pdf_bytes, write_sample_docs

from hackkit.rag import NOT_FOUND, Index, ask, ingest
from hackkit.rag.store import EmbeddingModelChanged, Store
from hackkit.testing import requests

pytest.importorskip("chromadb") if not os.environ.get("CI") else None


@pytest.fixture
def project(isolated):
    (isolated / "hackkit.toml").write_text('schema_version = 1\n[llm]\nmodel = "fake/echo"\n')
    write_sample_docs(isolated / "data")
    return isolated


def chunk_count(index: Index) -> int:
    return index.store.count()


def test_ingest_every_supported_format_with_metadata(project):
    index = Index()
    report = ingest(["data"], index)
    assert sorted(report.added) == [
        "data/food.txt",
        "data/handbook.md",
        "data/rules.html",
        "data/schedule.docx",
        "data/sponsors.pdf",
        "data/teams.csv",
    ]
    assert report.skipped == [] and report.ok
    _, texts, metadatas = index.store.all_chunks()
    by_source = {}
    for text, meta in zip(texts, metadatas, strict=True):
        by_source.setdefault(meta["source"], []).append((text, meta))
    pdf_pages = sorted(m["page"] for _, m in by_source["data/sponsors.pdf"])
    assert pdf_pages == [1, 2]
    handbook = {m["heading"] for _, m in by_source["data/handbook.md"]}
    assert {"Team handbook > Demo day", "Team handbook > Prizes"} <= handbook
    assert by_source["data/rules.html"][0][1]["title"] == "Hackathon rules"
    assert all("tracking" not in t for t, _ in by_source["data/rules.html"])  # scripts are not text
    assert any("Saturday" in m.get("heading", "") for _, m in by_source["data/schedule.docx"])
    assert "team: Rubber Ducks" in by_source["data/teams.csv"][0][0]


def test_incremental_ingest_skips_replaces_and_removes(project):
    index = Index()
    ingest(["data"], index)
    total = chunk_count(index)
    again = ingest(["data"], index)
    assert len(again.unchanged) == 6 and again.chunks == 0 and chunk_count(index) == total
    (project / "data" / "food.txt").write_text("Lunch moved: the food trucks arrive at 13:00 on the parking lot.")
    (project / "data" / "rules.html").unlink()
    changed = ingest(["data"], index)
    assert changed.updated == ["data/food.txt"] and changed.removed == ["data/rules.html"]
    sources = {m["source"] for m in index.store.all_chunks()[2]}
    assert "data/rules.html" not in sources
    food = [t for t, m in zip(*index.store.all_chunks()[1:], strict=True) if m["source"] == "data/food.txt"]
    assert food == ["Lunch moved: the food trucks arrive at 13:00 on the parking lot."]


def test_an_ingest_killed_between_chunks_and_manifest_resumes_without_duplicates(project, monkeypatch):
    import hackkit.rag.indexing

    monkeypatch.setattr(hackkit.rag.indexing, "EMBED_BATCH", 1)  # one file per write, to stop between files
    index = Index()
    real_record = index.store.manifest.record_many
    calls = {"n": 0}

    def crash_on_third(records):
        calls["n"] += 1
        if calls["n"] == 3:  # the third file's chunks are in Chroma, its manifest entry is not
            raise KeyboardInterrupt
        real_record(records)

    monkeypatch.setattr(index.store.manifest, "record_many", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        ingest(["data"], index)
    monkeypatch.setattr(index.store.manifest, "record_many", real_record)
    assert len(index.store.manifest.files()) == 2
    resumed = ingest(["data"], index)
    assert len(resumed.unchanged) == 2 and len(resumed.added) == 4
    ids = index.store.all_chunks()[0]
    clean = Index(store=Store(index.store.root, "clean-build", index.store.embedding_model))
    ingest(["data"], clean)
    assert len(ids) == len(set(ids)) == clean.store.count()  # the same as a clean build: no duplicates


@pytest.mark.parametrize(
    "name,content,reason",
    [
        ("empty.md", b"", "empty file"),
        ("whitespace.txt", b"  \n\n ", "empty file"),
        ("binary.txt", b"\x00\x01\x02ELF" * 50, "binary content"),
        ("latin1.txt", "caf\xe9 cr\xe8me".encode("latin-1"), "not valid UTF-8"),
        ("truncated.pdf", pdf_bytes(["A page of text about sponsors."])[:120], "corrupt or truncated PDF"),
        ("garbage.pdf", b"%PDF-1.4 this is not really a pdf", "corrupt or truncated PDF"),
        ("locked.pdf", encrypted_pdf_bytes(["Secret plans."]), "encrypted PDF"),
        ("scanned.pdf", pdf_bytes([""]), "no extractable text"),
        ("broken.docx", b"PK\x03\x04 not a zip really", "corrupt or not a Word document"),
        ("image.png", b"\x89PNG\r\n\x1a\n", "unsupported type .png"),
        ("header-only.csv", b"a,b,c\n", "no data rows"),
    ],
)
def test_bad_files_are_skipped_with_their_reason(project, name, content, reason):
    (project / "data" / name).write_bytes(content)
    report = ingest(["data"], Index())
    assert len(report.added) == 6 and report.ok
    assert [(p, r) for p, r in report.skipped if p == f"data/{name}" and reason in r], report.skipped


def test_huge_files_and_symlink_loops_are_reported(project):
    (project / "hackkit.toml").write_text('[llm]\nmodel = "fake/echo"\n[rag]\nmax_file_mb = 0.0002\n')
    (project / "data" / "loop").symlink_to(project / "data")
    (project / "data" / "ghost.md").symlink_to(project / "nowhere.md")  # an unreadable path
    report = ingest(["data"], Index())
    reasons = dict(report.skipped)
    assert reasons["data/handbook.md"].endswith("kB is over the 0.2 kB limit ([rag] max_file_mb)")
    assert "data/food.txt" not in reasons
    assert reasons["data/loop"] == "symlink loop, not followed"
    assert reasons["data/ghost.md"] == "cannot read it: No such file or directory"


def test_include_and_exclude_globs(project):
    report = ingest(["data"], Index(), include=["**/*.md", "**/*.txt"], exclude=["**/food.*"])
    assert report.added == ["data/handbook.md"]


def test_changing_the_embedding_model_forces_a_clear_reindex(project):
    ingest(["data"], Index())
    (project / "hackkit.toml").write_text('[llm]\nmodel = "fake/echo"\n[rag]\nembedding_model = "fake/hash"\n')
    import hackkit.llm

    hackkit.llm.configure()
    with pytest.raises(EmbeddingModelChanged, match="built with local/all-MiniLM-L6-v2") as caught:
        ingest(["data"], Index())
    assert "--reindex" in caught.value.hint
    with pytest.raises(EmbeddingModelChanged):
        Index().retrieve("demo")
    report = ingest(["data"], Index(), reindex=True)
    assert len(report.added) == 6
    assert Store.for_settings(Index().settings).manifest.get("embedding_model") == "fake/hash"


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_each_retrieval_mode_finds_the_right_chunk(project, mode):
    index = Index()
    ingest(["data"], index)
    hits = index.retrieve("When does the demo start and in which room?", k=3, mode=mode)
    assert hits[0].source == "data/handbook.md" and "17:00" in hits[0].text
    assert all(0 <= h.similarity <= 1 for h in hits)
    hits = index.retrieve("GPU credits from sponsors", k=2, mode=mode)
    assert hits[0].source == "data/sponsors.pdf" and hits[0].metadata["page"] == 1


def test_metadata_filters_and_a_reranking_hook(project):
    index = Index()
    ingest(["data"], index)
    only_pdf = index.retrieve("When does the demo start?", k=3, where={"source": "data/sponsors.pdf"})
    assert only_pdf and {h.source for h in only_pdf} == {"data/sponsors.pdf"}
    seen = []

    def prefer_csv(query, hits):
        seen.append(len(hits))
        return sorted(hits, key=lambda h: h.source != "data/teams.csv")

    hits = index.retrieve("Which team builds a debugging assistant?", k=2, rerank=prefer_csv)
    assert hits[0].source == "data/teams.csv" and seen and seen[0] >= 2


def test_answers_cite_numbered_sources_and_admit_when_nothing_matches(project):
    ingest(["data"], Index())
    answer = ask("When does the demo start?")
    assert answer.found and answer.sources[0].source == "data/handbook.md"
    assert answer.sources[0].n == 1 and "17:00" in answer.sources[0].snippet
    sent = requests[-1].messages
    assert "[1] data/handbook.md" in sent[1]["content"] and "cite" in sent[0]["content"].lower()
    assert answer.cited and answer.cited[0].n == 1  # the echo model repeats the [1] it was shown
    asked = len(requests)
    nothing = ask("How do I repair a carburettor on a motorbike?")
    assert nothing.text == NOT_FOUND and nothing.sources == [] and len(requests) == asked  # no model call
    assert ask("   ").text == NOT_FOUND


def test_a_project_prompt_overrides_how_answers_are_asked_for(project):
    ingest(["data"], Index())
    (project / "prompts").mkdir()
    (project / "prompts" / "rag-answer.md").write_text(
        "---\nname: rag-answer\nversion: 2\nsystem: Antworte auf Deutsch.\n---\n"
        "Fragen: {{ question }}\nQuellen:\n{{ sources }}\n"
    )
    index = Index()
    ask("When does the demo start?", index)
    sent = requests[-1].messages
    assert sent[0]["content"] == "Antworte auf Deutsch."
    assert sent[1]["content"].startswith("Fragen: When does the demo start?\nQuellen:\n[1] data/handbook.md")
    row = index.client.ledger.recent(1)[0]
    assert (row["prompt_name"], row["prompt_version"]) == ("rag-answer", "2")


def test_streamed_answer_has_sources_before_text(project):
    ingest(["data"], Index())
    stream = ask("What is the first prize?", stream=True)
    assert stream.sources and stream.sources[0].source == "data/handbook.md"
    pieces = list(stream)
    assert len(pieces) > 3 and stream.answer.text == "".join(pieces)


def test_langchain_retriever(project):
    from hackkit.integrations.langchain import HackkitRetriever

    ingest(["data"], Index())
    documents = HackkitRetriever(k=2).invoke("Which room hosts the demo?")
    assert documents[0].metadata["source"] == "data/handbook.md" and "B12" in documents[0].page_content
    assert 0 < documents[0].metadata["similarity"] <= 1


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "hackkit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=180,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def test_cli_ingest_ask_and_exit_codes(project, tmp_path):
    result = run_cli("ingest", "--json", cwd=project)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and len(report["added"]) == 6
    answer = json.loads(run_cli("ask", "Who gives GPU credits?", "--json", cwd=project).stdout)
    assert answer["found"] and answer["sources"][0]["source"] == "data/sponsors.pdf"
    assert answer["sources"][0]["page"] == 1
    printed = run_cli("ask", "When is lunch served?", cwd=project)
    assert "data/food.txt" in printed.stdout and printed.returncode == 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.pdf").write_bytes(b"%PDF-1.4 nope")
    failed = run_cli("ingest", str(bad), cwd=project)
    assert failed.returncode == 1 and "skipped" in failed.stderr and "corrupt or truncated PDF" in failed.stderr


def test_a_chroma_server(project, tmp_path):
    import socket
    import time

    chroma = os.path.join(os.path.dirname(sys.executable), "chroma")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path / "chroma"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        (project / "hackkit.toml").write_text(
            f'[llm]\nmodel = "fake/echo"\n[rag]\nchroma_url = "http://127.0.0.1:{port}"\n'
        )
        report = ingest(["data"], Index())
        assert len(report.added) == 6
        assert not (project / ".hackkit" / "rag" / "chroma").exists()  # the vectors live in the server
        assert ask("When does the demo start?").sources[0].source == "data/handbook.md"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
def test_answers_with_the_offline_local_model(project):
    import torch

    torch.set_num_threads(1)
    ingest(["data"], Index())
    answer = ask("When does the demo start?", model="local/smollm2", max_tokens=30, answer="generate")
    assert answer.text.strip() and answer.text != NOT_FOUND and not answer.extractive
    assert answer.response is not None and answer.response.provider == "local"
    assert answer.sources[0].source == "data/handbook.md"  # shown by retrieval, whatever the model wrote


def write_beir(folder):
    """A tiny BEIR-layout data set with known answers."""
    corpus = {
        "d1": ("Honey bees", "Honey bees communicate the location of flowers with a waggle dance."),
        "d2": ("Volcanoes", "Basaltic lava flows are hotter and more fluid than rhyolitic lava."),
        "d3": ("Tides", "Ocean tides are caused mainly by the gravitational pull of the Moon."),
        "d4": ("Photosynthesis", "Plants turn light, water and carbon dioxide into glucose and oxygen."),
        "d5": ("Bees and pesticides", "Neonicotinoid pesticides impair the foraging of honey bees."),
        "d6": ("A very long survey", "Reef fish and coral ecology. " * 400),  # far past the model's 256 tokens
    }
    queries = {
        "q1": "how do bees tell others where flowers are",
        "q2": "what causes the tides of the sea",
        "q3": "which pesticides harm bee foraging",
        "q4": "unjudged query",
    }
    qrels = [("q1", "d1", 1), ("q2", "d3", 1), ("q3", "d5", 2), ("q3", "d1", 1)]
    folder.mkdir()
    (folder / "qrels").mkdir()
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "title": t, "text": x}) for i, (t, x) in corpus.items())
    )
    (folder / "queries.jsonl").write_text("\n".join(json.dumps({"_id": i, "text": t}) for i, t in queries.items()))
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "\n".join(f"{q}\t{d}\t{s}" for q, d, s in qrels)
    )


def test_metrics_by_hand():
    from hackkit.rag.eval import mrr, ndcg, recall

    relevant = {"a": 1, "b": 1}
    assert ndcg(["a", "b", "c"], relevant) == pytest.approx(1.0)
    assert ndcg(["c", "a"], relevant) == pytest.approx((1 / 1.5849625) / (1 + 1 / 1.5849625))
    assert recall(["c", "a"], relevant) == 0.5 and mrr(["c", "x", "a"], relevant) == pytest.approx(1 / 3)
    assert ndcg(["x"], relevant) == 0.0 and mrr(["x"], relevant) == 0.0


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_eval_on_a_beir_folder_prints_one_json_object_last(project, tmp_path, mode):
    write_beir(tmp_path / "tiny")
    result = run_cli("eval", "--beir", str(tmp_path / "tiny"), "--mode", mode, "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"ndcg@10", "recall@10", "mrr@10", "mode", "queries"} <= set(metrics)
    assert metrics["mode"] == mode and metrics["queries"] == 3
    assert metrics["mrr@10"] >= 0.99 and metrics["recall@10"] == 1.0 and metrics["ndcg@10"] > 0.9
    table = run_cli("eval", "--beir", str(tmp_path / "tiny"), "--mode", mode, cwd=project)
    assert "ndcg@10" in table.stdout and "3 queries over 6 documents" in table.stdout


def test_eval_says_what_a_beir_folder_needs(project, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_cli("eval", "--beir", str(tmp_path / "empty"), cwd=project)
    assert result.returncode == 1 and "not a BEIR folder: no corpus.jsonl" in result.stderr


def test_large_indexes_use_chroma_hnsw_with_the_same_answers(project):
    exact = Index()
    ingest(["data"], exact)
    (project / "hackkit.toml").write_text('[llm]\nmodel = "fake/echo"\n[rag]\nexact_search_limit = 0\n')
    import hackkit.llm

    hackkit.llm.configure()
    approximate = Index()
    assert approximate.vectors() is None  # over the limit: Chroma's HNSW serves dense search
    for mode in ("dense", "hybrid"):
        question = "Which prize is a trip to Paris?"
        a, b = exact.retrieve(question, k=3, mode=mode), approximate.retrieve(question, k=3, mode=mode)
        assert [h.id for h in a] == [h.id for h in b]
        assert [h.similarity for h in a] == pytest.approx([h.similarity for h in b], abs=1e-4)
