"""``hackkit pitch``: read the outline and the project's facts, then write each format asked for.

``all`` makes every format this machine can and says which it skipped and why; a format asked for
by name that cannot be made here fails before anything is written, naming what to install.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hackkit.errors import ConfigError, MissingDependencyError
from hackkit.pitch import convert
from hackkit.pitch.deck import Deck, build_deck
from hackkit.pitch.facts import collect_facts
from hackkit.pitch.spec import load_spec
from hackkit.pitch.theme import Theme
from hackkit.pitch.timing import Timing, check_timing

FORMATS = ("pptx", "marp", "html", "pdf", "png")
OUT_DIR = Path("pitch") / "out"
NAMES = {"pptx": "deck.pptx", "marp": "deck.md", "html": "index.html", "pdf": "deck.pdf", "png": "png"}


@dataclass
class Built:
    deck: Deck
    timing: Timing
    out: Path
    files: dict[str, list[Path]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # format -> why


def load_deck(project: Path) -> Deck:
    """The deck for the project at ``project``, without writing anything."""
    spec = load_spec(project)
    facts = collect_facts(project, spec)
    return build_deck(spec, facts, video=facts.video.name if facts.video else None)


def build(project: Path, formats: list[str] | tuple[str, ...] = ("all",), out: Path | None = None) -> Built:
    """Write the deck in ``formats`` (names from FORMATS, or ``all``) into ``out`` (default pitch/out/)."""
    wanted, explicit = _wanted(formats)
    if explicit:
        _check_can_make(wanted)
    deck = load_deck(project)
    out = out or project / OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    built = Built(deck, check_timing(deck), out)
    _copy_video(deck, out)
    theme = Theme.for_spec(deck.spec)
    with tempfile.TemporaryDirectory(prefix="hackkit-pitch-") as scratch:
        sources = _write_sources(built, theme, wanted, Path(scratch))
        _write_pages(built, wanted, sources, Path(scratch))
    return built


def _wanted(formats: list[str] | tuple[str, ...]) -> tuple[list[str], bool]:
    names = [f.strip().lower() for f in formats if f.strip()] or ["all"]
    unknown = [n for n in names if n not in (*FORMATS, "all")]
    if unknown:
        raise ConfigError(f"Unknown format {', '.join(unknown)}.", hint=f"use one of {', '.join(FORMATS)} or all")
    if "all" in names:
        return list(FORMATS), False
    return [f for f in FORMATS if f in names], True


def _check_can_make(wanted: list[str]) -> None:
    if ("pdf" in wanted or "png" in wanted) and convert.pdf_converter() is None:
        raise MissingDependencyError("A PDF converter (LibreOffice or Chromium)", convert.INSTALL_PDF)
    if "png" in wanted and convert.png_renderer() is None:
        raise MissingDependencyError("A PDF rasteriser (pypdfium2 or pdftoppm)", convert.INSTALL_PNG)


def _copy_video(deck: Deck, out: Path) -> None:
    """The backup video goes next to the deck, so the demo slide's relative link works wherever out/ goes."""
    video = deck.facts.video
    if video is not None and video.parent.resolve() != out.resolve():
        shutil.copy2(video, out / video.name)


def _write_sources(built: Built, theme: Theme, wanted: list[str], scratch: Path) -> dict[str, Path]:
    """Write the asked-for source formats into out/, and what the pages need into ``scratch``; return both."""
    from hackkit.pitch.render_html import write_html
    from hackkit.pitch.render_marp import write_marp
    from hackkit.pitch.render_pptx import write_pptx

    needs_pages = "pdf" in wanted or "png" in wanted
    sources: dict[str, Path] = {}
    if "pptx" in wanted or (needs_pages and convert.which(convert.SOFFICE)):
        sources["pptx"] = write_pptx(built.deck, theme, (built.out if "pptx" in wanted else scratch) / NAMES["pptx"])
    if "html" in wanted or (needs_pages and "pptx" not in sources):
        sources["html"] = write_html(built.deck, theme, (built.out if "html" in wanted else scratch) / NAMES["html"])
    if "marp" in wanted:
        built.files["marp"] = write_marp(built.deck, theme, built.out / NAMES["marp"])
    built.files.update({name: [path] for name, path in sources.items() if name in wanted})
    return sources


def _write_pages(built: Built, wanted: list[str], sources: dict[str, Path], scratch: Path) -> None:
    if "pdf" not in wanted and "png" not in wanted:
        return
    if convert.pdf_converter() is None:
        why = f"no LibreOffice or Chromium on this machine ({convert.INSTALL_PDF})"
        built.skipped.update({name: why for name in ("pdf", "png") if name in wanted})
        return
    target = (built.out if "pdf" in wanted else scratch) / NAMES["pdf"]
    pdf = convert.make_pdf(sources.get("pptx"), sources.get("html"), target)
    if "pdf" in wanted:
        built.files["pdf"] = [pdf]
    if "png" not in wanted:
        return
    if convert.png_renderer() is None:
        built.skipped["png"] = f"no pypdfium2 or pdftoppm ({convert.INSTALL_PNG})"
    else:
        built.files["png"] = convert.make_pngs(pdf, built.out / NAMES["png"])
