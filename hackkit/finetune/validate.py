"""``hackkit finetune validate``: every problem of a JSONL file of chat examples, as ``FILE:LINE: problem``.

The structural checks (``chat_format.problems``) need no model. With a tokenizer and its training
template, each example is also tokenized as training will see it: a conversation longer than
``max_length`` is a problem (its end would be cut off), and the report says how many tokens there
are and how many of them the loss will see (the assistant's, within ``max_length``).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hackkit.finetune import chat_format
from hackkit.finetune.errors import DataError


@dataclass
class Example:
    line: int
    data: dict[str, Any]  # normalised (chat_format.normalise)


@dataclass
class TokenStats:
    """Token counts of the valid examples under one tokenizer and template."""

    lengths: list[int]
    trained: list[int]  # per example: the tokens the loss sees
    max_length: int | None

    @property
    def tokens(self) -> int:
        return sum(self.lengths)

    @property
    def trained_tokens(self) -> int:
        return sum(self.trained)

    @property
    def trained_examples(self) -> int:
        return sum(1 for n in self.trained if n)

    @property
    def over_max_length(self) -> int:
        return sum(1 for n in self.lengths if self.max_length and n > self.max_length)

    def summary(self) -> dict[str, Any]:
        lengths = sorted(self.lengths) or [0]
        return {
            "tokens": self.tokens,
            "min": lengths[0],
            "median": int(statistics.median(lengths)),
            "p95": lengths[min(len(lengths) - 1, int(0.95 * len(lengths)))],
            "max": lengths[-1],
            "max_length": self.max_length,
            "over_max_length": self.over_max_length,
            "trained_examples": self.trained_examples,
            "trained_tokens": self.trained_tokens,
        }


@dataclass
class ValidationReport:
    path: Path
    lines: int = 0  # non-blank lines read
    examples: list[Example] = field(default_factory=list)  # the valid ones
    problems: list[str] = field(default_factory=list)  # FILE:LINE: problem
    stats: TokenStats | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.examples)

    def raise_for_problems(self) -> None:
        if not self.ok:
            raise DataError(self.problems or [f"{self.path}: no examples"], self.lines)

    def summary(self) -> dict[str, Any]:
        found = {"file": str(self.path), "lines": self.lines, "valid": len(self.examples), "ok": self.ok}
        found["problems"] = self.problems
        if self.stats is not None:
            found["tokens"] = self.stats.summary()
        return found


def read_examples(path: Path) -> ValidationReport:
    """Read and check ``path`` structurally: each valid line is kept, normalised; each other is a problem."""
    report = ValidationReport(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.problems.append(f"{path}: cannot be read ({exc})")
        return report
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        report.lines += 1
        found = _line_problems(line)
        if isinstance(found, list):
            report.problems += [f"{path}:{number}: {problem}" for problem in found]
        else:
            report.examples.append(Example(number, found))
    if not report.lines and not report.problems:
        report.problems.append(f"{path}: no examples (the file is empty)")
    return report


def _line_problems(line: str) -> list[str] | dict[str, Any]:
    """The line's problems, or the example itself, normalised, when it has none."""
    try:
        example = json.loads(line)
    except json.JSONDecodeError as exc:
        return [f"bad JSON ({exc.msg} at column {exc.colno})"]
    found = chat_format.problems(example)
    return found or chat_format.normalise(example)


def measure(report: ValidationReport, tokenizer: Any, template: str, max_length: int | None) -> None:
    """Tokenize each valid example as training will; a conversation past ``max_length`` becomes a problem."""
    from hackkit.finetune.templates import assistant_mask

    lengths, trained = [], []
    for example in report.examples:
        ids, mask = assistant_mask(tokenizer, template, example.data)
        lengths.append(len(ids))
        kept = mask[:max_length] if max_length else mask
        trained.append(sum(kept))
        if max_length and len(ids) > max_length:
            report.problems.append(
                f"{report.path}:{example.line}: {len(ids)} tokens, longer than max_length {max_length}, so its end "
                "would be cut off (raise max_length, or shorten or split the conversation)"
            )
        elif not sum(mask):
            report.problems.append(f"{report.path}:{example.line}: the template marks no assistant token to learn")
    report.stats = TokenStats(lengths, trained, max_length)


def validate_file(
    path: Path | str, *, tokenizer: Any = None, template: str | None = None, max_length: int | None = None
) -> ValidationReport:
    """Check a JSONL file of chat examples; with a tokenizer and template, count its tokens too."""
    report = read_examples(Path(path))
    if tokenizer is not None and template is not None:
        measure(report, tokenizer, template, max_length)
    return report
