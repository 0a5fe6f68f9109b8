"""The built-in theme (dark text on white, large type, one accent: it reads on a washed-out projector)
and the geometry every format shares: a 16:9 slide of 13.33 x 7.5 inches (1280 x 720 CSS pixels).
"""

from __future__ import annotations

from dataclasses import dataclass

from hackkit.pitch.spec import PitchSpec

WIDTH_IN, HEIGHT_IN = 40 / 3, 7.5  # 16:9, as PowerPoint's own widescreen size
PX_PER_IN = 96
FONT = "Arial"  # PowerPoint has it everywhere; LibreOffice draws it with the metric-compatible Liberation Sans
CSS_FONT = "Arial, 'Liberation Sans', Helvetica, sans-serif"
CHAR_WIDTH_EM = 0.55  # average width of a character of running Arial text, with room to spare
LINE_HEIGHT = 1.2
PARAGRAPH_GAP_EM = 0.5


@dataclass(frozen=True)
class Theme:
    primary: str = "#1d3557"  # titles, the band
    accent: str = "#e63946"  # highlights, bars, arrows
    background: str = "#ffffff"
    text: str = "#1b1b1b"
    muted: str = "#5c6470"  # footnotes, placeholders
    panel: str = "#eef2f7"  # boxes of the diagram

    @classmethod
    def for_spec(cls, spec: PitchSpec) -> Theme:
        colors = {k: v for k, v in spec.colors.model_dump().items() if v}
        return cls(**colors)

    def rgb(self, name: str) -> tuple[int, int, int]:
        value = getattr(self, name).lstrip("#")
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


@dataclass(frozen=True)
class Box:
    """A rectangle on the slide, in inches from the top left."""

    left: float
    top: float
    width: float
    height: float

    def px(self) -> tuple[int, int, int, int]:
        return tuple(round(v * PX_PER_IN) for v in (self.left, self.top, self.width, self.height))  # type: ignore[return-value]


MARGIN = 0.6
TITLE_BOX = Box(MARGIN, 0.45, WIDTH_IN - 2 * MARGIN, 1.0)
BODY_TOP = 1.7
FOOT_BOX = Box(MARGIN, HEIGHT_IN - 0.55, WIDTH_IN - 2 * MARGIN, 0.35)
BODY_HEIGHT = FOOT_BOX.top - BODY_TOP - 0.15
FULL_BODY = Box(MARGIN, BODY_TOP, WIDTH_IN - 2 * MARGIN, BODY_HEIGHT)
SPLIT = 0.52  # the text column's share when a visual sits beside it
TEXT_COLUMN = Box(MARGIN, BODY_TOP, (WIDTH_IN - 2 * MARGIN) * SPLIT, BODY_HEIGHT)
VISUAL_COLUMN = Box(
    MARGIN + TEXT_COLUMN.width + 0.35, BODY_TOP, WIDTH_IN - 2 * MARGIN - TEXT_COLUMN.width - 0.35, BODY_HEIGHT
)


def wrapped_lines(text: str, width_in: float, points: float) -> int:
    """How many lines ``text`` takes in a box ``width_in`` wide at ``points``: word by word, as a renderer wraps."""
    per_line = max(1, int(width_in * 72 / (points * CHAR_WIDTH_EM)))
    lines, used = 1, 0
    for word in text.split():
        length = len(word)
        while length > per_line:  # a word longer than a line breaks anywhere
            lines, used, length = lines + (used > 0), per_line, length - per_line
        if used and used + 1 + length > per_line:
            lines, used = lines + 1, length
        else:
            used += length + (1 if used else 0)
    return lines


def text_height(paragraphs: list[tuple[str, float]], width_in: float, points: float) -> float:
    """Inches that ``paragraphs`` (text, size relative to ``points``) take, with the gaps between them."""
    height = 0.0
    for n, (text, scale) in enumerate(paragraphs):
        size = points * scale
        height += wrapped_lines(text, width_in, size) * LINE_HEIGHT * size / 72
        height += PARAGRAPH_GAP_EM * size / 72 if n else 0.0
    return height


def fit_points(
    paragraphs: list[tuple[str, float]], box: Box, largest: float, smallest: float = 14
) -> tuple[float, bool]:
    """The largest size from ``largest`` down (in steps of 2 pt) at which the text fits ``box``; and whether it fit."""
    inner = box.width - 0.3  # the text frame's own insets, and a bullet's indent
    points = largest
    while points >= smallest:
        if text_height(paragraphs, inner, points) <= box.height - 0.15:
            return points, True
        points -= 2
    return smallest, False
