"""What a run reports as it goes: the step, the loss, tokens per second, and each evaluation.

A ``progress`` function gets one ``Start``, then a ``Step`` for each logged step and each
evaluation; the CLI draws its bar from them. ``Progress`` is the transformers ``TrainerCallback``
that turns the trainer's logs into those ``Step`` reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import TrainerCallback


@dataclass
class Start:
    """Sent once, before the first step: what is being tuned, on what, where."""

    base: str
    recorded: str  # the base as the adapter will name it
    hardware: str
    data: dict[str, Any]
    output: Path
    resumed_from: Path | None


@dataclass
class Step:
    step: int
    max_steps: int
    loss: float | None = None
    eval_loss: float | None = None
    tokens_per_second: float | None = None
    learning_rate: float | None = None


@dataclass
class Curves:
    train: list[tuple[int, float]] = field(default_factory=list)  # (step, loss)
    eval: list[tuple[int, float]] = field(default_factory=list)
    tokens: int = 0  # input tokens (not padding) this session trained on
    seconds: float = 0.0  # this session's training time

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


class Progress(TrainerCallback):
    def __init__(self, report: Callable[[Step], None] | None, curves: Curves) -> None:
        self.report = report
        self.curves = curves
        self.started = self.last_time = 0.0
        self.first_tokens = self.last_tokens = 0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.started = self.last_time = time.perf_counter()
        self.first_tokens = self.last_tokens = int(state.num_input_tokens_seen)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        logs = logs or {}
        step = Step(state.global_step, state.max_steps, learning_rate=logs.get("learning_rate"))
        if "loss" in logs:
            step.loss = float(logs["loss"])
            self.curves.train.append((state.global_step, step.loss))
            step.tokens_per_second = self._rate(int(state.num_input_tokens_seen))
        elif "eval_loss" in logs:
            step.eval_loss = float(logs["eval_loss"])
            self.curves.eval.append((state.global_step, step.eval_loss))
            self.last_time = time.perf_counter()  # the next rate is of training, not of this evaluation
        else:
            return
        if self.report is not None:
            self.report(step)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.curves.tokens = int(state.num_input_tokens_seen) - self.first_tokens
        self.curves.seconds = time.perf_counter() - self.started

    def _rate(self, tokens: int) -> float:
        now = time.perf_counter()
        rate = (tokens - self.last_tokens) / (now - self.last_time) if now > self.last_time else 0.0
        self.last_time, self.last_tokens = now, tokens
        return rate
