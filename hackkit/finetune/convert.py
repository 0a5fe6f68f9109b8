"""``hackkit finetune data``: chat examples from the ledger, a CSV file or a JSONL file of another shape.

From the ledger, each successful chat call becomes its prompt's messages plus the answer; failed
calls, fallback answers (another model's words), calls logged without text (``store_text = false``)
and duplicates are dropped, and the report counts each. From CSV or JSONL the common shapes are:

- prompt/completion pairs (also question/answer, input/output), with an optional ``system`` column,
  or TRL's conversational form (``prompt`` and ``completion`` as lists of messages);
- Alpaca: ``instruction``, an optional ``input`` (appended to the instruction), ``output``;
- ShareGPT: ``conversations`` of ``{"from": "human"|"gpt"|"system", "value": ...}``;
- already ``messages`` (checked, and kept as they are).

Every example written passes ``hackkit finetune validate``: one that does not is dropped and counted.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hackkit.errors import ConfigError
from hackkit.finetune import chat_format

PAIRS = (("prompt", "completion"), ("question", "answer"), ("input", "output"))
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}
DURATION = re.compile(r"(\d+)\s*([mhdw])")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass
class Conversion:
    examples: list[dict[str, Any]] = field(default_factory=list)
    read: int = 0
    dropped: Counter[str] = field(default_factory=Counter)  # reason -> how many

    def add(self, example: dict[str, Any] | None, reason: str = "not a known shape") -> None:
        self.read += 1
        if example is None:
            self.dropped[reason] += 1
        elif chat_format.problems(example):
            self.dropped["invalid: " + chat_format.problems(example)[0]] += 1
        else:
            self.examples.append(example)

    def deduplicate(self) -> None:
        seen, kept = set(), []
        for example in self.examples:
            key = json.dumps(example, sort_keys=True, ensure_ascii=False)
            if key in seen:
                self.dropped["duplicate"] += 1
            else:
                seen.add(key)
                kept.append(example)
        self.examples = kept

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for example in self.examples:
                handle.write(json.dumps(example, ensure_ascii=False) + "\n")

    def summary(self) -> str:
        dropped = ", ".join(f"{n} {reason}" for reason, n in sorted(self.dropped.items(), key=lambda r: (-r[1], r[0])))
        return f"{len(self.examples)} examples from {self.read} read" + (f"; dropped {dropped}" if dropped else "")


# -- the ledger ---------------------------------------------------------------------------------


def from_ledger(path: Path, *, model: str | None = None, since: str | None = None) -> Conversion:
    """Chat examples from a ledger's successful calls (optionally one model's, and only recent ones)."""
    from hackkit.llm.ledger import Ledger

    where, args = "kind = 'chat'", []
    if since:
        where += " AND ts >= ?"
        args.append(since_timestamp(since))
    if not path.is_file():
        raise ConfigError(f"No ledger at {path}.", hint="make some calls first (hackkit chat), or pass --ledger PATH")
    ledger = Ledger(path)
    try:
        cursor = ledger.db.execute(f"SELECT * FROM calls WHERE {where} ORDER BY id", args)
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        ledger.close()
    conversion = Conversion()
    for row in rows:
        if model and row["model"] != model:
            continue
        conversion.add(*_ledger_example(row))
    conversion.deduplicate()
    return conversion


def _ledger_example(row: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    if row["status"] != "ok":
        return None, f"{row['status']} call"
    if row.get("fallback"):
        return None, "fallback answer"
    if row["prompt"] is None or row["response"] is None:
        return None, "call logged without text (store_text = false)"
    if not row["response"].strip():
        return None, "empty answer (a tool call, say)"
    messages = [_ledger_message(m) for m in json.loads(row["prompt"])]
    return {"messages": [*messages, {"role": "assistant", "content": row["response"]}]}, ""


def _ledger_message(message: dict[str, Any]) -> dict[str, Any]:
    return {k: message[k] for k in chat_format.MESSAGE_KEYS if message.get(k) is not None}


def since_timestamp(text: str) -> str:
    """``24h``, ``30m``, ``7d``, ``2w`` ago, as the ledger writes timestamps (ISO 8601, UTC)."""
    match = DURATION.fullmatch(text.strip())
    if not match:
        raise ConfigError(f"--since {text!r} is not a duration.", hint="for example 30m, 24h, 7d or 2w")
    delta = timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    return (datetime.now(timezone.utc) - delta).isoformat(timespec="milliseconds")


# -- files --------------------------------------------------------------------------------------


def from_csv(path: Path) -> Conversion:
    conversion = Conversion()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            conversion.add(from_record({k.strip().lower(): v for k, v in row.items() if k}))
    conversion.deduplicate()
    return conversion


def from_jsonl(path: Path) -> Conversion:
    conversion = Conversion()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            conversion.add(None, "bad JSON")
            continue
        conversion.add(from_record(record) if isinstance(record, dict) else None)
    conversion.deduplicate()
    return conversion


def from_record(record: dict[str, Any]) -> dict[str, Any] | None:
    """One record of a known shape as a chat example; None when its shape is not one of them."""
    if "messages" in record:
        return record
    if isinstance(record.get("prompt"), list) and isinstance(record.get("completion"), list):
        return {"messages": [*record["prompt"], *record["completion"]]}  # TRL's conversational prompt-completion
    if isinstance(record.get("conversations"), list):
        return _sharegpt(record["conversations"])
    system = [{"role": "system", "content": record["system"]}] if _text(record.get("system")) else []
    if "instruction" in record and "output" in record:
        prompt = "\n\n".join(part for part in (_text(record["instruction"]), _text(record.get("input"))) if part)
        return {"messages": [*system, *_pair(prompt, record["output"])]}
    for question, answer in PAIRS:
        if question in record and answer in record:
            return {"messages": [*system, *_pair(record[question], record[answer])]}
    return None


def _pair(prompt: Any, answer: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": _text(prompt)}, {"role": "assistant", "content": _text(answer)}]


def _sharegpt(turns: list[Any]) -> dict[str, Any] | None:
    messages = []
    for turn in turns:
        role = SHAREGPT_ROLES.get(str(turn.get("from", "")).lower()) if isinstance(turn, dict) else None
        if role is None:
            return None
        messages.append({"role": role, "content": _text(turn.get("value"))})
    return {"messages": messages}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else "" if value is None else str(value)
