"""A recipe: one YAML file that says which model to tune, on which data, and how.

Keys take PEFT's ``LoraConfig`` names (``r``, ``lora_alpha``...) and TRL's ``SFTConfig`` names
(``learning_rate``, ``max_length``...) where those exist, and any other field of those two classes
passes through to them. hackkit's own keys are few: ``eval_dataset_name``, ``eval_split`` and
``early_stopping_patience``, and ``auto`` for ``load_in_4bit``, ``bf16`` and
``gradient_checkpointing`` (on where CUDA is, off on a CPU). Relative paths resolve against the
recipe's folder, so a recipe runs the same from anywhere.

hackkit's defaults, beside the published ones (docs/finetune.md says why):

================  =========  ===============  ===============  ===========
key               hackkit    mistral-finetune Axolotl QLoRA    TRL advice
================  =========  ===============  ===============  ===========
r                 16         64               32               -
lora_alpha        32         -                16               -
lora_dropout      0.05       -                0.05             -
learning_rate     1e-4       6e-5             2e-4             about 1e-4
================  =========  ===============  ===============  ===========
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hackkit.finetune.errors import RecipeError

Auto = Literal["auto"]
PATH_KEYS = ("dataset_name", "eval_dataset_name", "output_dir", "chat_template_path")


class Recipe(BaseModel):
    model_config = ConfigDict(extra="allow", validate_assignment=True, protected_namespaces=())

    # What to tune, on what, and where the adapter goes
    model_name_or_path: str = "local/smollm2"  # a model folder, a .gguf file, a hub id, or local/smollm2
    dataset_name: str = "train.jsonl"  # a JSONL file of chat examples
    eval_dataset_name: str | None = None  # held-out examples; default: eval_split of dataset_name
    eval_split: float = Field(0.1, ge=0, lt=1)
    output_dir: str = "out"
    chat_template_path: str | None = None  # a template with {% generation %} markers, for other families
    # LoRA: PEFT's LoraConfig
    r: int = Field(16, ge=1)
    lora_alpha: float = Field(32, gt=0)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: str | list[str] = "all-linear"
    load_in_4bit: bool | Auto = "auto"  # QLoRA through bitsandbytes where CUDA is
    # Training: TRL's SFTConfig
    learning_rate: float = Field(1e-4, gt=0)
    lr_scheduler_type: str = "cosine"
    warmup_steps: float = Field(0.03, ge=0)  # below 1: a fraction of the steps
    num_train_epochs: float = Field(3, gt=0)
    max_steps: int = -1  # above 0: stop there, whatever the epochs say
    per_device_train_batch_size: int = Field(4, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    max_length: int = Field(1024, ge=16)
    packing: bool = False
    eval_steps: int = Field(50, ge=1)
    save_steps: int = Field(50, ge=1)
    logging_steps: int = Field(5, ge=1)
    early_stopping_patience: int | None = Field(None, ge=1)  # evaluations without improvement before stopping
    seed: int = 42
    bf16: bool | Auto = "auto"
    gradient_checkpointing: bool | Auto = "auto"

    # Not keys: where the recipe was read from
    folder: Path = Field(default_factory=Path.cwd, exclude=True)
    source: Path | None = Field(default=None, exclude=True)

    def path(self, value: str) -> Path:
        """A path from the recipe, resolved against the recipe's folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.folder / path).resolve()

    @property
    def output(self) -> Path:
        return self.path(self.output_dir)

    @property
    def extra(self) -> dict[str, Any]:
        """Keys that are not hackkit's: SFTConfig or LoraConfig fields, passed through."""
        return dict(self.model_extra or {})

    def keys(self) -> dict[str, Any]:
        """The recipe as it will run, every key with its value (for the model card)."""
        return {**self.model_dump(exclude={"folder", "source"}), **self.extra}


def load_recipe(path: Path | str | None = None, overrides: Sequence[str] = ()) -> Recipe:
    """Read a recipe file (or take the defaults), then apply ``key=value`` overrides (``--set``)."""
    import yaml

    data: dict[str, Any] = {}
    folder = Path.cwd()
    if path is not None:
        path = Path(path).resolve()
        folder = path.parent
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise RecipeError(
                f"The recipe {path} cannot be read: {exc}", hint="give a YAML file of key: value"
            ) from None
        if not isinstance(data, dict):
            raise RecipeError(f"The recipe {path} is not a mapping of key: value.", hint="see docs/finetune.md")
    for override in overrides:
        key, value = parse_override(override)
        data[key] = value
    try:
        return Recipe.model_validate({**data, "folder": folder, "source": path})
    except ValidationError as exc:
        raise _recipe_error(exc, path) from None


def parse_override(text: str) -> tuple[str, Any]:
    """``max_steps=20`` -> ("max_steps", 20): the value is read as YAML, as in the file."""
    import yaml

    key, separator, value = text.partition("=")
    if not separator or not key.strip():
        raise RecipeError(f"--set {text!r} is not key=value.", hint="for example: --set max_steps=20")
    return key.strip(), yaml.safe_load(value) if value.strip() else None


def _recipe_error(exc: ValidationError, path: Path | None) -> RecipeError:
    problems = [f"`{'.'.join(str(p) for p in err['loc'])}`: {err['msg']}" for err in exc.errors()]
    return RecipeError(
        f"The recipe {path or '(defaults)'} is not valid:\n  " + "\n  ".join(problems),
        hint="see docs/finetune.md for every key and its default",
    )


def check_extra_keys(recipe: Recipe) -> None:
    """Every key that is not hackkit's must be a field of SFTConfig or LoraConfig (imports TRL and PEFT)."""
    known = _sft_fields() | _lora_fields()
    owned = set(Recipe.model_fields)
    for key in recipe.extra:
        if key not in known:
            near = difflib.get_close_matches(key, sorted(known | owned), n=1)
            raise RecipeError(
                f"Unknown recipe key {key!r} in {recipe.source or 'the overrides'}"
                + (f" (did you mean {near[0]!r}?)" if near else "")
                + ".",
                hint="recipe keys are hackkit's (docs/finetune.md), or fields of TRL's SFTConfig or PEFT's LoraConfig",
            )


def _sft_fields() -> set[str]:
    from trl import SFTConfig

    return {f.name for f in dataclasses.fields(SFTConfig)}


def _lora_fields() -> set[str]:
    from peft import LoraConfig

    return {f.name for f in dataclasses.fields(LoraConfig)}


def split_extra(recipe: Recipe) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pass-through keys, as (SFTConfig's, LoraConfig's)."""
    lora = _lora_fields()
    extra = recipe.extra
    return {k: v for k, v in extra.items() if k not in lora}, {k: v for k, v in extra.items() if k in lora}
