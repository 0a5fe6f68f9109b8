"""Find keys in files before they leave the machine, and say where without ever saying what.

    findings = scan_files(root, ["app.py", "notes.ipynb"])
    raise_if_found(findings)          # SecretFound: each file, line and kind, no value

What counts: provider keys by their shape (OpenAI ``sk-``/``sk-proj-``, Anthropic ``sk-ant-``,
Hugging Face ``hf_``, AWS ``AKIA``), private key blocks, and a long random value assigned to a
name like ``*_KEY``, ``*TOKEN*``, ``*SECRET*`` or ``*PASSWORD*``. Notebooks are scanned whole, so
a key printed in a cell's output is found too. A ``.env`` file (``.env.local``, ...) is itself a
finding wherever it would be bundled; ``.env.example`` and its kin pass when their values are empty.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 20_000_000  # larger files are not text a team wrote
EXAMPLE_ENV = {".env.example", ".env.sample", ".env.template", ".env.dist"}


@dataclass(frozen=True)
class Pattern:
    kind: str
    regex: re.Pattern[str]


PATTERNS = (
    Pattern("an Anthropic key (sk-ant-...)", re.compile(r"sk-ant-[A-Za-z0-9_\-]{20,}")),
    Pattern("an OpenAI project key (sk-proj-...)", re.compile(r"sk-proj-[A-Za-z0-9_\-]{20,}")),
    Pattern("an OpenAI key (sk-...)", re.compile(r"\bsk-(?!ant-|proj-)[A-Za-z0-9]{20,}")),
    Pattern("a Hugging Face token (hf_...)", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    Pattern("an AWS access key id (AKIA...)", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    Pattern("a private key block", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
)
# NAME = value, NAME: value, "name": "value", NAME="value": the name says it is secret.
ASSIGNMENT = re.compile(
    r"""(?ix)
    (?P<name>[A-Z0-9_.\-]*(?:_KEY|KEY_|APIKEY|TOKEN|SECRET|PASSWORD|PASSWD)[A-Z0-9_.\-]*)
    ["']?\s*[:=]\s*["']?
    (?P<value>[A-Za-z0-9+/_\-.=~]{16,})
    """
)


@dataclass(frozen=True)
class Finding:
    """One secret: where it is and what kind; the value itself is never kept."""

    path: str
    line: int
    kind: str
    where: str = ""  # for notebooks: which cell, and whether in its source or its output

    def __str__(self) -> str:
        location = f"{self.path} line {self.line}" if self.line else self.path
        return f"{location}{f' ({self.where})' if self.where else ''}: {self.kind}"


def looks_random(value: str) -> bool:
    """A value nobody typed: long, mixed letters and digits, high entropy (not ``max_tokens_per_minute``)."""
    if len(value) < 16 or not re.search(r"\d", value) or not re.search(r"[A-Za-z]", value):
        return False
    counts = Counter(value)
    entropy = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return entropy >= 3.5


def scan_text(text: str, path: str) -> list[Finding]:
    cells = _notebook_cells(text) if path.endswith(".ipynb") else None
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, match in _matches_in(line):
            where = _cell_of(cells, match) if cells else ""
            findings.append(Finding(path, number, kind, where))
    return findings


def _matches_in(line: str) -> list[tuple[str, str]]:
    """(kind, the matched text) for each secret on the line; the text is used to locate it, never shown."""
    found = [(pattern.kind, match[0]) for pattern in PATTERNS if (match := pattern.regex.search(line))]
    if not found:
        for match in ASSIGNMENT.finditer(line):
            if looks_random(match["value"]):
                return [(f"a long random value assigned to {match['name']}", match["value"])]
    return found


def env_file_problem(path: Path, relative: str) -> Finding | None:
    """A ``.env`` file is a finding; an example env file is one only if it holds a value."""
    name = path.name
    if name in EXAMPLE_ENV:
        filled = [n for n, line in enumerate(_lines(path), start=1) if _has_value(line)]
        return Finding(relative, filled[0], "a value in an example env file (leave values empty)") if filled else None
    if name == ".env" or name.startswith(".env."):
        return Finding(relative, 0, "a .env file, which holds keys (it must not be bundled)")
    return None


def _has_value(line: str) -> bool:
    text = line.strip()
    if not text or text.startswith("#") or "=" not in text:
        return False
    value = text.split("=", 1)[1].split(" #", 1)[0].strip().strip("'\"")
    return bool(value)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def scan_files(root: Path, relatives: Iterable[str]) -> list[Finding]:
    """Every text file under ``root`` named in ``relatives``; binary and huge files are skipped."""
    findings: list[Finding] = []
    for relative in relatives:
        path = root / relative
        if problem := env_file_problem(path, relative):
            findings.append(problem)
            continue
        if text := read_text(path):
            findings += scan_text(text, relative)
    return findings


def read_text(path: Path) -> str:
    """The file as text, or "" when it is binary (a NUL byte early on) or too large."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return ""
        data = path.read_bytes()
    except OSError:
        return ""
    if b"\0" in data[:8192]:
        return ""
    return data.decode("utf-8", errors="replace")


def env_files_under(folder: Path, root: Path) -> list[Finding]:
    """Every ``.env`` file inside a folder that is bundled, ignored by git or not."""
    found = []
    for path in sorted(folder.rglob(".env*")):
        if path.is_file() and (problem := env_file_problem(path, path.relative_to(root).as_posix())):
            found.append(problem)
    return found


def raise_if_found(findings: list[Finding]) -> None:
    if findings:
        from hackkit.deploy.errors import SecretFound

        raise SecretFound(findings)


def _notebook_cells(text: str) -> list[tuple[str, str]] | None:
    """Each cell's code and its outputs, as JSON text; None when the notebook is not JSON."""
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError):
        return None
    return [(json.dumps(cell.get("source", "")), json.dumps(cell.get("outputs", []))) for cell in cells]


def _cell_of(cells: list[tuple[str, str]], match: str) -> str:
    for number, (source, outputs) in enumerate(cells, start=1):
        if match in outputs:
            return f"cell {number}, in its output"
        if match in source:
            return f"cell {number}"
    return ""
