"""Training throughput and peak memory of `hackkit finetune train` beside a plain TRL script, same run.

Both sides train the same LoRA (r 16, alpha 32, all linear layers) on the same model, data and
settings, each in a fresh process, in turns: hackkit through ``hackkit.finetune.train`` (what the
command calls: validation, the training template, its callbacks), the baseline as a TRL user
writes it (``SFTTrainer`` + ``LoraConfig``, ``assistant_only_loss`` with the same template passed as
``chat_template_path``, since TRL ships none for Mistral, and hackkit's checkpointing: a checkpoint
at the last step, as transformers saves with ``save_strategy="steps"``). Tokens per second are the
input tokens (not padding) over the time between the trainer's ``on_train_begin`` and
``on_train_end``, measured by one callback on both sides, in wall time and in the process's CPU
time. On a machine shared with other work those swing by tens of percent from run to run, so the
verdict is on a steadier figure: both sides train the same batches in the same order (their losses
agree step for step), each step is timed from ``on_step_begin`` to ``on_step_end``, and each side's
time is the sum over steps of that step's fastest time across the rounds: other work only ever adds
time. Peak memory is each process's maximum resident set. Target: ratio at least 0.95, with the
tiny random Mistral of the tests and with SmolLM2 (``local/smollm2``).

    python benchmarks/finetune_throughput.py [--rounds 5] [--threads 1] [--models tiny,smollm2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import verdict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
SAMPLE = ROOT / "template" / "{{cookiecutter.project_slug}}" / "finetune" / "train.jsonl"
# The settings both sides train with; per model: steps and batch size.
SHAPES = {"tiny": {"steps": 60, "batch": 8}, "smollm2": {"steps": 8, "batch": 2}}
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": "all-linear"}
TRAINING = {"learning_rate": 1e-4, "max_length": 512, "logging_steps": 5, "seed": 42, "lr_scheduler_type": "cosine"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads in each training process")
    parser.add_argument("--models", default="tiny,smollm2")
    parser.add_argument("--child", choices=["hackkit", "trl"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import torch

        torch.set_num_threads(args.threads)
        run = run_hackkit if args.child == "hackkit" else run_trl
        print(json.dumps(run(Path(args.model), Path(args.data), SHAPES[args.shape])))
        return
    with tempfile.TemporaryDirectory(prefix="hackkit-ft-bench-") as scratch:
        for name in args.models.split(","):
            compare(name, model_folder(name, Path(scratch)), args.rounds, args.threads, Path(scratch))


def model_folder(name: str, scratch: Path) -> Path:
    if name == "tiny":
        from finetune_helpers import tiny_model

        return tiny_model(scratch, "mistral")
    from hackkit.finetune.base import resolve_base

    return Path(resolve_base("local/smollm2", scratch).folder)  # the de-quantised folder training reads


def compare(name: str, model: Path, rounds: int, threads: int, scratch: Path) -> None:
    data = scratch / f"{name}.jsonl"
    lines = SAMPLE.read_text().splitlines()
    data.write_text("\n".join(lines * 4) + "\n")  # 52 examples: enough batches for every step
    results: dict[str, list[dict[str, Any]]] = {"hackkit": [], "trl": []}
    for i in range(rounds):
        for side in ("hackkit", "trl") if i % 2 == 0 else ("trl", "hackkit"):
            results[side].append(child(side, model, data, name, threads))
    shape = SHAPES[name]
    print(
        f"{name}: {model.name}, {shape['steps']} steps of batch {shape['batch']}, {threads} thread(s), {rounds} rounds"
    )
    figures: dict[str, dict[str, float]] = {}
    for side, label in (("trl", "plain TRL SFTTrainer"), ("hackkit", "hackkit finetune train")):
        runs = results[side]
        fastest = [min(steps) for steps in zip(*(r["step_seconds"] for r in runs), strict=True)]
        wall = [r["tokens"] / r["seconds"] for r in runs]
        figures[side] = {
            "fastest": runs[0]["tokens"] / sum(fastest),
            "wall": statistics.median(wall),
            "cpu": statistics.median(r["tokens"] / r["cpu_seconds"] for r in runs),
        }
        peak = max(r["peak_rss_mb"] for r in runs)
        print(
            f"  {label:<24} {figures[side]['fastest']:7.0f} tokens/s (fastest steps); runs "
            f"{', '.join(f'{s:.0f}' for s in wall)}, median {figures[side]['wall']:.0f}; "
            f"{figures[side]['cpu']:.0f} per CPU-s; peak RSS {peak:.0f} MB"
        )
    ratios = {k: figures["hackkit"][k] / figures["trl"][k] for k in ("fastest", "wall", "cpu")}
    print(
        f"  ratio {ratios['fastest']:.3f} (target >= 0.95) {verdict(ratios['fastest'] >= 0.95)}; "
        f"median run {ratios['wall']:.3f}, CPU {ratios['cpu']:.3f}; {results['trl'][0]['tokens']} tokens a run"
    )
    losses = {side: [r["losses"] for r in runs] for side, runs in results.items()}
    print(f"  the same training: losses equal step for step: {losses['hackkit'][0] == losses['trl'][0]}")


def child(side: str, model: Path, data: Path, shape: str, threads: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", side, "--model", str(model), "--data", str(data)]
    command += ["--shape", shape, "--threads", str(threads)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=data.parent)
    if done.returncode:
        raise SystemExit(f"{side} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


class Timer:
    """The same clock on both sides: from on_train_begin to on_train_end, and the tokens between."""

    def __init__(self) -> None:
        from transformers import TrainerCallback

        timer = self

        class _Callback(TrainerCallback):
            def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                timer.started, timer.cpu_started = time.perf_counter(), time.process_time()
                timer.tokens_before = state.num_input_tokens_seen

            def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                timer.step_started = time.perf_counter()

            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                timer.steps.append(time.perf_counter() - timer.step_started)

            def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
                if logs and "loss" in logs:
                    timer.losses.append(round(float(logs["loss"]), 4))

            def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                timer.seconds = time.perf_counter() - timer.started
                timer.cpu_seconds = time.process_time() - timer.cpu_started
                timer.tokens = state.num_input_tokens_seen - timer.tokens_before

        self.callback = _Callback()
        self.started = self.seconds = self.cpu_started = self.cpu_seconds = self.step_started = 0.0
        self.steps: list[float] = []
        self.losses: list[float] = []
        self.tokens_before = self.tokens = 0

    def result(self) -> dict[str, Any]:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {
            "tokens": self.tokens,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "step_seconds": self.steps,
            "losses": self.losses,
            "peak_rss_mb": peak,
        }


def run_hackkit(model: Path, data: Path, shape: dict[str, int]) -> dict[str, Any]:
    from hackkit.finetune import load_recipe, train

    settings = {**LORA, **TRAINING, "max_steps": shape["steps"], "per_device_train_batch_size": shape["batch"]}
    settings |= {"model_name_or_path": str(model), "dataset_name": str(data), "eval_split": 0}
    settings |= {"save_steps": shape["steps"] + 1, "output_dir": str(data.parent / "hackkit-out")}
    recipe = load_recipe(None, [f"{k}={v}" for k, v in settings.items()])
    timer = Timer()
    train(recipe, resume=False, callbacks=[timer.callback])
    return timer.result()


def run_trl(model_path: Path, data: Path, shape: dict[str, int]) -> dict[str, Any]:
    """The baseline: a plain TRL script with the same model, data, template and settings."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from hackkit.finetune.templates import training_template

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    template = data.parent / "template.jinja"
    template.write_text(training_template(tokenizer, model.config.model_type))  # what TRL lacks for Mistral
    config = SFTConfig(
        output_dir=str(data.parent / "trl-out"),
        max_steps=shape["steps"],
        per_device_train_batch_size=shape["batch"],
        warmup_steps=0.03,
        assistant_only_loss=True,
        chat_template_path=str(template),
        bf16=False,
        activation_checkpointing=False,
        save_strategy="steps",  # hackkit's checkpointing: none before the end, then one at the last step
        save_steps=shape["steps"] + 1,
        save_total_limit=2,
        report_to="none",
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",
        dataloader_pin_memory=False,
        **TRAINING,
    )
    timer = Timer()
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list([json.loads(line) for line in data.read_text().splitlines()]),
        processing_class=tokenizer,
        peft_config=LoraConfig(task_type="CAUSAL_LM", **LORA),
        callbacks=[timer.callback],
    )
    trainer.train()
    return timer.result()


if __name__ == "__main__":
    main()
