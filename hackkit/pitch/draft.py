"""``hackkit pitch --draft``: the configured model writes a first draft of each empty field.

One call per field, each given the README, the project's facts and what the team already wrote,
so a small local model can answer too. The answers go into ``pitch/pitch.yaml`` with a comment
saying they are drafts; every other byte of the file, comments and the team's fields included, is
kept as it was (only each empty field's own span is replaced), so drafting again only fills what is
still empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hackkit.pitch.facts import ProjectFacts, collect_facts
from hackkit.pitch.spec import LIST_FIELDS, PitchSpec, load_spec, parse_spec, spec_path

if TYPE_CHECKING:
    from hackkit.llm.client import Client

README_CHARS = 2000
MAX_TEXT = 280  # characters of a drafted sentence field
MAX_ITEMS = 4
ASKS = {
    "tagline": "a tagline for the title slide: one line, at most 12 words",
    "who": "who has the problem: a few words naming the people (for example 'first-year students')",
    "problem": "the problem: one sentence saying who has it and what it costs them today",
    "solution": "the solution: one sentence saying what the app does for them",
    "demo": "the live demo: three short steps, one per line, each something to do in the app",
    "market": "the market: one sentence on who would pay and how many of them there are",
    "business_model": "the business model: one sentence on how it makes money",
    "next_steps": "the next steps: three short lines, one per line, what to build with one more week",
    "ask": "the ask: one sentence saying what the team wants from the judges or the audience",
}
SYSTEM = (
    "You write text for a hackathon team's pitch slides. Be concrete and short. Answer with the text "
    "only: no preamble, no quotes, no Markdown."
)


@dataclass
class Drafted:
    model: str
    fields: dict[str, str | list[str]] = field(default_factory=dict)
    empty: list[str] = field(default_factory=list)  # fields the model gave nothing usable for
    path: Path | None = None


def draft(project: Path, *, model: str | None = None, client: Client | None = None) -> Drafted:
    """Fill the empty fields of ``pitch/pitch.yaml`` with the model's drafts; written ones are never touched."""
    from hackkit.config import load_settings
    from hackkit.llm.client import Client

    spec = load_spec(project)
    facts = collect_facts(project, spec)
    own = client is None
    client = client or Client(load_settings(project))
    try:
        drafted = Drafted(model or client.default_model())
        for name in spec.missing():
            value = _ask(client, drafted.model, name, spec, facts)
            if value:
                drafted.fields[name] = value
            else:
                drafted.empty.append(name)
    finally:
        if own:
            client.close()
    if drafted.fields:
        drafted.path = write_fields(project, drafted.fields, f"drafted by hackkit pitch --draft ({drafted.model})")
    return drafted


def _ask(client: Client, model: str, name: str, spec: PitchSpec, facts: ProjectFacts) -> str | list[str]:
    response = client.chat(
        [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt_for(name, spec, facts)}],
        model,
        max_tokens=160,
        temperature=0.4,
    )
    text = str(response.text or "")
    return _items(text) if name in LIST_FIELDS else _sentence(text)


def prompt_for(name: str, spec: PitchSpec, facts: ProjectFacts) -> str:
    """What the model is given for one field: the project, its facts, what is written, and the ask."""
    title = spec.title or facts.name or "our project"
    lines = [f"Project: {title}"]
    if facts.readme:
        lines += ["README (start):", facts.readme[:README_CHARS].strip(), ""]
    lines += ["Facts:", *(f"- {f.label}: {f.value}" for f in facts.facts)]
    written = [(n, getattr(spec, n)) for n in ASKS if n != name and spec.written(n)]
    if written:
        lines += ["", "Already written by the team:"]
        lines += [f"- {n}: {' / '.join(v) if isinstance(v, list) else v}" for n, v in written]
    lines += ["", f"Write {ASKS[name]}."]
    return "\n".join(lines)


def _sentence(text: str) -> str:
    text = " ".join(_strip(line) for line in text.splitlines() if _strip(line))
    if len(text) > MAX_TEXT:
        cut = text[:MAX_TEXT]
        text = cut[: cut.rfind(". ") + 1] if ". " in cut else cut.rsplit(" ", 1)[0] + "…"
    return text


def _items(text: str) -> list[str]:
    return [item for item in (_strip(line) for line in text.splitlines()) if item][:MAX_ITEMS]


def _strip(line: str) -> str:
    """A line without list markers, labels the model echoed, or quotes around it."""
    line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip()
    line = re.sub(
        r"^(?:tagline|who|problem|solution|demo|market|business model|next steps|ask)\s*:\s*", "", line, flags=re.I
    )
    return line.strip().strip('"“”').strip()


def write_fields(project: Path, values: dict[str, str | list[str]], comment: str) -> Path:
    """Set ``values`` in ``pitch/pitch.yaml``; every other byte of the file stays as the team wrote it.

    Only the span of each field's key and value is replaced (found with PyYAML's node positions), so
    comments, quoting and indentation elsewhere are untouched; a key the file lacks is appended.
    """
    path = spec_path(project)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    spans = _spans(text, path)
    for name, value in sorted(values.items(), key=lambda item: -spans.get(item[0], (len(text), 0))[0]):
        rendered = _render(name, value, comment)
        if name in spans:
            start, end = spans[name]
            text = text[:start] + rendered + text[end:]
        else:
            text = text + ("" if not text or text.endswith("\n") else "\n") + rendered + "\n"
    parse_spec(text, path)  # what is written must load
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _spans(text: str, where: Path) -> dict[str, tuple[int, int]]:
    """Each top-level key's span in ``text``: from the key to the end of its value."""
    import yaml

    node = yaml.compose(text) if text.strip() else None
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        parse_spec(text, where)  # raises the error that names the problem
        return {}
    spans = {}
    for key, value in node.value:
        end = value.end_mark.index
        if isinstance(value, yaml.ScalarNode) and value.value == "" and value.style is None:
            end = text.index(":", key.end_mark.index) + 1  # no value written (``key:``): the span ends at its colon
        spans[str(key.value)] = (key.start_mark.index, end)
    return spans


def _render(name: str, value: str | list[str], comment: str) -> str:
    """``name: value  # comment`` as YAML; a list in the template's style (``  - item``)."""
    import yaml

    dumped = yaml.safe_dump({name: value}, allow_unicode=True, width=4096, sort_keys=False).rstrip("\n")
    first, *rest = dumped.split("\n")
    return "\n".join([f"{first}  # {comment}", *(f"  {line}" for line in rest)])
