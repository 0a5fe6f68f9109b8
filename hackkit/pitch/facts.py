"""What the project itself says, for the deck: each fact carries where it came from.

Read, never written: the README; ``hackkit.toml`` (the model, its fallbacks, the providers, a
gateway); the RAG manifest (the documents indexed); the ledger (calls, latency, cost); RAG eval
scores in ``.hackkit/eval.json`` when a team saved ``hackkit eval --json`` there (nothing writes it
today); the demo's URL from ``.hackkit/deploy.json`` (``hackkit deploy``), else ``demo_url``, else
the repository, else the local URL; a screenshot and the backup video from ``hackkit pitch demo``.
Nothing here opens Chroma or loads a model, and a missing ledger or index is not created.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hackkit.config import Settings
    from hackkit.pitch.spec import PitchSpec

UI_PORTS = {"gradio": 7860, "streamlit": 8501}
DEMO_DIR = Path("pitch") / "demo"
VIDEO_NAMES = ("demo.mp4", "demo.gif")
LATENCY_ROWS = 5000  # the newest calls whose latency the median is taken over


@dataclass(frozen=True)
class Fact:
    """One thing the deck states, and where it was read: ``Model``, ``mistral/...``, ``hackkit.toml [llm] model``."""

    label: str
    value: str
    source: str


@dataclass
class ModelUsage:
    """One model's line of ``hackkit usage``, with its median latency from the recent calls."""

    model: str
    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    median_latency_ms: float | None
    answers: int = 0  # chat calls among the recent ones (the rest are embeddings)


@dataclass
class DemoLink:
    """Where the QR code points, and whether that is the deployed app."""

    url: str
    source: str
    deployed: bool


@dataclass
class ProjectFacts:
    root: Path
    name: str = ""
    summary: str = ""
    readme: str = ""
    ui: str = "gradio"
    model: str = ""
    fallbacks: list[str] = field(default_factory=list)
    gateway: str | None = None
    documents: dict[str, int] = field(default_factory=dict)  # path -> chunks
    embedding_model: str = ""
    retrieval: str = ""
    usage: list[ModelUsage] = field(default_factory=list)
    eval: dict[str, Any] | None = None
    link: DemoLink | None = None
    screenshot: Path | None = None
    video: Path | None = None
    facts: list[Fact] = field(default_factory=list)

    def add(self, label: str, value: Any, source: str) -> None:
        self.facts.append(Fact(label, str(value), source))

    def sources_for(self, *labels: str) -> list[Fact]:
        return [fact for fact in self.facts if fact.label in labels]

    @property
    def total_calls(self) -> int:
        return sum(u.calls for u in self.usage)

    @property
    def total_cost(self) -> float | None:
        known = [u.cost_usd for u in self.usage if u.cost_usd is not None]
        return sum(known) if known else None


def collect_facts(root: Path, spec: PitchSpec, settings: Settings | None = None) -> ProjectFacts:
    """Everything the deck can say about the project at ``root``."""
    from hackkit.config import load_settings

    settings = settings or load_settings(root)
    facts = ProjectFacts(root)
    _readme(facts)
    _configuration(facts, settings)
    _documents(facts, settings)
    _ledger(facts, settings)
    _eval(facts, settings)
    facts.link = demo_link(root, spec, settings, facts.ui)
    facts.add("Demo", facts.link.url, facts.link.source)
    facts.screenshot = find_screenshot(root)
    facts.video = find_video(root)
    return facts


def _readme(facts: ProjectFacts) -> None:
    path = facts.root / "README.md"
    if not path.is_file():
        return
    facts.readme = path.read_text(encoding="utf-8", errors="replace")
    title = re.search(r"^#\s+(.+)$", facts.readme, re.M)
    if title:
        facts.name = title.group(1).strip()
        facts.add("Name", facts.name, "README.md")
        after = facts.readme[title.end() :]
        paragraph = next((p.strip() for p in re.split(r"\n\s*\n", after) if _is_prose(p)), "")
        if paragraph:
            facts.summary = " ".join(paragraph.split())
            facts.add("Summary", facts.summary, "README.md")


def _is_prose(paragraph: str) -> bool:
    text = paragraph.strip()
    return bool(text) and not text.startswith(("#", "```", "<", "![", "[![", "|", "-", "*", ">"))


def _configuration(facts: ProjectFacts, settings: Settings) -> None:
    from hackkit.llm.client import Client
    from hackkit.llm.keys import GATEWAY_URL
    from hackkit.llm.router import Router

    client = Client(settings)
    try:
        requested = client.default_model()
    finally:
        client.close()
    router = Router(settings)
    source = "hackkit.toml [llm] model" if settings.llm.model else "hackkit's default (no [llm] model set)"
    try:
        own = router.resolve(requested, order=False)
        facts.fallbacks = router.fallbacks(requested)
    except Exception:  # an alias that loops is `hackkit doctor`'s to report; the deck shows the name
        own = [requested]
    facts.model = own[0]
    facts.add("Model", ", ".join(own) if own != [requested] else requested, source)
    if facts.fallbacks:
        facts.add("Fallbacks", ", ".join(facts.fallbacks), "hackkit.toml [llm.router] fallbacks")
    gateway_url = settings.env(GATEWAY_URL)
    if gateway_url or any(m.startswith("gateway/") for m in [facts.model, *facts.fallbacks]):
        facts.gateway = gateway_url or "the workshop gateway"
        facts.add("Gateway", facts.gateway, "HACKKIT_GATEWAY_URL" if gateway_url else "hackkit.toml [llm] model")
    facts.ui = ui_backend(facts.root)
    facts.add("Demo app", facts.ui.capitalize(), "app.py")
    facts.embedding_model = settings.rag.embedding_model
    facts.retrieval = settings.rag.mode


def ui_backend(root: Path) -> str:
    """``gradio`` or ``streamlit``: the answer `hackkit new` stored, else what app.py imports."""
    import yaml

    answers = root / ".hackkit-answers.yml"
    if answers.is_file():
        stored = yaml.safe_load(answers.read_text(encoding="utf-8")) or {}
        ui = str((stored.get("answers") or {}).get("ui", ""))
        if ui in UI_PORTS:
            return ui
    app = root / "app.py"
    if app.is_file() and "streamlit" in app.read_text(encoding="utf-8", errors="replace"):
        return "streamlit"
    return "gradio"


def _documents(facts: ProjectFacts, settings: Settings) -> None:
    from hackkit.rag.store import Manifest

    path = settings.data_dir / "rag" / f"{settings.rag.collection}.manifest.sqlite"
    if not path.is_file():
        return
    manifest = Manifest(path)
    try:
        files = manifest.files()
    finally:
        manifest.close()
    facts.documents = {name: record.chunks for name, record in sorted(files.items())}
    if files:
        chunks = sum(facts.documents.values())
        facts.add("Documents", f"{len(files)} documents, {chunks} chunks", ".hackkit/rag manifest (hackkit ingest)")
        facts.add("Retrieval", f"{settings.rag.mode}, {settings.rag.embedding_model}", "hackkit.toml [rag]")


def _ledger(facts: ProjectFacts, settings: Settings) -> None:
    from hackkit.llm.client import Client

    client = Client(settings)
    try:
        ledger = client.ledger
        if ledger is None or not ledger.path.is_file():
            return
        rows = ledger.usage(by="model")
        recent = ledger.recent(LATENCY_ROWS)
        latencies = _latencies(recent)
        answers = Counter(row["model"] for row in recent if row["kind"] == "chat")
        where = _relative(ledger.path, facts.root)
    finally:
        client.close()
    facts.usage = [
        ModelUsage(
            r["model"],
            int(r["calls"]),
            int(r["errors"] or 0),
            int(r["input_tokens"]),
            int(r["output_tokens"]),
            r["cost_usd"],
            latencies.get(r["model"]),
            answers[r["model"]],
        )
        for r in rows
    ]
    if facts.usage:
        cost = facts.total_cost
        spent = f", ${cost:.4f}" if cost is not None else ""
        facts.add("Usage", f"{facts.total_calls} calls{spent}", f"ledger ({where}, hackkit usage)")


def _latencies(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Median latency per model over answered, uncached calls."""
    by_model: dict[str, list[float]] = {}
    for row in rows:
        if row["status"] == "ok" and not row["cached"] and row["latency_ms"] is not None:
            by_model.setdefault(row["model"], []).append(float(row["latency_ms"]))
    return {model: statistics.median(values) for model, values in by_model.items()}


def _eval(facts: ProjectFacts, settings: Settings) -> None:
    path = settings.data_dir / "eval.json"
    if not path.is_file():
        return
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result = None
    if isinstance(result, dict) and "ndcg@10" in result:
        facts.eval = result
        facts.add("Retrieval quality", f"nDCG@10 {result['ndcg@10']:.3f}", f"{_relative(path, facts.root)}")


def demo_link(root: Path, spec: PitchSpec, settings: Settings, ui: str) -> DemoLink:
    """The deployed URL (``.hackkit/deploy.json``), else ``demo_url``, else the repository, else the local URL."""
    deployed = _deployed_url(settings.data_dir / "deploy.json")
    if deployed:
        return DemoLink(deployed, ".hackkit/deploy.json (hackkit deploy)", deployed=True)
    if spec.demo_url:
        return DemoLink(spec.demo_url, "pitch/pitch.yaml demo_url", deployed=True)
    repository = repository_url(root)
    if repository:
        return DemoLink(repository, "git remote origin (not deployed yet)", deployed=False)
    return DemoLink(f"http://127.0.0.1:{UI_PORTS[ui]}", "the local app (not deployed yet)", deployed=False)


def _deployed_url(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        url = json.loads(path.read_text(encoding="utf-8")).get("url")
    except (json.JSONDecodeError, AttributeError):
        return None
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


def repository_url(root: Path) -> str | None:
    """``origin`` as a browsable https URL (``git@github.com:a/b.git`` -> ``https://github.com/a/b``)."""
    try:
        found = subprocess.run(
            ["git", "-C", str(root), "remote", "get-url", "origin"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    url = found.stdout.strip()
    if found.returncode or not url:
        return None
    if match := re.fullmatch(r"(?:ssh://)?git@([^:/]+)[:/](.+?)(?:\.git)?/?", url):
        return f"https://{match.group(1)}/{match.group(2)}"
    if url.startswith(("http://", "https://")):
        return re.sub(r"\.git/?$", "", re.sub(r"//[^@/]+@", "//", url))  # no credentials on a slide
    return None


def find_screenshot(root: Path) -> Path | None:
    """``pitch/screenshot.png`` (the team's pick), else the backup demo's, else the first in docs/images/."""
    for candidate in (root / "pitch" / "screenshot.png", root / DEMO_DIR / "screenshot.png"):
        if candidate.is_file():
            return candidate
    images = sorted((root / "docs" / "images").glob("*.png")) if (root / "docs" / "images").is_dir() else []
    return images[0] if images else None


def find_video(root: Path) -> Path | None:
    return next((root / DEMO_DIR / name for name in VIDEO_NAMES if (root / DEMO_DIR / name).is_file()), None)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
