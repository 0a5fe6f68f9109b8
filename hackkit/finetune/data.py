"""The examples a run trains and evaluates on: validated first (nothing trains on invalid data), then split.

Without ``eval_dataset_name``, ``eval_split`` of the examples (at least one, when there are two or
more) are held out, chosen by the recipe's seed, so a resumed run holds out the same ones. They are
written to ``eval.jsonl`` in the output folder, where ``hackkit finetune eval`` finds them.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hackkit.finetune.errors import DataError
from hackkit.finetune.recipe import Recipe
from hackkit.finetune.validate import ValidationReport, validate_file

EVAL_FILE = "eval.jsonl"


@dataclass
class RunData:
    train: list[dict[str, Any]]
    eval: list[dict[str, Any]]
    report: ValidationReport  # of the training file, with its token statistics
    eval_source: str  # the eval file, or "N% of FILE"

    def summary(self) -> dict[str, Any]:
        stats = self.report.stats.summary() if self.report.stats else {}
        return {
            "file": str(self.report.path),
            "examples": len(self.report.examples),
            "train_examples": len(self.train),
            "eval_examples": len(self.eval),
            "eval_source": self.eval_source,
            **{k if k.startswith(("tokens", "trained")) else f"tokens_{k}": v for k, v in stats.items()},
        }


def prepare(recipe: Recipe, tokenizer: Any, template: str) -> RunData:
    """Validate the recipe's data with the base's tokenizer; DataError lists every problem."""
    report = validate_file(
        recipe.path(recipe.dataset_name), tokenizer=tokenizer, template=template, max_length=recipe.max_length
    )
    examples = [e.data for e in report.examples]
    if recipe.eval_dataset_name:
        held_out = validate_file(
            recipe.path(recipe.eval_dataset_name), tokenizer=tokenizer, template=template, max_length=recipe.max_length
        )
        problems = report.problems + held_out.problems
        if problems or not report.ok or not held_out.ok:
            raise DataError(problems or [f"{report.path}: no examples"], report.lines + held_out.lines)
        return RunData(examples, [e.data for e in held_out.examples], report, str(held_out.path))
    report.raise_for_problems()
    train, held = split(examples, recipe.eval_split, recipe.seed)
    return RunData(train, held, report, f"{recipe.eval_split:.0%} of {report.path.name}" if held else "none")


def split(examples: list[dict[str, Any]], fraction: float, seed: int) -> tuple[list[dict[str, Any]], list[Any]]:
    """(train, eval): ``fraction`` of the examples held out, at least one when there are two or more."""
    if fraction <= 0 or len(examples) < 2:
        return list(examples), []
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    count = min(max(1, round(len(examples) * fraction)), len(examples) // 2)
    held = set(order[:count])
    return [e for i, e in enumerate(examples) if i not in held], [examples[i] for i in sorted(held)]


def write_jsonl(path: Path, examples: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for example in examples:
            handle.write(json.dumps(_compact(example), ensure_ascii=False) + "\n")


def _compact(example: dict[str, Any]) -> dict[str, Any]:
    """A normalised example as a person would write it: no empty keys, tools as a list."""
    from hackkit.finetune.chat_format import for_template

    messages, tools = for_template(example)
    return {"messages": messages, **({"tools": tools} if tools else {})}


def as_dataset(examples: list[dict[str, Any]]) -> Any:
    from datasets import Dataset

    return Dataset.from_list(examples)
