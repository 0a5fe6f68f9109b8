"""LoRA and QLoRA of a Mistral-7B-shaped model on one CUDA GPU, through `hackkit finetune train`.

Not part of CI: run it on a GPU machine to fill in recipes/lora-mistral-7b/README.md. Nothing is
downloaded: the model is built from Mistral 7B's config (v0.3: 32 layers, hidden 4096, 32768 tokens)
with random weights in bf16 and saved to a scratch folder (about 14.5 GB of disk), the tokenizer is
the tests' small byte-level one (its ids are a subset of the model's vocabulary), and the data is
synthetic conversations of about ``--length`` tokens. Each mode trains ``--steps`` LoRA steps (r 16,
all linear layers) with the recipe's settings and prints tokens per second and peak GPU memory:

- ``lora``: the base in bf16, gradient checkpointing on;
- ``qlora``: the base in 4-bit NF4 through bitsandbytes, when it is installed.

    python benchmarks/finetune_gpu.py [--steps 10] [--length 2048] [--batch 1] [--modes lora,qlora]
    python benchmarks/finetune_gpu.py --config tiny     # the same path on a CPU, in seconds (a smoke test)

It needs torch with CUDA, transformers, peft, trl and datasets; what is missing is named, and it
exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
MISTRAL_7B = {  # mistralai/Mistral-7B-v0.3's config.json
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 32768,
    "max_position_embeddings": 32768,
    "rope_theta": 1_000_000.0,
    "sliding_window": None,
}
TINY = {**MISTRAL_7B, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
TINY |= {"num_key_value_heads": 2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=["mistral-7b", "tiny"], default="mistral-7b")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--length", type=int, default=2048, help="tokens per example (about)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--modes", default="lora,qlora")
    parser.add_argument("--scratch", type=Path, help="where the random model is saved (default: a temp folder)")
    args = parser.parse_args()
    if missing := [m for m in ("torch", "transformers", "peft", "trl", "datasets") if not importlib.util.find_spec(m)]:
        print(f"missing packages: {', '.join(missing)} (pip install peft trl datasets)", file=sys.stderr)
        raise SystemExit(2)
    import torch

    if args.config == "mistral-7b" and not torch.cuda.is_available():
        print("no CUDA GPU here: run with --config tiny for a CPU smoke test", file=sys.stderr)
        raise SystemExit(2)
    with tempfile.TemporaryDirectory(prefix="hackkit-gpu-", dir=args.scratch) as scratch:
        folder = build_model(Path(scratch), MISTRAL_7B if args.config == "mistral-7b" else TINY)
        data = write_data(folder, args.length, examples=args.steps * args.batch + 2)
        print(json.dumps({"machine": machine(), "config": args.config, "steps": args.steps, "batch": args.batch}))
        for mode in args.modes.split(","):
            print(json.dumps(run(mode, folder, data, args)), flush=True)


def machine() -> dict[str, Any]:
    import torch
    import transformers
    import trl

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {"gpu": gpu, "torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__}


def build_model(scratch: Path, shape: dict[str, Any]) -> Path:
    """Random weights in bf16 from the config, saved with a tokenizer: a folder hackkit trains from."""
    import torch
    from finetune_helpers import _tokenizer
    from transformers import AutoModelForCausalLM, MistralConfig

    tokenizer = _tokenizer("mistral")
    config = MistralConfig(
        **shape,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    started = time.perf_counter()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    folder = scratch / "mistral-random"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    print(json.dumps({"built_and_saved_s": round(time.perf_counter() - started, 1)}), flush=True)
    return folder


def write_data(folder: Path, length: int, examples: int) -> Path:
    """Conversations of about ``length`` tokens of the model's tokenizer, their answers cut to fit."""
    from finetune_helpers import CONVERSATIONS
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    text = " ".join(answer for _, answer in CONVERSATIONS)
    ids = tokenizer(text * (1 + length * 4 // len(text)), add_special_tokens=False)["input_ids"][: length - 32]
    answer = tokenizer.decode(ids)
    rows = [
        {"messages": [{"role": "user", "content": CONVERSATIONS[i % len(CONVERSATIONS)][0]},
                      {"role": "assistant", "content": answer}]}
        for i in range(examples)
    ]  # fmt: skip
    path = folder.parent / "train.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def run(mode: str, folder: Path, data: Path, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from hackkit.finetune import load_recipe, train

    if mode == "qlora" and not (torch.cuda.is_available() and importlib.util.find_spec("bitsandbytes")):
        return {"mode": mode, "skipped": "needs CUDA and bitsandbytes"}
    settings = {
        "model_name_or_path": str(folder),
        "dataset_name": str(data),
        "output_dir": str(folder.parent / f"out-{mode}"),
        "max_steps": args.steps,
        "per_device_train_batch_size": args.batch,
        "max_length": args.length + 64,
        "eval_split": 0,
        "save_steps": args.steps + 1,
        "logging_steps": 1,
        "load_in_4bit": mode == "qlora",
    }
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    result = train(load_recipe(None, [f"{k}={v}" for k, v in settings.items()]), resume=False)
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    reserved = torch.cuda.max_memory_reserved() / 2**30 if torch.cuda.is_available() else None
    return {
        "mode": mode,
        "hardware": result.hardware,
        "steps": result.steps,
        "tokens_per_second": round(result.tokens_per_second, 1),
        "seconds": round(result.seconds, 1),
        "peak_gpu_gib": None if peak is None else round(peak, 2),
        "peak_reserved_gib": None if reserved is None else round(reserved, 2),
        "final_loss": result.train_loss[-1][1] if result.train_loss else None,
    }


if __name__ == "__main__":
    main()
