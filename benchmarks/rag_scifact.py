"""nDCG@10 on SciFact for dense, BM25 and hybrid retrieval with the shipped defaults.

Printed beside the published figures for the same two base retrievers (all-MiniLM-L6-v2 dense
0.645, BM25 flat 0.679). Target: hybrid at least 0.71, with defaults not tuned to this data set.
    python benchmarks/rag_scifact.py [--beir ../shared/data/scifact]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from _common import verdict

PUBLISHED = {"dense": 0.645, "bm25": 0.679}
TARGET_HYBRID = 0.71
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scifact"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--beir", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from hackkit.config import load_settings
    from hackkit.llm import Client
    from hackkit.rag import Index
    from hackkit.rag.eval import evaluate

    with tempfile.TemporaryDirectory() as project:
        Path(project, "hackkit.toml").write_text("schema_version = 1\n")
        index = Index(client=Client(load_settings(Path(project))))
        results = {mode: evaluate(args.beir, mode, index) for mode in ("dense", "bm25", "hybrid")}
    print(
        f"{args.beir.name}: {results['hybrid']['queries']} queries, {results['hybrid']['documents']} documents "
        f"(index built in {results['dense']['index_seconds']}s)"
    )
    print(f"{'mode':<8} {'nDCG@10':>8} {'published':>10} {'ratio':>6} {'recall@10':>10} {'MRR@10':>7}")
    for mode, result in results.items():
        published = PUBLISHED.get(mode)
        ratio = f"{result['ndcg@10'] / published:.3f}" if published else "-"
        print(
            f"{mode:<8} {result['ndcg@10']:>8.4f} {published or '-':>10} {ratio:>6} "
            f"{result['recall@10']:>10.4f} {result['mrr@10']:>7.4f}"
        )
    best_single = max(results["dense"]["ndcg@10"], results["bm25"]["ndcg@10"])
    hybrid = results["hybrid"]["ndcg@10"]
    print(
        f"hybrid {hybrid:.4f} vs best single retriever in this run {best_single:.4f} "
        f"(ratio {hybrid / best_single:.3f}); target hybrid >= {TARGET_HYBRID}  {verdict(hybrid >= TARGET_HYBRID)}"
    )


if __name__ == "__main__":
    main()
