"""``hackkit finetune merge``: the base with the adapter folded into its weights, as a plain model folder.

A merged folder needs neither PEFT nor the base: it is the way to carry a model tuned on
``local/smollm2`` (whose base is a GGUF file) elsewhere, and the input of llama.cpp's
``convert_hf_to_gguf.py`` for Ollama or llama.cpp. The merge is done in float32 on a base that is
not quantised (PEFT merges onto a quantised base only approximately), then saved in the base's dtype.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hackkit.errors import ConfigError
from hackkit.finetune.base import require_finetune

DTYPES = ("auto", "float32", "bfloat16", "float16")


def check_adapter(folder: Path) -> Path:
    from hackkit.llm.providers.local import ADAPTER_CONFIG

    if not (folder / ADAPTER_CONFIG).is_file():
        raise ConfigError(
            f"{folder} is not an adapter folder (it has no {ADAPTER_CONFIG}).",
            hint="give the output_dir of `hackkit finetune train` (out/ beside the recipe, by default)",
        )
    return folder.resolve()


def load_tuned(adapter: Path, *, merged: bool) -> tuple[Any, Any, Any]:
    """(model, the adapter's tokenizer, the base's tokenizer), in float32; unmerged, the adapter can be disabled."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hackkit.llm.providers.local import adapter_base, model_folder

    base = model_folder(adapter_base(adapter))
    model: Any = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32), adapter)
    if merged:
        model = model.merge_and_unload()  # a new model: PEFT's wrappers are gone
    tokenizer = AutoTokenizer.from_pretrained(adapter if (adapter / "tokenizer_config.json").is_file() else base)
    return model.eval(), tokenizer, AutoTokenizer.from_pretrained(base)


def merge(adapter: Path | str, output: Path | str, *, dtype: str = "auto", force: bool = False) -> Path:
    """Write the merged model and the adapter's tokenizer to ``output``; returns it."""
    require_finetune()
    import torch

    adapter, output = check_adapter(Path(adapter)), Path(output)
    if output.exists() and any(output.iterdir()) and not force:
        raise ConfigError(
            f"{output} already exists and is not empty; nothing was written.",
            hint="pick another folder with -o, or pass --force to overwrite the files it shares with a model",
        )
    saved = _dtype(adapter, dtype)
    model, tokenizer, _ = load_tuned(adapter, merged=True)
    model.to(getattr(torch, saved)).save_pretrained(output)
    tokenizer.save_pretrained(output)
    (output / "README.md").write_text(_card(adapter, saved), encoding="utf-8")
    return output


def _dtype(adapter: Path, dtype: str) -> str:
    """The dtype to save in: the one asked for, or (``auto``) the base's own, as its config.json says."""
    if dtype not in DTYPES:
        raise ConfigError(f"Unknown dtype {dtype!r}.", hint=f"one of {', '.join(DTYPES)}")
    if dtype != "auto":
        return dtype
    from transformers import AutoConfig

    from hackkit.llm.providers.local import adapter_base, model_folder

    config = AutoConfig.from_pretrained(model_folder(adapter_base(adapter)))
    base = str(getattr(config, "dtype", None) or "float32").removeprefix("torch.")
    return base if base in DTYPES else "float32"


def _card(adapter: Path, dtype: str) -> str:
    from hackkit.finetune.card import read_record

    record = read_record(adapter)
    base = (
        record.get("base", {}).get("recorded")
        or json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
    )
    return (
        f"---\nbase_model: {base}\npipeline_tag: text-generation\ntags: [hackkit, lora, merged]\n---\n"
        f"# {adapter.name}, merged\n\n"
        f"{base} with the LoRA adapter {adapter} merged into its weights ({dtype}), by `hackkit finetune merge`.\n"
        "Load it like any model folder (`local/PATH` in hackkit). For Ollama or llama.cpp, convert it to GGUF:\n\n"
        "```bash\npython llama.cpp/convert_hf_to_gguf.py . --outfile tuned.gguf --outtype q8_0\n```\n"
    )
