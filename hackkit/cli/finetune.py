"""``hackkit finetune``: data, validate, train, merge, eval and push, each a call into ``hackkit.finetune``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)


@click.group()
def finetune() -> None:
    """LoRA fine-tuning on TRL and PEFT: turn your data or your logs into a tuned model.

    \b
    hackkit finetune data --from-ledger -o train.jsonl   (your logged calls, as chat examples)
    hackkit finetune validate train.jsonl               (every problem as FILE:LINE: problem)
    hackkit finetune train recipe.yaml --set max_steps=20
    hackkit chat -m local/out "hello"                   (the tuned model answers)
    """


@finetune.command()
@click.option("--from-ledger", "ledger", is_flag=True, help="From the project's logged calls.")
@click.option("--from-csv", "csv_file", type=FILE, help="From a CSV file: prompt/completion or Alpaca columns.")
@click.option(
    "--from-jsonl", "jsonl_file", type=FILE, help="From a JSONL file of prompt/completion, Alpaca or ShareGPT."
)
@click.option(
    "--model", help="Only the calls this model answered (with --from-ledger), e.g. mistral/mistral-large-latest."
)
@click.option("--since", help="Only calls this recent (with --from-ledger): 30m, 24h, 7d.")
@click.option("--ledger-path", type=FILE, help="The ledger file; default the project's .hackkit/ledger.sqlite.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The JSONL to write."
)
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists (by default an existing file is kept).")
def data(
    ledger: bool,
    csv_file: Path | None,
    jsonl_file: Path | None,
    model: str | None,
    since: str | None,
    ledger_path: Path | None,
    output: Path,
    force: bool,
) -> None:
    """Write chat examples (the `messages` format) from logged calls, a CSV file or a JSONL file."""
    from hackkit import finetune as ft
    from hackkit.errors import ConfigError

    sources = [s for s in (ledger or ledger_path, csv_file, jsonl_file) if s]
    if len(sources) != 1:
        raise click.UsageError("Give one source: --from-ledger, --from-csv FILE or --from-jsonl FILE.")
    if output.exists() and not force:
        raise ConfigError(
            f"{output} exists; nothing was written.", hint="pick another -o, or pass --force to replace it"
        )
    if csv_file:
        conversion = ft.from_csv(csv_file)
    elif jsonl_file:
        conversion = ft.from_jsonl(jsonl_file)
    else:
        conversion = ft.from_ledger(ledger_path or _ledger_path(), model=model, since=since)
    conversion.write(output)
    click.echo(f"{output}: {conversion.summary()}")
    if not conversion.examples:
        raise SystemExit(1)


def _ledger_path() -> Path:
    from hackkit.llm import default_client

    ledger = default_client().ledger
    if ledger is None:
        raise click.ClickException("The ledger is off ([llm.ledger] enabled = false); pass --ledger-path.")
    return Path(ledger.path)


@finetune.command()
@click.argument("files", nargs=-1, required=True, type=FILE)
@click.option("--model", help="Also count tokens with this model's tokenizer: local/smollm2, a folder, a hub id.")
@click.option("--max-length", type=click.IntRange(min=16), default=1024, show_default=True, help="With --model.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file.")
def validate(files: tuple[Path, ...], model: str | None, max_length: int, as_json: bool) -> None:
    """Check FILES of chat examples; every problem is printed as FILE:LINE: problem."""
    from hackkit.finetune.validate import validate_file

    tokenizer, template = _tokenizer(model) if model else (None, None)
    failed = False
    for path in files:
        report = validate_file(path, tokenizer=tokenizer, template=template, max_length=max_length)
        failed |= not report.ok
        if as_json:
            click.echo(json.dumps(report.summary()))
            continue
        for problem in report.problems:
            click.echo(problem)
        _show_validation(report, model)
    if failed:
        raise SystemExit(1)


def _tokenizer(model: str) -> tuple[Any, str]:
    from hackkit.finetune.base import load_tokenizer, resolve_base
    from hackkit.finetune.templates import training_template

    base = resolve_base(model, Path.cwd())
    tokenizer = load_tokenizer(base)
    return tokenizer, training_template(tokenizer, base.config().get("model_type"))


def _show_validation(report: Any, model: str | None) -> None:
    verdict = "valid" if report.ok else f"{len(report.problems)} problem(s)"
    click.secho(f"{report.path}: {len(report.examples)} of {report.lines} examples valid; {verdict}", bold=True)
    if report.stats is not None:
        s = report.stats.summary()
        click.echo(
            f"  tokens ({model}): {s['tokens']} in all; per example min {s['min']}, median {s['median']}, "
            f"p95 {s['p95']}, max {s['max']}; {s['over_max_length']} over max_length {s['max_length']}"
        )
        click.echo(
            f"  the loss sees {s['trained_tokens']} tokens in {s['trained_examples']} examples "
            "(the assistant's, within max_length)"
        )


@finetune.command()
@click.argument("recipe", type=FILE)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a recipe key (repeatable).")
@click.option("--no-resume", is_flag=True, help="Start from step 0 even if the output folder has a checkpoint.")
@click.option("--push", "push_to", metavar="REPO", help="Then upload the adapter to this Hub repository (HF_TOKEN).")
def train(recipe: Path, overrides: tuple[str, ...], no_resume: bool, push_to: str | None) -> None:
    """Train the LoRA adapter RECIPE describes (a YAML file; docs/finetune.md lists its keys)."""
    from hackkit.finetune import push
    from hackkit.finetune import train as run_train

    _quiet_libraries()
    bar = _Bar()
    result = run_train(recipe, overrides, resume=not no_resume, progress=bar)
    bar.close()
    where = click.format_filename(str(result.output))
    evaluation = result.eval
    line = f"Adapter: {where} (step {result.steps}, {result.tokens_per_second:,.0f} tokens/s)"
    if evaluation.get("base_loss") is not None:
        line += f"; eval loss {evaluation['base_loss']:.3f} -> {evaluation['loss']:.3f}"
    click.secho(line, fg="green", bold=True)
    click.echo(f'  try it: hackkit chat -m local/{_model_path(result.output)} "hello"')
    if push_to:
        click.echo(f"Uploaded to {push(result.output, push_to)}")


def _quiet_libraries() -> None:
    """One bar: no progress bar for each step of the data's preparation, no deprecation notes of the libraries."""
    import warnings

    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning)


def _model_path(folder: Path) -> str:
    """``local/...`` names a folder relative to here with ./, else absolutely."""
    try:
        return "./" + folder.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return folder.as_posix()


class _Bar:
    """The run as it goes, on stderr: a bar with loss and tokens/s on a terminal, a line per log otherwise."""

    WIDTH = 24

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.eval_loss: float | None = None
        self.drawn = False

    def __call__(self, event: Any) -> None:
        if not hasattr(event, "step"):
            self._start(event)
            return
        if event.eval_loss is not None:
            self.eval_loss = event.eval_loss
            if not self.tty:
                click.echo(f"step {event.step}: eval loss {event.eval_loss:.4f}", err=True)
            return
        self._draw(event)

    def _start(self, start: Any) -> None:
        data = start.data
        base = start.base if start.base == start.recorded else f"{start.base} ({start.recorded})"
        click.echo(f"Base: {base}; {start.hardware}", err=True)
        click.echo(
            f"Data: {data['train_examples']} examples to train on, {data['eval_examples']} held out "
            f"({data['eval_source']}); the loss sees {data['trained_tokens']} of {data['tokens']} tokens",
            err=True,
        )
        if start.resumed_from:
            click.echo(f"Resuming from {start.resumed_from}", err=True)

    def _draw(self, step: Any) -> None:
        done = min(1.0, step.step / step.max_steps) if step.max_steps else 0.0
        bar = "#" * int(done * self.WIDTH) + "-" * (self.WIDTH - int(done * self.WIDTH))
        evaluation = f" eval {self.eval_loss:.4f}" if self.eval_loss is not None else ""
        text = (
            f"[{bar}] {step.step}/{step.max_steps} loss {step.loss:.4f}{evaluation} "
            f"{step.tokens_per_second or 0:,.0f} tok/s"
        )
        if self.tty:
            click.echo("\r" + text, nl=False, err=True)
            self.drawn = True
        else:
            click.echo(text, err=True)

    def close(self) -> None:
        if self.drawn:
            click.echo("", err=True)


@finetune.command()
@click.argument("adapter", type=FOLDER)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "--dtype", type=click.Choice(["auto", "float32", "bfloat16", "float16"]), default="auto", show_default=True
)
@click.option("--force", is_flag=True, help="Write into a non-empty folder.")
@click.option("--push", "push_to", metavar="REPO", help="Then upload the merged model to this Hub repository.")
def merge(adapter: Path, output: Path, dtype: str, force: bool, push_to: str | None) -> None:
    """Merge ADAPTER into its base: a plain model folder (for GGUF, Ollama, llama.cpp; docs/finetune.md)."""
    from hackkit.finetune import merge as run_merge
    from hackkit.finetune import push

    folder = run_merge(adapter, output, dtype=dtype, force=force)
    click.secho(f"Merged model: {click.format_filename(str(folder))}", fg="green", bold=True)
    if push_to:
        click.echo(f"Uploaded to {push(folder, push_to)}")


@finetune.command(name="eval")
@click.argument("adapter", type=FOLDER)
@click.option("--data", "data_file", type=FILE, help="Held-out chat examples; default the run's eval.jsonl.")
@click.option("--prompts", type=click.IntRange(min=0), default=3, show_default=True, help="Answers side by side.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def eval_command(adapter: Path, data_file: Path | None, prompts: int, max_new_tokens: int, as_json: bool) -> None:
    """Eval loss and perplexity of the base and the tuned model, and a few answers of each."""
    from dataclasses import asdict

    from hackkit.finetune import evaluate

    report = evaluate(adapter, data_file, prompts=prompts, max_new_tokens=max_new_tokens)
    if as_json:
        found = {**asdict(report), "data": str(report.data)}
        found.update(base_perplexity=report.base_perplexity, tuned_perplexity=report.tuned_perplexity)
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    click.echo(f"{report.data}: {report.examples} examples, {report.tokens} assistant tokens")
    click.echo(f"  base   eval loss {report.base_loss:.4f}  perplexity {report.base_perplexity:.2f}")
    click.echo(f"  tuned  eval loss {report.tuned_loss:.4f}  perplexity {report.tuned_perplexity:.2f}")
    for comparison in report.comparisons:
        click.echo(f"\n> {comparison.prompt}")
        click.echo(f"  expected: {comparison.expected}")
        click.echo(f"  base:     {comparison.base}")
        click.echo(f"  tuned:    {comparison.tuned}")


@finetune.command(name="push")
@click.argument("folder", type=FOLDER)
@click.argument("repo")
@click.option("--public", is_flag=True, help="Create the repository public (default private).")
def push_command(folder: Path, repo: str, public: bool) -> None:
    """Upload an adapter or a merged model FOLDER to the Hub repository REPO (needs HF_TOKEN)."""
    from hackkit.finetune import push

    click.echo(f"Uploaded to {push(folder, repo, private=not public)}")


COMMANDS = [finetune]
