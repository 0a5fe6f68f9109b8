"""``hackkit pitch --draft``: the configured model writes a first draft of each empty field.

One call per field, each given the README, the project's facts and what the team already wrote,
so a small local model can answer too. The answers go into ``pitch/pitch.yaml`` with a comment
saying they are drafts; every comment and every field the team wrote is kept as it was (the file
is edited with ruamel.yaml's round trip, not rewritten), so drafting again only fills what is
still empty.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hackkit.errors import MissingDependencyError
from hackkit.pitch.facts import ProjectFacts, collect_facts
from hackkit.pitch.render_pptx import INSTALL_PITCH
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
    from hackkit.llm.client import Client

    spec = load_spec(project)
    facts = collect_facts(project, spec)
    own = client is None
    client = client or Client(facts_settings(project))
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


def facts_settings(project: Path) -> Any:
    from hackkit.config import load_settings

    return load_settings(project)


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
    """Set ``values`` in ``pitch/pitch.yaml`` keeping everything else, comments included; its path."""
    try:
        from ruamel.yaml import YAML
        from ruamel.yaml.comments import CommentedMap, CommentedSeq
    except ImportError:
        raise MissingDependencyError("ruamel.yaml", INSTALL_PITCH) from None
    path = spec_path(project)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a line the team wrote
    yaml.indent(mapping=2, sequence=4, offset=2)
    data = yaml.load(path.read_text(encoding="utf-8")) if path.is_file() else None
    data = data if data is not None else CommentedMap()
    for name, value in values.items():
        if isinstance(value, list):
            value = CommentedSeq(value)
            value.fa.set_block_style()
        data[name] = value
        _mark(data, name, comment)
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    parse_spec(buffer.getvalue(), path)  # what is written must load
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _mark(data: Any, name: str, comment: str) -> None:
    """An end-of-line comment on ``name``, keeping the comment lines that follow it (ruamel keeps them together)."""
    after = data.ca.items.get(name, [None, None, None, None])
    token = after[2] if len(after) > 2 else None
    if token is None:
        data.yaml_add_eol_comment(comment, name)
    elif token.value.startswith("\n"):  # no end-of-line comment yet: only the lines after
        token.value = f" # {comment}" + token.value
    else:  # the team's own end-of-line comment stays, after the mark
        token.value = f"# {comment}; " + token.value.lstrip("# ")
