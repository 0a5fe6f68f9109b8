"""``hackkit ingest``, ``hackkit ask`` and ``hackkit eval``: questions over a team's documents."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--include", multiple=True, help="Gitignore-style pattern of files to take (repeatable); default [rag] include."
)
@click.option("--exclude", multiple=True, help="Gitignore-style pattern of files to leave out (repeatable).")
@click.option("--reindex", is_flag=True, help="Drop the index and build it again (after changing the model).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def ingest(
    paths: tuple[Path, ...], include: tuple[str, ...], exclude: tuple[str, ...], reindex: bool, as_json: bool
) -> None:
    """Index PATHS (files or folders; default [rag] paths, i.e. data/) for `hackkit ask`."""
    from hackkit.rag import Index
    from hackkit.rag import ingest as run_ingest

    index = Index()
    targets = [str(p) for p in paths] or [str(index.settings.resolve_path(p)) for p in index.settings.rag.paths]
    with _progress(not as_json) as progress:
        report = run_ingest(
            targets,
            index,
            include=list(include) or None,
            exclude=list(exclude) or None,
            reindex=reindex,
            progress=progress,
        )
    if as_json:
        click.echo(json.dumps({**report.__dict__, "ok": report.ok}))
    else:
        for path, reason in report.skipped:
            click.secho(f"skipped {path}: {reason}", fg="yellow", err=True)
        click.echo(report.summary())
    if not report.ok:
        raise SystemExit(1)


def _top_k(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    """``-k`` checked against [rag] top_k's range before anything is loaded."""
    from hackkit.config import RAGConfig, check_range

    return None if value is None else check_range(RAGConfig, "top_k", value, "-k/--top-k")


def _note(note: str | None) -> None:
    """On stderr, so a fallback or a missing key never passes unseen (and stdout stays the answer)."""
    if note:
        click.secho(f"note: {note}", fg="yellow", err=True)


@click.command()
@click.argument("question")
@click.option("-k", "--top-k", type=int, callback=_top_k, help="How many sources to retrieve; default [rag] top_k.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "bm25"]), help="Retrieval; default hybrid.")
@click.option("-m", "--model", help="Chat model for the answer; default [rag] model, then [llm] model.")
@click.option("--max-tokens", type=int, default=400, show_default=True)
@click.option(
    "--answer",
    "answer_mode",
    type=click.Choice(["auto", "extractive", "generate"]),
    help="Quote the sources or have the model write; default [rag] answer (auto: quote for a model under 1B).",
)
@click.option("--no-stream", is_flag=True)
@click.option("--json", "as_json", is_flag=True, help="The answer and its sources as one JSON object.")
def ask(
    question: str,
    top_k: int | None,
    mode: str | None,
    model: str | None,
    max_tokens: int,
    answer_mode: str | None,
    no_stream: bool,
    as_json: bool,
) -> None:
    """Answer QUESTION from the ingested documents, citing them."""
    from hackkit.rag import Index
    from hackkit.rag import ask as run_ask

    index = Index()
    if index.store.count() == 0:
        click.secho("The index is empty: run `hackkit ingest data/` first.", fg="yellow", err=True)
    stream = not (no_stream or as_json)
    result: Any = run_ask(
        question, index, k=top_k, mode=mode, model=model, stream=stream, answer=answer_mode, max_tokens=max_tokens
    )
    if stream:
        told = False
        for piece in result:
            if not told:  # who answers is known with the first piece: say it before the answer
                _note(result.note)
                told = True
            click.echo(piece, nl=False)
        click.echo()
        answer = result.answer
        if not told:
            _note(answer.note)
    else:
        answer = result
        _note(answer.note)
    if as_json:
        click.echo(json.dumps(_answer_object(question, answer)))
        return
    if not stream:
        click.echo(answer.text)
    for source in answer.sources:
        mark = "*" if source in answer.cited else " "
        why = f"{source.similarity:.2f}, keyword match" if source.keyword else f"{source.similarity:.2f}"
        click.secho(f"{mark}[{source.n}] {source.label}  ({why})", fg="cyan")
        click.echo(f"     {source.snippet}")


def _answer_object(question: str, answer: Any) -> dict[str, Any]:
    """What ``hackkit ask --json`` prints: the answer, who wrote it, why another did, and its sources."""
    return {
        "question": question,
        "answer": answer.text,
        "found": answer.found,
        "extractive": answer.extractive,
        "model": answer.response.model_id if answer.response is not None else None,
        "note": answer.note,
        "sources": [
            {
                "n": s.n,
                "source": s.source,
                "page": s.page,
                "heading": s.heading,
                "similarity": round(s.similarity, 4),
                "keyword": s.keyword,
                "snippet": s.snippet,
                "chunk_id": s.chunk_id,
            }
            for s in answer.sources
        ],
    }


@click.command(name="eval")
@click.option(
    "--beir",
    "folder",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A BEIR-layout folder: corpus.jsonl, queries.jsonl, qrels/test.tsv.",
)
@click.option("--mode", type=click.Choice(["hybrid", "dense", "bm25"]), default="hybrid", show_default=True)
@click.option("--limit", type=int, help="Only the first N judged queries.")
@click.option("--json", "as_json", is_flag=True, help="Exactly one JSON object, as the last line of stdout.")
def eval_command(folder: Path, mode: str, limit: int | None, as_json: bool) -> None:
    """nDCG@10, recall@10 and MRR@10 of retrieval on a BEIR data set."""
    from hackkit.rag.eval import evaluate

    result = evaluate(folder, mode, limit=limit)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{folder.name}: {result['queries']} queries over {result['documents']} documents, mode {mode}")
    for metric in ("ndcg@10", "recall@10", "mrr@10"):
        click.echo(f"  {metric:<10} {result[metric]:.4f}")
    click.echo(f"  (index {result['index_seconds']}s, queries {result['query_seconds']}s)")


PROGRESS_LABELS = {"reading": "reading files   ", "embedding": "embedding chunks"}


class _progress:
    """Progress bars on stderr, only when stderr is a terminal: files read, then chunks embedded."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Any = None
        self.stage = ""

    def __enter__(self) -> Any:
        return self.update if self.enabled else None

    def update(self, done: int, total: int, stage: str) -> None:
        if stage != self.stage:
            self._close()
            self.stage = stage
            self.bar = click.progressbar(
                length=total, label=PROGRESS_LABELS.get(stage, stage), show_pos=True, file=sys.stderr
            )
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __exit__(self, *exc: object) -> None:
        self._close()


COMMANDS = [ingest, ask, eval_command]
