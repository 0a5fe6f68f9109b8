"""The deck as data: slides with their text, visuals, speaker notes and sources, before any format.

Every renderer (PPTX, Marp, HTML) draws the same :class:`Deck`, so the formats say the same thing.
The default track is demo-first: the live demo is the fourth slide and gets most of the minutes;
``track: startup`` adds the market and the business model after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from hackkit.pitch.facts import DemoLink, Fact, ProjectFacts
from hackkit.pitch.spec import PitchSpec

ORDER = {
    "demo": ["title", "problem", "solution", "demo", "how_it_works", "results", "next_steps", "ask"],
    "startup": [
        "title", "problem", "solution", "demo", "market", "business_model", "how_it_works", "results",
        "next_steps", "ask",
    ],
}  # fmt: skip
DEMO_STEP_SECONDS = 30.0  # each live step of the demo, beside what is said about it
FIELD_HINT = "write it in pitch/pitch.yaml, or run `hackkit pitch --draft` for a first draft"


@dataclass
class Chart:
    """One measured number per category: a bar chart in every format, editable in the PPTX."""

    title: str
    unit: str
    categories: list[str]
    values: list[float]
    source: str


@dataclass
class Node:
    label: str
    detail: str
    kind: Literal["app", "hackkit", "provider", "fallback", "store", "gateway"]


@dataclass
class Diagram:
    """app -> hackkit -> each target (providers, the RAG store, a gateway), from the configuration."""

    app: Node
    core: Node
    targets: list[Node]


@dataclass
class Slide:
    key: str
    title: str
    lead: str = ""  # the one sentence the slide is about
    bullets: list[str] = field(default_factory=list)
    script: list[str] = field(default_factory=list)  # what the speaker says (timed)
    tips: list[str] = field(default_factory=list)  # for the speaker only (not timed)
    sources: list[Fact] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # fields of pitch.yaml not written yet
    qr: DemoLink | None = None
    video: str | None = None  # the backup video's file name, next to the deck
    image: Path | None = None
    charts: list[Chart] = field(default_factory=list)
    diagram: Diagram | None = None
    live_seconds: float = 0.0  # time spent showing, not talking (the live demo)

    @property
    def spoken(self) -> str:
        return " ".join(self.script)

    @property
    def notes(self) -> str:
        """The speaker notes: what to say, then tips, then where each fact on the slide came from."""
        parts = [self.spoken or "(Nothing to say written yet.)"]
        parts += [f"Tip: {tip}" for tip in self.tips]
        if self.sources:
            parts.append("Sources: " + "; ".join(f"{s.label}: {s.value} ({s.source})" for s in self.sources))
        return "\n\n".join(parts)

    @property
    def footnote(self) -> str:
        """The sources, short enough for the foot of the slide."""
        return "Source: " + "; ".join(dict.fromkeys(s.source for s in self.sources)) if self.sources else ""


@dataclass
class Deck:
    spec: PitchSpec
    facts: ProjectFacts
    slides: list[Slide]

    @property
    def title(self) -> str:
        return self.slides[0].title


def build_deck(spec: PitchSpec, facts: ProjectFacts, *, video: str | None = None) -> Deck:
    """The slides for ``spec``'s track, filled from ``facts``; ``video`` is the backup video's file name."""
    slides = []
    for key in ORDER[spec.track]:
        slide = BUILDERS[key](spec, facts)
        if key == "demo":
            _link_video(slide, video)
        if own := spec.notes.get(key):
            slide.script.append(own)
        slides.append(slide)
    return Deck(spec, facts, slides)


def _text(spec: PitchSpec, name: str, slide: Slide) -> str:
    """The field's text, or mark it missing on the slide."""
    if spec.written(name):
        return str(getattr(spec, name)).strip()
    slide.missing.append(name)
    slide.tips.append(f"`{name}` is not written yet: {FIELD_HINT}.")
    return ""


def _items(spec: PitchSpec, name: str, slide: Slide) -> list[str]:
    if spec.written(name):
        return [item.strip() for item in getattr(spec, name) if item and item.strip()]
    slide.missing.append(name)
    slide.tips.append(f"`{name}` is not written yet: {FIELD_HINT}.")
    return []


def title_slide(spec: PitchSpec, facts: ProjectFacts) -> Slide:
    title = spec.title.strip() or facts.name or "Our project"
    slide = Slide("title", title)
    if not spec.title.strip() and facts.name:
        slide.sources += facts.sources_for("Name")
    slide.lead = spec.tagline.strip() if spec.written("tagline") else facts.summary
    if not spec.written("tagline") and facts.summary:
        slide.sources += facts.sources_for("Summary")
    elif not slide.lead:
        _text(spec, "tagline", slide)
    team = spec.team.strip()
    slide.bullets = [team] if team else []
    slide.script.append(f"Hello, we are {team}." if team else "Hello.")
    slide.script.append(f"This is {title}" + (f": {slide.lead}" if slide.lead else "."))
    return slide


def problem_slide(spec: PitchSpec, facts: ProjectFacts) -> Slide:
    slide = Slide("problem", "The problem")
    slide.lead = _text(spec, "problem", slide)
    if spec.written("who"):
        slide.bullets.append(f"Who: {spec.who.strip()}")
    slide.script += [s for s in (slide.lead, spec.who.strip() and f"It hits {spec.who.strip()}.") if s]
    return slide


def solution_slide(spec: PitchSpec, facts: ProjectFacts) -> Slide:
    slide = Slide("solution", "Our solution")
    slide.lead = _text(spec, "solution", slide)
    slide.image = facts.screenshot
    if slide.lead:
        slide.script.append(slide.lead)
    if facts.screenshot is None:
        slide.tips.append("No screenshot of the app yet: `hackkit pitch demo` takes one (or add pitch/screenshot.png).")
    return slide


def demo_slide(spec: PitchSpec, facts: ProjectFacts) -> Slide:
    slide = Slide("demo", "Live demo")
    slide.bullets = _items(spec, "demo", slide)
    slide.qr = facts.link
    slide.sources += facts.sources_for("Demo")
    slide.live_seconds = DEMO_STEP_SECONDS * len(slide.bullets)
    slide.script.append("Let us show you. " + " ".join(_sentence(step) for step in slide.bullets))
    link = facts.link
    if link is not None and not link.deployed:
        slide.tips.append(
            f"The QR code opens {link.url} because the app is not deployed yet: deploy it "
            "(`hackkit deploy spaces`) or set demo_url in pitch/pitch.yaml, then run `hackkit pitch` again."
        )
    return slide


def _link_video(slide: Slide, video: str | None) -> None:
    slide.video = video
    if video:
        slide.tips.append(f"If the live demo fails, play the backup video ({video}, linked on this slide).")
    else:
        slide.tips.append("No backup video yet: `hackkit pitch demo` records one, then run `hackkit pitch` again.")


def how_it_works_slide(spec: PitchSpec, facts: ProjectFacts) -> Slide:
    slide = Slide("how_it_works", "How it works")
    slide.bullets = [item.strip() for item in spec.how_it_works if spec.written("how_it_works") and item.strip()]
    slide.diagram = architecture(facts)
    slide.sources += facts.sources_for("Demo app", "Model", "Fallbacks", "Gateway", "Documents", "Retrieval")
    said = f"The {facts.ui.capitalize()} app asks hackkit, which sends each question to {facts.model}"
    if facts.fallbacks:
        said += f" and falls back to {', '.join(facts.fallbacks)} when it cannot answer"
    if facts.documents:
        said += f"; answers come from {len(facts.documents)} documents indexed in Chroma, with their sources"
    slide.script.append(said + ".")
    slide.script += slide.bullets
    return slide


def architecture(facts: ProjectFacts) -> Diagram:
    app = Node(f"{facts.ui.capitalize()} app", "app.py", "app")
    core = Node("hackkit", "router, retries, ledger", "hackkit")
    targets = [Node(facts.model, "model", "gateway" if facts.model.startswith("gateway/") else "provider")]
    targets += [Node(m, "fallback", "fallback") for m in facts.fallbacks]
    if facts.gateway and not any(n.kind == "gateway" for n in targets):
        targets.append(Node("Workshop gateway", facts.gateway, "gateway"))
    if facts.documents:
        chunks = sum(facts.documents.values())
        targets.append(Node("RAG store (Chroma)", f"{len(facts.documents)} documents, {chunks} chunks", "store"))
    return Diagram(app, core, targets)


def results_slide(spec: PitchSpec, facts: ProjectFacts) -> Slide:
    slide = Slide("results", "Results")
    slide.bullets = [r.strip() for r in spec.results if r and r.strip()]
    measured = _measured(facts)
    slide.bullets += measured
    slide.charts = charts(facts)
    slide.sources += facts.sources_for("Usage", "Documents", "Retrieval quality")
    slide.script += slide.bullets
    if not slide.bullets:
        slide.missing.append("results")
        slide.tips.append(
            "Nothing measured yet: use the app (every call lands in the ledger), or add `results` to "
            "pitch/pitch.yaml, then run `hackkit pitch` again."
        )
    return slide


def _measured(facts: ProjectFacts) -> list[str]:
    lines = []
    if facts.usage:
        models = len(facts.usage)
        cost = facts.total_cost
        spent = f", ${cost:.2f} spent" if cost is not None else ""
        lines.append(f"{facts.total_calls} calls to {models} model{'s' * (models > 1)}{spent}")
        answering = [u for u in facts.usage if u.answers and u.median_latency_ms is not None]
        if answering:
            main = max(answering, key=lambda u: u.answers)  # the model that answered most
            lines.append(f"Median answer time {_ms(main.median_latency_ms or 0.0)} ({main.model})")
    if facts.documents:
        lines.append(f"{len(facts.documents)} documents indexed ({sum(facts.documents.values())} chunks)")
    if facts.eval:
        lines.append(
            f"Retrieval nDCG@10 {facts.eval['ndcg@10']:.2f} over {facts.eval.get('queries', '?')} questions "
            f"({facts.eval.get('mode', 'hybrid')})"
        )
    return lines


def _ms(value: float) -> str:
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms" if value >= 1 else f"{value:.2f} ms"


def charts(facts: ProjectFacts) -> list[Chart]:
    """Calls per model and median latency per model, straight from the ledger."""
    if not facts.usage:
        return []
    source = next((f.source for f in facts.sources_for("Usage")), "ledger")
    found = [Chart("Calls per model", "calls", [u.model for u in facts.usage], [u.calls for u in facts.usage], source)]
    timed = [u for u in facts.usage if u.median_latency_ms is not None]
    if timed:
        found.append(
            Chart(
                "Median latency per model",
                "ms",
                [u.model for u in timed],
                [round(u.median_latency_ms or 0.0, 2) for u in timed],
                source,
            )
        )
    return found


def next_steps_slide(spec: PitchSpec, facts: ProjectFacts) -> Slide:
    slide = Slide("next_steps", "Next steps")
    slide.bullets = _items(spec, "next_steps", slide)
    if slide.bullets:
        slide.script.append("Next, " + " ".join(_sentence(step) for step in slide.bullets))
    return slide


def ask_slide(spec: PitchSpec, facts: ProjectFacts) -> Slide:
    slide = Slide("ask", "Our ask")
    slide.lead = _text(spec, "ask", slide)
    slide.qr = facts.link  # the last slide stays up longest: the audience scans it here
    slide.script += [s for s in (slide.lead, "Thank you!") if s]
    return slide


def _statement(key: str, title: str) -> Callable[[PitchSpec, ProjectFacts], Slide]:
    def build(spec: PitchSpec, facts: ProjectFacts) -> Slide:
        slide = Slide(key, title)
        slide.lead = _text(spec, key, slide)
        if slide.lead:
            slide.script.append(slide.lead)
        return slide

    return build


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", ":")) else text + "."


BUILDERS: dict[str, Callable[[PitchSpec, ProjectFacts], Slide]] = {
    "title": title_slide,
    "problem": problem_slide,
    "solution": solution_slide,
    "demo": demo_slide,
    "market": _statement("market", "The market"),
    "business_model": _statement("business_model", "Business model"),
    "how_it_works": how_it_works_slide,
    "results": results_slide,
    "next_steps": next_steps_slide,
    "ask": ask_slide,
}
