"""What a run leaves beside its adapter: ``README.md``, a model card for people and the Hub, and
``hackkit-finetune.json``, the same facts for programs (the local provider reads the base from it).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hackkit import __version__
from hackkit.llm.providers.local import FINETUNE_RECORD


def perplexity(loss: float | None) -> float | None:
    return math.exp(loss) if loss is not None and loss < 50 else None


def write_record(folder: Path, record: dict[str, Any]) -> None:
    record = {"hackkit_version": __version__, "written": datetime.now(timezone.utc).isoformat(), **record}
    (folder / FINETUNE_RECORD).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_record(folder: Path) -> dict[str, Any]:
    path = folder / FINETUNE_RECORD
    return dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else {}


def write_card(folder: Path, record: dict[str, Any]) -> None:
    """README.md: the recipe, the data, the losses, the evaluation, and how to use the adapter."""
    import yaml

    base = record["base"]
    sections = [
        _front_matter(base["recorded"]),
        f"# {folder.name}: a LoRA adapter for {base['recorded']}\n",
        f"Trained with `hackkit finetune train` (hackkit {__version__}) from `{base['source']}`.\n",
        _usage(folder, base),
        "## Data\n\n" + _table(["", "value"], [[k.replace("_", " "), v] for k, v in record["data"].items()]),
        "## Recipe\n\n```yaml\n" + yaml.safe_dump(record["recipe"], sort_keys=False) + "```\n",
        "## Losses\n\n" + _losses(record["curves"]),
        "## Evaluation\n\n" + _evaluation(record.get("eval") or {}),
    ]
    (folder / "README.md").write_text("\n".join(sections), encoding="utf-8")


def _front_matter(base: str) -> str:
    tags = "tags: [hackkit, lora, sft, trl]"
    return f"---\nbase_model: {base}\nlibrary_name: peft\npipeline_tag: text-generation\n{tags}\n---\n"


def _usage(folder: Path, base: dict[str, Any]) -> str:
    lines = [
        "## Use it\n",
        f'- hackkit: `hackkit chat -m local/{folder} "hello"` (and `model = "local/{folder}"` in hackkit.toml)',
        f"- merged into the base, for Ollama or llama.cpp through GGUF: `hackkit finetune merge {folder} -o merged`",
    ]
    if base.get("portable", True):
        lines += [
            f"- PEFT: `AutoPeftModelForCausalLM.from_pretrained({str(folder)!r})`",
            f"- vLLM: `vllm serve {base['recorded']} --enable-lora --lora-modules tuned={folder}`",
        ]
    else:
        lines.append(
            f"- The base here is the GGUF file of `{base['source']}`, de-quantised; the adapter names "
            f"{base['recorded']} as its base, so merge it to carry it elsewhere."
        )
    return "\n".join(lines) + "\n"


def _losses(curves: dict[str, list[list[float]]]) -> str:
    evals = {int(step): loss for step, loss in curves.get("eval", [])}
    steps = sorted({int(step) for step, _ in curves.get("train", [])} | set(evals))
    train = {int(step): loss for step, loss in curves.get("train", [])}
    rows = [[step, _number(train.get(step)), _number(evals.get(step))] for step in steps]
    return _table(["step", "train loss", "eval loss"], rows) if rows else "No step was logged.\n"


def _evaluation(evaluation: dict[str, Any]) -> str:
    if not evaluation:
        return "No held-out data (eval_split: 0 and no eval_dataset_name).\n"
    rows = [
        ["base (before training)", _number(evaluation.get("base_loss")), _number(evaluation.get("base_perplexity"))],
        ["tuned", _number(evaluation.get("loss")), _number(evaluation.get("perplexity"))],
    ]
    return f"On {evaluation.get('examples', '?')} held-out examples (assistant tokens only):\n\n" + _table(
        ["model", "eval loss", "perplexity"], rows
    )


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
