"""Ingest throughput of the whole pipeline vs bare `model.encode` on the same chunks, same run;
then query latency at that index size, embedding included.

Targets: ingest rate at least 0.85 of the bare encode rate; query p50 under 50 ms at 5,000 chunks.
Also how honest the progress callback is: when it first says 100%, and its longest silence.
    python benchmarks/rag_ingest.py [--chunks 5000] [--queries 200]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from pathlib import Path

from _common import summary, verdict

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scifact"
DOCS_PER_FILE = 10


def write_corpus(folder: Path, source: Path, chunks_wanted: int) -> None:
    """SciFact abstracts as Markdown files, ten to a file, until about ``chunks_wanted`` chunks."""
    lines = source.joinpath("corpus.jsonl").read_text("utf-8").splitlines()
    docs = [json.loads(line) for line in lines if line.strip()]
    needed = min(len(docs), int(chunks_wanted / 3))  # an abstract makes about 3 chunks of 200 tokens
    folder.mkdir(parents=True)
    for start in range(0, needed, DOCS_PER_FILE):
        body = "\n\n".join(f"## {d['title']}\n\n{d['text']}" for d in docs[start : start + DOCS_PER_FILE])
        (folder / f"abstracts-{start:05d}.md").write_text(f"# Abstracts {start}\n\n{body}\n", "utf-8")


def print_progress(updates: list[tuple[float, int, int, str]], ingest_s: float) -> None:
    """When the progress callback first reached 100% of its last stage, and its longest silence."""
    full = next(at for at, done, total, stage in updates if stage == updates[-1][3] and done == total)
    times = [0.0, *(at for at, *_ in updates), ingest_s]
    silence = max(b - a for a, b in itertools.pairwise(times))
    stages = ", ".join(dict.fromkeys(stage for *_, stage in updates))
    print(
        f"progress: {len(updates)} updates ({stages}); 100% at {full:.1f}s of {ingest_s:.1f}s; "
        f"longest silence {silence:.1f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--beir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--chunks", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from hackkit.config import load_settings
    from hackkit.llm import Client
    from hackkit.rag import Index, ingest

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "hackkit.toml").write_text("schema_version = 1\n")
        write_corpus(project / "data", args.beir, args.chunks)
        index = Index(client=Client(load_settings(project)))
        index.embedder.embed(["warm up the model"])  # both sides start with the model loaded

        updates: list[tuple[float, int, int, str]] = []
        started = time.perf_counter()
        report = ingest(
            [project / "data"],
            index,
            progress=lambda done, total, stage: updates.append((time.perf_counter() - started, done, total, stage)),
        )
        ingest_s = time.perf_counter() - started
        _, texts, _ = index.store.all_chunks()

        started = time.perf_counter()
        index.embedder.embed(texts)
        encode_s = time.perf_counter() - started

        queries = [json.loads(line)["text"] for line in args.beir.joinpath("queries.jsonl").read_text().splitlines()]
        queries = (queries * (1 + args.queries // len(queries)))[: args.queries]
        index.retrieve(queries[0])  # builds the BM25 index once
        latency = {"embed only": [], "dense": [], "hybrid": []}
        for query in queries:
            for mode, run in (
                ("embed only", lambda q: index.embedder.embed([q])),
                ("dense", lambda q: index.retrieve(q, mode="dense")),
                ("hybrid", lambda q: index.retrieve(q, mode="hybrid")),
            ):
                t0 = time.perf_counter()
                run(query)
                latency[mode].append(time.perf_counter() - t0)
        count = index.store.count()

    ingest_rate, encode_rate = report.chunks / ingest_s, len(texts) / encode_s
    ratio = ingest_rate / encode_rate
    print(f"ingest: {len(report.added)} files, {report.chunks} chunks in {ingest_s:.1f}s = {ingest_rate:.1f} chunks/s")
    print(f"bare model.encode of the same {len(texts)} chunks: {encode_s:.1f}s = {encode_rate:.1f} chunks/s")
    print(f"throughput ratio {ratio:.3f} (target >= 0.85)  {verdict(ratio >= 0.85)}")
    print_progress(updates, ingest_s)
    print(f"query latency over {count} chunks, {len(queries)} queries:")
    for mode, samples in latency.items():
        s = summary(samples)
        print(f"  {mode:<10} p50 {s['p50'] * 1000:6.1f} ms  p95 {s['p95'] * 1000:6.1f} ms")
    p50 = summary(latency["hybrid"])["p50"] * 1000
    print(f"hybrid p50 {p50:.1f} ms (target < 50 ms)  {verdict(p50 < 50)}")


if __name__ == "__main__":
    main()
