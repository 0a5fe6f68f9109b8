"""Charts as inline SVG, drawn on the server: no CDN, no script, readable on a projector.

Colours are SVG presentation attributes (not ``style``), which the pages' CSP allows. Each mark has
a ``<title>``, so hovering shows its numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup

from hackkit.server.pages.html import join
from hackkit.server.report import Bucket, millis, money, when

WIDTH, HEIGHT = 640, 210
LEFT, RIGHT, TOP, BOTTOM = 60, 12, 12, 28
BLUE, RED, ORANGE, GREY = "#3b5bdb", "#c92a2a", "#f08c00", "#dfe4ea"


def nice_ceiling(value: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def _divisions(top: float) -> int:
    """Gridlines that land on round numbers: 2 -> 0.5, 1, 1.5, 2; 1, 2.5 and 5 in fifths."""
    mantissa = top / 10 ** math.floor(math.log10(top))
    return 4 if round(mantissa, 6) == 2 else 5


def _tick(value: float, unit: str) -> str:
    if unit == " ms" and value >= 1000:
        return f"{value / 1000:g} s"
    return f"{value:,.0f}{unit}" if value == int(value) else f"{value:g}{unit}"


def _frame(top: float, label: str, unit: str = "") -> Markup:
    """Gridlines with their values, for a y axis from 0 to ``top``."""
    lines = []
    steps = _divisions(top)
    for i in range(steps + 1):
        value = top * i / steps
        y = _y(value, top)
        lines.append(
            Markup(
                "<line x1='{}' x2='{}' y1='{:.1f}' y2='{:.1f}' stroke='{}'/>"
                "<text x='{}' y='{:.1f}' text-anchor='end'>{}</text>"
            ).format(LEFT, WIDTH - RIGHT, y, y, GREY, LEFT - 6, y + 4, _tick(value, unit))
        )
    return Markup("<svg viewBox='0 0 {} {}' width='100%' role='img' aria-label='{}'>{}").format(
        WIDTH, HEIGHT, label, join(lines)
    )


def _y(value: float, top: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)


def _x_labels(series: Sequence[Bucket], size: int) -> Markup:
    """About six time labels under the plot."""
    step = max(1, math.ceil(len(series) / 6))
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(series))
    labels = []
    for i in range(0, len(series), step):
        moment = when(series[i].start, size)
        text = moment[5:10] if size >= 86400 else moment[11:]
        x = LEFT + slot * (i + 0.5)
        labels.append(Markup("<text x='{:.1f}' y='{}' text-anchor='middle'>{}</text>").format(x, HEIGHT - 8, text))
    return join(labels)


def requests_chart(series: Sequence[Bucket], size: int) -> Markup:
    """Requests per bucket as columns, with the errors among them in red."""
    top = nice_ceiling(max([5, *(b.requests for b in series)]))
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(series))
    marks = []
    for i, bucket in enumerate(series):
        x, width = LEFT + slot * i + slot * 0.12, slot * 0.76
        title = f"{when(bucket.start, size)}: {bucket.requests} requests, {bucket.errors} errors"
        for value, colour in ((bucket.requests, BLUE), (bucket.errors, RED)):
            if value:
                y = _y(value, top)
                marks.append(
                    Markup(
                        "<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='{}'><title>{}</title></rect>"
                    ).format(x, y, width, _y(0, top) - y, colour, title)
                )
    return _frame(top, "Requests and errors over time") + join(marks) + _x_labels(series, size) + Markup("</svg>")


def latency_chart(series: Sequence[Bucket], size: int) -> Markup:
    """p50 and p95 latency per bucket as two lines; a bucket without calls leaves a gap."""
    top = nice_ceiling(max((b.p95_ms or 0 for b in series), default=0))
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(series))
    marks = []
    for field, colour in (("p95_ms", ORANGE), ("p50_ms", BLUE)):
        points: list[tuple[float, float, float, Bucket]] = []
        for i, bucket in enumerate(series):
            value = getattr(bucket, field)
            if value is not None:
                points.append((LEFT + slot * (i + 0.5), _y(value, top), value, bucket))
        marks.append(_polyline(points, colour, field[:3], size))
    return (
        _frame(top, "Latency p50 and p95 over time", " ms") + join(marks) + _x_labels(series, size) + Markup("</svg>")
    )


def _polyline(points: list[tuple[float, float, float, Bucket]], colour: str, name: str, size: int) -> Markup:
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
    dots = join(
        Markup("<circle cx='{:.1f}' cy='{:.1f}' r='3.5' fill='{}'><title>{}: {} {}</title></circle>").format(
            x, y, colour, when(bucket.start, size), name, millis(value)
        )
        for x, y, value, bucket in points
    )
    path = Markup("<polyline points='{}' fill='none' stroke='{}' stroke-width='2.5'/>").format(line, colour)
    return (path if len(points) > 1 else Markup("")) + dots


def spend_meter(spent: float, budget: float | None, width: int = 180) -> Markup:
    """A bar of spend against budget; red past 90 %. Without a budget, only the amount."""
    if budget is None:
        return Markup("<span class='muted'>no budget</span>")
    share = min(1.0, spent / budget) if budget else 1.0
    colour = RED if share >= 0.9 else (ORANGE if share >= 0.6 else BLUE)
    return Markup(
        "<svg viewBox='0 0 {} 14' width='{}' height='14' role='img' aria-label='{} of {}'>"
        "<rect width='{}' height='14' rx='3' fill='{}'/><rect width='{:.1f}' height='14' rx='3' fill='{}'/>"
        "<title>{} of {} ({:.0%})</title></svg>"
    ).format(
        width,
        width,
        money(spent),
        money(budget),
        width,
        GREY,
        width * share,
        colour,
        money(spent),
        money(budget),
        share,
    )


def score_bar(score: float | None, low: float = 0.0, high: float = 1.0, width: int = 120) -> Markup:
    """A mean feedback score as a short bar, for versions side by side."""
    if score is None:
        return Markup("<span class='muted'>no feedback</span>")
    share = 0.0 if high == low else max(0.0, min(1.0, (score - low) / (high - low)))
    return Markup(
        "<svg viewBox='0 0 {} 12' width='{}' height='12' role='img' aria-label='score {:.2f}'>"
        "<rect width='{}' height='12' rx='3' fill='{}'/><rect width='{:.1f}' height='12' rx='3' fill='{}'/></svg>"
    ).format(width, width, score, width, GREY, width * share, "#2b8a3e")
