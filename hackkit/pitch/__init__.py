"""Pitch decks from a project's own facts, and a recorded backup demo.

    from hackkit.pitch import build, load_deck, check_timing
    built = build(Path("."), ["pptx", "html"])     # pitch/out/deck.pptx, pitch/out/index.html
    print(check_timing(built.deck).warnings)

The story comes from ``pitch/pitch.yaml`` (:class:`PitchSpec`); the numbers, the model, the
documents and the demo's URL from the project (:func:`collect_facts`), each with its source.
:func:`draft` fills the missing text with the configured model; :func:`record_demo` drives the app
in Chromium and records a backup video. See docs/pitch.md.
"""

from __future__ import annotations

from hackkit.pitch.build import FORMATS, Built, build, load_deck
from hackkit.pitch.deck import Deck, Slide, build_deck
from hackkit.pitch.facts import Fact, ProjectFacts, collect_facts
from hackkit.pitch.spec import PitchSpec, PitchSpecError, load_spec
from hackkit.pitch.timing import Timing, check_timing

__all__ = [
    "FORMATS",
    "Built",
    "Deck",
    "Fact",
    "PitchSpec",
    "PitchSpecError",
    "ProjectFacts",
    "Slide",
    "Timing",
    "build",
    "build_deck",
    "check_timing",
    "collect_facts",
    "load_deck",
    "load_spec",
]
