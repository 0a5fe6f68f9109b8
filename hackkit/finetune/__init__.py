"""LoRA fine-tuning on TRL and PEFT: data, validation, training, merging, evaluation.

The public surface (``hackkit finetune ...`` calls these)::

    validate_file(path, tokenizer=None, template=None, max_length=None) -> ValidationReport
    from_ledger(path, model=None, since=None) / from_csv(path) / from_jsonl(path) -> Conversion
    load_recipe(path, overrides) -> Recipe
    train(recipe, overrides, resume=True, progress=None) -> TrainResult
    merge(adapter, output) -> Path
    evaluate(adapter, data=None) -> EvalReport
    push(folder, repo) -> URL

Importing this package is cheap: torch, transformers, TRL and PEFT load inside the calls that use
them. Errors are in ``hackkit.finetune.errors``.
"""

from __future__ import annotations

from typing import Any

from hackkit.finetune.convert import Conversion, from_csv, from_jsonl, from_ledger
from hackkit.finetune.errors import DataError, NoTrainingTemplate, RecipeError, TrainingOutOfMemory
from hackkit.finetune.recipe import Recipe, load_recipe
from hackkit.finetune.validate import ValidationReport, validate_file

__all__ = [
    "Conversion",
    "DataError",
    "NoTrainingTemplate",
    "Recipe",
    "RecipeError",
    "TrainingOutOfMemory",
    "ValidationReport",
    "evaluate",
    "from_csv",
    "from_jsonl",
    "from_ledger",
    "load_recipe",
    "merge",
    "push",
    "train",
    "validate_file",
]
LAZY = {"train": "training", "merge": "merging", "evaluate": "evaluation", "push": "hub"}


def __getattr__(name: str) -> Any:
    if name in LAZY:
        import importlib

        return getattr(importlib.import_module(f"hackkit.finetune.{LAZY[name]}"), name)
    raise AttributeError(f"module 'hackkit.finetune' has no attribute {name!r}")
