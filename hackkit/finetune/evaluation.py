"""``hackkit finetune eval``: the base and the tuned model on held-out data, side by side.

The eval loss is the mean negative log-likelihood of the assistant's tokens (the tokens training
learns), over every example; perplexity is its exponential. Then a handful of held-out prompts are
answered by both, greedily, next to the answer the data expects. By default the data is the
``eval.jsonl`` a run held out, in the adapter's folder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hackkit.errors import ConfigError
from hackkit.finetune.base import require_finetune
from hackkit.finetune.data import EVAL_FILE


@dataclass
class Comparison:
    prompt: str  # the last user turn
    expected: str
    base: str
    tuned: str


@dataclass
class EvalReport:
    data: Path
    examples: int
    tokens: int  # assistant tokens scored
    base_loss: float
    tuned_loss: float
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def base_perplexity(self) -> float:
        return math.exp(min(self.base_loss, 50))

    @property
    def tuned_perplexity(self) -> float:
        return math.exp(min(self.tuned_loss, 50))


def evaluate(
    adapter: Path | str, data: Path | str | None = None, *, prompts: int = 3, max_new_tokens: int = 64
) -> EvalReport:
    """Eval loss and perplexity of base and tuned on ``data``, and ``prompts`` answers of each."""
    require_finetune()
    from hackkit.finetune.card import read_record
    from hackkit.finetune.merging import check_adapter, load_tuned
    from hackkit.finetune.validate import validate_file

    adapter = check_adapter(Path(adapter))
    path = Path(data) if data else adapter / EVAL_FILE
    if not path.is_file():
        raise ConfigError(f"No held-out data at {path}.", hint="pass --data FILE, a JSONL file of chat examples")
    report = validate_file(path)
    report.raise_for_problems()
    model, tokenizer, base_tokenizer = load_tuned(adapter, merged=False)
    record = read_record(adapter)
    template = _training_template(record, tokenizer, model)
    max_length = int(record.get("recipe", {}).get("max_length") or 4096)
    examples = [e.data for e in report.examples]
    base_loss, tokens = _loss(model, tokenizer, template, examples, max_length, adapter_on=False)
    tuned_loss, _ = _loss(model, tokenizer, template, examples, max_length, adapter_on=True)
    comparisons = [_compare(model, tokenizer, base_tokenizer, e, max_new_tokens) for e in examples[:prompts]]
    return EvalReport(path, len(examples), tokens, base_loss, tuned_loss, comparisons)


def _training_template(record: dict[str, Any], tokenizer: Any, model: Any) -> str:
    from hackkit.finetune.templates import training_template

    return str(record.get("training_template") or training_template(tokenizer, model.config.model_type))


def _loss(
    model: Any, tokenizer: Any, template: str, examples: list[dict[str, Any]], max_length: int, *, adapter_on: bool
) -> tuple[float, int]:
    """Mean NLL per assistant token, over all examples, and how many tokens that was."""
    import contextlib

    import torch

    from hackkit.finetune.templates import assistant_mask

    total, count = 0.0, 0
    context = contextlib.nullcontext() if adapter_on else model.disable_adapter()
    with context, torch.no_grad():
        for example in examples:
            ids, mask = (values[:max_length] for values in assistant_mask(tokenizer, template, example))
            logits = model(input_ids=torch.tensor([ids])).logits[0, :-1]
            targets, scored = torch.tensor(ids[1:]), torch.tensor(mask[1:], dtype=torch.bool)
            if scored.any():
                total += float(torch.nn.functional.cross_entropy(logits[scored], targets[scored], reduction="sum"))
                count += int(scored.sum())
    return (total / count if count else float("nan")), count


def _compare(
    model: Any, tokenizer: Any, base_tokenizer: Any, example: dict[str, Any], max_new_tokens: int
) -> Comparison:
    from hackkit.finetune.chat_format import for_template

    messages, _ = for_template(example)
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    prompt = [  # what a chat shows: text turns (a tool call and its result are left out)
        {"role": m["role"], "content": m["content"]} for m in messages[:last] if m["role"] != "tool" and m["content"]
    ]
    with model.disable_adapter():
        base = _answer(model, base_tokenizer, prompt, max_new_tokens)
    tuned = _answer(model, tokenizer, prompt, max_new_tokens)
    user = next(m["content"] for m in reversed(prompt) if m["role"] == "user")
    return Comparison(user, messages[last]["content"], base, tuned)


def _answer(model: Any, tokenizer: Any, messages: list[dict[str, Any]], max_new_tokens: int) -> str:
    import torch

    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        output = model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        )
    return str(tokenizer.decode(output[0][inputs["input_ids"].shape[-1] :], skip_special_tokens=True)).strip()
