"""Does the deck fit its minutes? Spoken words at a calm pace, plus the live demo's steps.

A slide takes what its speaker notes say (at ``WORDS_PER_MINUTE``), at least ``MIN_SLIDE_SECONDS``
to land, plus its live time (each demo step). When the total runs past ``minutes``, the check names
the slides to cut, least needed first, until the deck fits; the title, problem, solution, demo and
ask are never on that list (the notes of those say what to shorten instead).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hackkit.pitch.deck import Deck, Slide

WORDS_PER_MINUTE = 140  # a calm pitch; nervous speakers go faster, judges hear less
MIN_SLIDE_SECONDS = 8.0
SECONDS_PER_SLIDE_LIMIT = 25.0  # more slides than minutes * 60 / this is too many to follow
CUT_FIRST = ["how_it_works", "market", "business_model", "next_steps", "results"]  # least needed first
KEPT = {"title", "problem", "solution", "demo", "ask"}


@dataclass
class SlideTime:
    key: str
    title: str
    words: int
    seconds: float


@dataclass
class Timing:
    minutes: float
    slides: list[SlideTime]
    warnings: list[str] = field(default_factory=list)
    cut: list[str] = field(default_factory=list)  # slide keys to cut, in order

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.slides)

    @property
    def fits(self) -> bool:
        return not self.warnings


def slide_seconds(slide: Slide) -> tuple[int, float]:
    words = len(slide.spoken.split())
    return words, max(MIN_SLIDE_SECONDS, words * 60 / WORDS_PER_MINUTE) + slide.live_seconds


def check_timing(deck: Deck) -> Timing:
    """How long the deck runs against ``minutes``, with what to cut when it runs long."""
    timed = [SlideTime(s.key, s.title, *slide_seconds(s)) for s in deck.slides]
    timing = Timing(deck.spec.minutes, timed)
    budget = deck.spec.minutes * 60
    most = int(budget // SECONDS_PER_SLIDE_LIMIT)
    if len(timed) > most:
        timing.warnings.append(
            f"{len(timed)} slides is too many for {deck.spec.minutes:g} minutes (at most {most}): merge or cut some."
        )
    over = timing.seconds - budget
    if over > 0:
        timing.cut = _to_cut(timed, over)
        saved = sum(s.seconds for s in timed if s.key in timing.cut)
        advice = f" Cut: {', '.join(_named(timed, timing.cut))}." if timing.cut else ""
        if saved < over:
            longest = sorted((s for s in timed if s.key not in timing.cut), key=lambda s: -s.seconds)[:2]
            advice += " Shorten the notes of " + " and ".join(f"{s.title!r} ({s.seconds:.0f} s)" for s in longest) + "."
        timing.warnings.append(
            f"The deck runs about {_clock(timing.seconds)} for a {deck.spec.minutes:g}-minute slot "
            f"({_clock(over)} too long).{advice}"
        )
    return timing


def _to_cut(timed: list[SlideTime], over: float) -> list[str]:
    present = {s.key: s for s in timed}
    cut: list[str] = []
    for key in CUT_FIRST:
        if over <= 0:
            break
        if key in present:
            cut.append(key)
            over -= present[key].seconds
    return cut


def _named(timed: list[SlideTime], keys: list[str]) -> list[str]:
    titles = {s.key: s for s in timed}
    return [f"{titles[k].title!r} ({titles[k].seconds:.0f} s)" for k in keys]


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"
