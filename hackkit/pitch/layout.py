"""Where each part of a slide goes and how large its text is, the same for the PPTX and the HTML deck.

Text is sized to fit its box before anything is drawn (:func:`hackkit.pitch.theme.fit_points`), so
no format lets it run off the slide; text that cannot fit even at the smallest size is reported by
``hackkit pitch --check`` with the field to shorten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hackkit.pitch.deck import Deck, Slide
from hackkit.pitch.theme import (
    BODY_HEIGHT,
    BODY_TOP,
    FULL_BODY,
    MARGIN,
    TEXT_COLUMN,
    VISUAL_COLUMN,
    WIDTH_IN,
    Box,
    fit_points,
)

Kind = Literal["lead", "bullet", "step", "missing", "plain"]
SCALE: dict[str, float] = {"lead": 1.15, "bullet": 1.0, "step": 1.0, "missing": 0.8, "plain": 1.0}
LARGEST = 30.0
READABLE = 20.0
STATEMENT_LARGEST = 36.0
TITLE_SLIDE_LARGEST = 48.0
DIAGRAM_SHARE = 0.68  # of the body's height, when the diagram sits above the text


@dataclass
class Paragraph:
    text: str
    kind: Kind


@dataclass
class Layout:
    text: Box
    visual: Box | None
    points: float  # the body text's size; a paragraph's is points * SCALE[kind]
    fits: bool


def paragraphs(slide: Slide) -> list[Paragraph]:
    """The body's text in order: the lead sentence, then the bullets (numbered steps for the demo)."""
    found = [Paragraph(slide.lead, "lead")] if slide.lead else []
    kind: Kind = "step" if slide.key == "demo" else "bullet"
    if slide.key == "title":
        kind = "plain"
    found += [Paragraph(text, kind) for text in slide.bullets]
    found += [Paragraph(f"Not written yet: {name} (pitch/pitch.yaml)", "missing") for name in slide.missing]
    return found


def has_visual(slide: Slide) -> bool:
    return bool(slide.qr or slide.image or slide.charts or slide.diagram)


def layout(slide: Slide) -> Layout:
    text = _text_box(slide)
    visual = _visual_box(slide)
    found = [(_shown(p), SCALE[p.kind]) for p in paragraphs(slide)]
    largest = TITLE_SLIDE_LARGEST * 0.6 if slide.key == "title" else LARGEST
    if not slide.bullets and not has_visual(slide):
        largest = STATEMENT_LARGEST  # one sentence alone on a slide: make it big
    points, fits = fit_points(found, text, largest) if found else (largest, True)
    return Layout(text, visual, points, fits)


def _shown(paragraph: Paragraph) -> str:
    return f"00. {paragraph.text}" if paragraph.kind == "step" else paragraph.text  # room for the number


TITLE_SLIDE_TITLE = Box(MARGIN + 0.3, 1.3, WIDTH_IN - 2 * MARGIN - 0.6, 1.9)
TITLE_SLIDE_ACCENT = Box(TITLE_SLIDE_TITLE.left, TITLE_SLIDE_TITLE.top + TITLE_SLIDE_TITLE.height + 0.1, 2.0, 0.1)


def _text_box(slide: Slide) -> Box:
    if slide.key == "title":
        return Box(TITLE_SLIDE_TITLE.left, 3.5, TITLE_SLIDE_TITLE.width, 2.6)
    if slide.diagram is not None:
        top = BODY_TOP + BODY_HEIGHT * DIAGRAM_SHARE + 0.1
        return Box(MARGIN, top, FULL_BODY.width, BODY_TOP + BODY_HEIGHT - top)
    return TEXT_COLUMN if has_visual(slide) else FULL_BODY


def _visual_box(slide: Slide) -> Box | None:
    if slide.diagram is not None:
        return Box(MARGIN, BODY_TOP, FULL_BODY.width, BODY_HEIGHT * DIAGRAM_SHARE)
    return VISUAL_COLUMN if has_visual(slide) else None


def title_points(title: str, width: float, largest: float = 40) -> float:
    """The title's size: as large as ``largest`` while it fits on at most two lines."""
    points, _ = fit_points([(title, 1.0)], Box(0, 0, width + 0.3, 2.4 * largest / 72 + 0.15), largest, 20)
    return points


def qr_boxes(area: Box, with_video: bool) -> tuple[Box, Box, Box | None]:
    """The QR code (square), the URL under it, and the backup video's link under that."""
    caption = 0.45
    side = min(area.width, area.height - caption * (2 if with_video else 1) - 0.1)
    left = area.left + (area.width - side) / 2
    qr = Box(left, area.top, side, side)
    url = Box(area.left, area.top + side + 0.05, area.width, caption)
    video = Box(area.left, url.top + caption, area.width, caption) if with_video else None
    return qr, url, video


def chart_boxes(area: Box, count: int) -> list[Box]:
    gap = 0.2
    each = (area.height - gap * (count - 1)) / max(1, count)
    return [Box(area.left, area.top + i * (each + gap), area.width, each) for i in range(count)]


def picture_box(area: Box, width_px: int, height_px: int) -> Box:
    """``area`` shrunk to the picture's aspect ratio, centred at its top."""
    ratio = width_px / height_px if height_px else 1.0
    width, height = area.width, area.width / ratio
    if height > area.height:
        width, height = area.height * ratio, area.height
    return Box(area.left + (area.width - width) / 2, area.top, width, height)


def warnings(deck: Deck) -> list[str]:
    """Slides whose text does not fit, or fits only in type too small to read from the back of a room."""
    found = []
    for slide in deck.slides:
        placed = layout(slide)
        if not placed.fits:
            found.append(f"The text of {slide.title!r} does not fit on its slide: shorten {_fields(slide)}.")
        elif placed.points < READABLE:
            found.append(
                f"The text of {slide.title!r} is down to {placed.points:g} pt to fit (under {READABLE:g} pt is hard to "
                f"read on a projector): shorten {_fields(slide)}."
            )
    return found


def _fields(slide: Slide) -> str:
    return {"title": "the tagline", "demo": "the demo's steps", "results": "results"}.get(slide.key, f"`{slide.key}`")


def footnote_points(text: str, box: Box) -> float:
    """The footnote's size: 11 pt, smaller for long source lists, never under 7 pt."""
    return max(7.0, min(11.0, (box.width - 0.2) * 72 / (max(1, len(text)) * 0.5)))
