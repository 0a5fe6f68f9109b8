"""``hackkit finetune train``: a thin layer over TRL's ``SFTTrainer`` with a PEFT ``LoraConfig``.

The recipe maps onto ``SFTConfig`` and ``LoraConfig``; what hackkit adds around them: the data is
validated with the base's tokenizer first, the loss falls on assistant turns only (through the
training templates), a run resumes from its last checkpoint, running out of memory says which
setting to lower, and the output folder is an adapter that plain PEFT and hackkit's local provider
load, with its model card.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hackkit.finetune import card
from hackkit.finetune.base import Base, load_model, load_tokenizer, require_finetune, resolve_base
from hackkit.finetune.data import EVAL_FILE, RunData, as_dataset, prepare, write_jsonl
from hackkit.finetune.errors import TrainingInterrupted, TrainingOutOfMemory
from hackkit.finetune.hardware import Hardware, hardware_for
from hackkit.finetune.recipe import Recipe, check_extra_keys, load_recipe, split_extra
from hackkit.finetune.templates import inference_template, training_template
from hackkit.llm.providers.local import ADAPTER_CONFIG


@dataclass
class TrainResult:
    output: Path
    steps: int
    hardware: str
    data: dict[str, Any]
    resumed_from: Path | None = None
    train_loss: list[tuple[int, float]] = field(default_factory=list)
    eval_loss: list[tuple[int, float]] = field(default_factory=list)
    eval: dict[str, Any] = field(default_factory=dict)  # loss and perplexity, base and tuned
    tokens_per_second: float = 0.0
    seconds: float = 0.0


def train(
    recipe: Recipe | Path | str | None = None,
    overrides: Sequence[str] = (),
    *,
    resume: bool = True,
    progress: Callable[[Any], None] | None = None,
    callbacks: Sequence[Any] = (),
) -> TrainResult:
    """Train the recipe's LoRA adapter into its output folder; resumes from a checkpoint found there."""
    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(recipe, overrides)
    require_finetune()
    check_extra_keys(recipe)
    base = resolve_base(recipe.model_name_or_path, recipe.folder)
    tokenizer = load_tokenizer(base)
    template_path = recipe.path(recipe.chat_template_path) if recipe.chat_template_path else None
    template = training_template(tokenizer, base.config().get("model_type"), template_path)
    data = prepare(recipe, tokenizer, template)  # nothing trains on invalid data
    hardware = hardware_for(recipe)
    checkpoint = last_checkpoint(recipe.output) if resume else None
    from hackkit.finetune.progress import Curves, Progress, Start

    curves = Curves()
    tokenizer.chat_template = template
    trainer = build_trainer(
        recipe, base, tokenizer, data, hardware, [Progress(progress, curves), *callbacks], resuming=bool(checkpoint)
    )
    if progress is not None:
        progress(Start(base.source, base.recorded, hardware.describe(), data.summary(), recipe.output, checkpoint))
    with _advice(recipe, hardware, trainer):
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        final = _final_eval(trainer) if data.eval else {}
    tokenizer.chat_template = inference_template(template)
    result = _result(recipe, trainer, data, hardware, curves, final, checkpoint)
    if trainer.is_world_process_zero():
        _save(recipe, trainer, base, data, result, template)
    return result


def build_trainer(
    recipe: Recipe,
    base: Base,
    tokenizer: Any,
    data: RunData,
    hardware: Hardware,
    callbacks: list[Any],
    *,
    resuming: bool = False,
) -> Any:
    """TRL's SFTTrainer for the recipe, with the base loaded for this hardware."""
    from transformers import EarlyStoppingCallback, PrinterCallback
    from trl import SFTTrainer

    model = load_model(base, four_bit=hardware.four_bit, bf16=hardware.bf16)
    args = sft_config(recipe, hardware, has_eval=bool(data.eval), resuming=resuming)
    if args.load_best_model_at_end and recipe.early_stopping_patience:
        callbacks = [*callbacks, EarlyStoppingCallback(early_stopping_patience=recipe.early_stopping_patience)]
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=as_dataset(data.train),
        eval_dataset=as_dataset(data.eval) if data.eval else None,
        processing_class=tokenizer,
        peft_config=lora_config(recipe),
        callbacks=callbacks,
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log as a dict; the progress function shows them
    return trainer


def _final_eval(trainer: Any) -> dict[str, Any]:
    """The eval metrics of the model as saved: the last evaluation, if it was at the last step."""
    last = next((h for h in reversed(trainer.state.log_history) if "eval_loss" in h), None)
    if last is not None and last["step"] == trainer.state.global_step and not trainer.args.load_best_model_at_end:
        return dict(last)
    return dict(trainer.evaluate())


def sft_config(recipe: Recipe, hardware: Hardware, *, has_eval: bool, resuming: bool = False) -> Any:
    """The recipe as TRL's SFTConfig: its keys by their own names, hackkit's choices, then pass-through keys."""
    from trl import SFTConfig

    early = recipe.early_stopping_patience is not None and has_eval
    sft_extra, _ = split_extra(recipe)
    args: dict[str, Any] = {
        "output_dir": str(recipe.output),
        **{key: getattr(recipe, key) for key in SFT_KEYS},
        "per_device_eval_batch_size": recipe.per_device_train_batch_size,
        "save_strategy": "steps",
        "save_steps": recipe.eval_steps if early else recipe.save_steps,  # the best checkpoint must be saved
        "save_total_limit": 2,
        "eval_strategy": "steps" if has_eval else "no",
        "eval_on_start": has_eval and not resuming,  # step 0: the base's own eval loss, kept in checkpoints
        "load_best_model_at_end": early,
        "metric_for_best_model": "eval_loss" if early else None,
        "greater_is_better": False if early else None,
        "assistant_only_loss": True,
        "bf16": hardware.bf16,
        "fp16": hardware.fp16,
        _checkpointing_key(): hardware.gradient_checkpointing,
        "include_num_input_tokens_seen": "non_padding",
        "dataloader_pin_memory": hardware.cuda,
        "report_to": "none",
        "disable_tqdm": True,  # hackkit draws its own bar from the logs
        **sft_extra,
    }
    return SFTConfig(**args)


def _checkpointing_key() -> str:
    """transformers 5 renamed gradient_checkpointing (the recipe keeps TRL's documented name)."""
    import dataclasses

    from trl import SFTConfig

    names = {f.name for f in dataclasses.fields(SFTConfig)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


SFT_KEYS = (
    "learning_rate",
    "lr_scheduler_type",
    "warmup_steps",
    "num_train_epochs",
    "max_steps",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "max_length",
    "packing",
    "eval_steps",
    "logging_steps",
    "seed",
)


def lora_config(recipe: Recipe) -> Any:
    from peft import LoraConfig

    _, lora_extra = split_extra(recipe)
    return LoraConfig(
        r=recipe.r,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=recipe.lora_dropout,
        target_modules=recipe.target_modules,
        task_type="CAUSAL_LM",
        **lora_extra,
    )


def last_checkpoint(output: Path) -> Path | None:
    """The newest ``checkpoint-N`` folder a run left in ``output``, if any."""
    if not output.is_dir():
        return None
    from transformers.trainer_utils import get_last_checkpoint

    found = get_last_checkpoint(str(output))
    return Path(found) if found else None


@contextmanager
def _advice(recipe: Recipe, hardware: Hardware, trainer: Any) -> Iterator[None]:
    """Out of memory and Ctrl+C become errors that say what to do next; checkpoints are kept."""
    try:
        yield
    except KeyboardInterrupt:
        checkpoint = last_checkpoint(recipe.output)
        raise TrainingInterrupted(
            f"Training stopped at step {trainer.state.global_step}.",
            hint=f"run the same command again: it resumes from {checkpoint}"
            if checkpoint
            else f"no checkpoint was saved yet (one every save_steps = {recipe.save_steps}); the same command "
            "starts again",
        ) from None
    except (MemoryError, RuntimeError) as exc:
        if not is_out_of_memory(exc):
            raise
        raise out_of_memory(recipe, hardware, trainer.state.global_step) from exc


def is_out_of_memory(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, MemoryError) or "out of memory" in text or "can't allocate memory" in text


def out_of_memory(recipe: Recipe, hardware: Hardware, step: int) -> TrainingOutOfMemory:
    """Which settings to lower, the one that saves most first, as --set options to paste."""
    where = "GPU memory" if hardware.cuda else "memory"
    batch, accumulation = recipe.per_device_train_batch_size, recipe.gradient_accumulation_steps
    steps = []
    if batch > 1:
        steps.append(
            f"--set per_device_train_batch_size={batch // 2} --set gradient_accumulation_steps={accumulation * 2} "
            "(the same effective batch)"
        )
    if not hardware.gradient_checkpointing:
        steps.append("--set gradient_checkpointing=true")
    if hardware.cuda and not hardware.four_bit:
        steps.append("--set load_in_4bit=true (QLoRA; needs bitsandbytes)")
    steps.append(f"--set max_length={max(16, recipe.max_length // 2)} (conversations past it become problems)")
    return TrainingOutOfMemory(
        f"Training ran out of {where} at step {step} ({hardware.describe()}, batch {batch} x up to "
        f"{recipe.max_length} tokens); checkpoints saved so far are kept.",
        hint="lower the first setting that applies, then run again: " + "; then ".join(steps),
    )


def _result(
    recipe: Recipe,
    trainer: Any,
    data: RunData,
    hardware: Hardware,
    curves: Any,
    final: dict[str, Any],
    checkpoint: Path | None,
) -> TrainResult:
    history = trainer.state.log_history  # every session's logs: a checkpoint carries them
    train_loss = [(int(h["step"]), float(h["loss"])) for h in history if "loss" in h]
    eval_loss = [(int(h["step"]), float(h["eval_loss"])) for h in history if "eval_loss" in h]
    evaluation: dict[str, Any] = {}
    if final:
        base_loss = eval_loss[0][1] if eval_loss and eval_loss[0][0] == 0 else None
        evaluation = {
            "examples": len(data.eval),
            "loss": final["eval_loss"],
            "perplexity": card.perplexity(final["eval_loss"]),
            "base_loss": base_loss,
            "base_perplexity": card.perplexity(base_loss),
        }
    return TrainResult(
        output=recipe.output,
        steps=trainer.state.global_step,
        hardware=hardware.describe(),
        data=data.summary(),
        resumed_from=checkpoint,
        train_loss=train_loss,
        eval_loss=eval_loss,
        eval=evaluation,
        tokens_per_second=curves.tokens_per_second,
        seconds=curves.seconds,
    )


def _record_base(config_file: Path, recorded: str) -> None:
    """Name the base others can load (SmolLM2's hub id, not hackkit's cache folder) in the adapter's config.

    Written after saving: PEFT, saving, looks the base up to check its vocabulary, which offline
    fails for a hub id with a warning.
    """
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = recorded
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _save(recipe: Recipe, trainer: Any, base: Base, data: RunData, result: TrainResult, template: str) -> None:
    """The adapter (standard PEFT, naming a base others can load), its tokenizer, held-out data, card."""
    output = recipe.output
    trainer.save_model(str(output))  # the adapter, and the tokenizer with the inference template
    _record_base(output / ADAPTER_CONFIG, base.recorded)
    if data.eval and not recipe.eval_dataset_name:
        write_jsonl(output / EVAL_FILE, data.eval)
    record = {
        "base": {"source": base.source, "recorded": base.recorded, "portable": base.hub_id is None},
        "recipe": recipe.keys(),
        "data": result.data,
        "hardware": result.hardware,
        "steps": result.steps,
        "curves": {"train": result.train_loss, "eval": result.eval_loss},
        "eval": result.eval,
        "tokens_per_second": round(result.tokens_per_second, 1),
        "training_template": template,  # with its {% generation %} markers: `hackkit finetune eval` scores by it
    }
    card.write_record(output, record)
    card.write_card(output, record)
