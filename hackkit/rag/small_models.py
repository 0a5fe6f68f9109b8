"""How many parameters a ``local/...`` model has, when that is known without loading it.

A model under a billion parameters cannot be trusted to read sources (SmolLM2-135M, asked "How
long is each team's demo?" beside the judging rules, wrote that "each team can submit their
repository link after 15:00"), so answers from one are quoted instead (``[rag] answer = "auto"``).
Sizes come from what a model folder says about itself: a parameter count in ``config.json``, the
tensor shapes in its safetensors headers, or, for a dense decoder, its dimensions in
``config.json``; a PEFT adapter has the size of its base model. Anything else counts as unknown,
and unknown counts as big.
"""

from __future__ import annotations

import functools
import json
import math
import struct
from pathlib import Path
from typing import Any

from hackkit.errors import HackkitError

SMALL = 1e9
KNOWN = {"smollm2": 135e6, "default": 135e6}  # local/smollm2: SmolLM2-135M-Instruct
COUNT_KEYS = ("num_parameters", "n_parameters", "num_params", "parameter_count")
EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")


def is_small(provider: Any, name: str) -> bool:
    """True when the local model ``name`` (as after ``local/``) is known to have under a billion parameters."""
    count = parameter_count(provider, name)
    return count is not None and count < SMALL


def parameter_count(provider: Any, name: str) -> float | None:
    """Parameters of a local model, or None when unknown; ``provider`` is the local provider."""
    if name in KNOWN:
        return KNOWN[name]
    try:
        source = provider.resolve_source(name)
    except HackkitError:  # a missing folder or package: the chat call will say so; the size is unknown
        return None
    folder = source if isinstance(source, Path) else _cached_hub_folder(str(source))
    return _folder_count(folder) if folder is not None and folder.is_dir() else None


@functools.lru_cache(maxsize=64)
def _folder_count(folder: Path) -> float | None:
    adapter = _json(folder / "adapter_config.json")
    if adapter.get("base_model_name_or_path"):
        base = str(adapter["base_model_name_or_path"])
        base_folder = Path(base).expanduser() if Path(base).expanduser().is_dir() else _cached_hub_folder(base)
        return _folder_count(base_folder.resolve()) if base_folder is not None else None
    config = _json(folder / "config.json")
    stated = next((config[key] for key in COUNT_KEYS if isinstance(config.get(key), (int, float))), None)
    return float(stated) if stated is not None else _safetensors_count(folder) or _estimate(config)


def _safetensors_count(folder: Path) -> float | None:
    """The exact count from the tensor shapes in the safetensors headers (8-byte length, then JSON)."""
    total = 0
    for path in sorted(folder.glob("*.safetensors")):
        try:
            with path.open("rb") as handle:
                (length,) = struct.unpack("<Q", handle.read(8))
                header = json.loads(handle.read(length))
            total += sum(math.prod(t["shape"]) for name, t in header.items() if name != "__metadata__")
        except (OSError, ValueError, struct.error, KeyError, TypeError):  # not a safetensors file after all
            return None
    return float(total) if total else None


def _estimate(config: dict[str, Any]) -> float | None:
    """A dense decoder's parameters from its dimensions (embeddings, attention, MLP); None for others."""

    def get(*keys: str) -> int | None:
        return next((config[k] for k in keys if isinstance(config.get(k), int)), None)

    hidden, layers, vocab = (
        get("hidden_size", "n_embd", "d_model"),
        get("num_hidden_layers", "n_layer"),
        get("vocab_size"),
    )
    if hidden is None or layers is None or vocab is None or any(k in config for k in EXPERT_KEYS):
        return None
    heads = get("num_attention_heads", "n_head") or 1
    head_dim = get("head_dim") or hidden // heads
    kv_heads = get("num_key_value_heads") or heads
    inner = get("intermediate_size", "n_inner", "ffn_dim") or 4 * hidden
    attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
    mlp = (3 if config.get("hidden_act") in ("silu", "swiglu", "gelu_pytorch_tanh") else 2) * hidden * inner
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings", True) else 2)
    return float(layers * (attention + mlp) + embeddings)


def _cached_hub_folder(repo_id: str) -> Path | None:
    """A hub model's folder in the local Hugging Face cache, never the network."""
    if repo_id.count("/") != 1:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(repo_id, "config.json")
    return Path(found).parent if isinstance(found, str) else None


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
