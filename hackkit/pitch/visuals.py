"""The pictures of a deck: the QR code (PNG, which python-pptx can embed), and the architecture
diagram and charts as SVG for the HTML and Marp decks. The PPTX draws the diagram and charts with
its own editable shapes from the same geometry (:func:`diagram_boxes`).
"""

from __future__ import annotations

import html
import io

from hackkit.pitch.deck import Chart, Diagram, Node
from hackkit.pitch.theme import CHAR_WIDTH_EM, CSS_FONT, PX_PER_IN, Box, Theme

ARROW_GAP = 0.9  # inches between the diagram's columns


def qr_png(url: str, theme: Theme, scale: int = 12) -> bytes:
    """A QR code of ``url`` as PNG bytes, dark on white with the standard quiet zone (phones need it)."""
    import segno

    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=scale, border=4, dark=theme.text, light="#ffffff")
    return buffer.getvalue()


def diagram_boxes(diagram: Diagram, area: Box) -> tuple[Box, Box, list[Box]]:
    """Where the app, hackkit and each target go inside ``area``: three columns, targets stacked."""
    side = (area.width - 2 * ARROW_GAP) * 0.25
    targets_width = area.width - 2 * ARROW_GAP - 2 * side
    middle = area.top + area.height / 2
    height = min(1.1, area.height * 0.4)
    app = Box(area.left, middle - height / 2, side, height)
    core = Box(app.left + side + ARROW_GAP, app.top, side, height)
    count = max(1, len(diagram.targets))
    gap = 0.15
    each = min(0.95, (area.height - gap * (count - 1)) / count)
    top = middle - (each * count + gap * (count - 1)) / 2
    left = core.left + side + ARROW_GAP
    return app, core, [Box(left, top + i * (each + gap), targets_width, each) for i in range(count)]


def label_points(text: str, box: Box, largest: float) -> float:
    """A font size at which ``text`` fits on one line of ``box`` (never under 9 pt)."""
    fitting = (box.width - 0.25) * 72 / (max(1, len(text)) * CHAR_WIDTH_EM)
    return max(9.0, min(largest, fitting, box.height * 72 * 0.45))


def node_fill(node: Node, theme: Theme) -> tuple[str, str]:
    """(fill, text colour) of a node: hackkit in the primary colour, fallbacks muted, the rest panels."""
    if node.kind == "hackkit":
        return theme.primary, "#ffffff"
    if node.kind == "fallback":
        return "#ffffff", theme.muted
    return theme.panel, theme.text


def diagram_svg(diagram: Diagram, theme: Theme, area: Box) -> str:
    """The architecture as an SVG of ``area``'s size (drawn with the same boxes as the PPTX)."""
    origin = Box(0, 0, area.width, area.height)
    app, core, targets = diagram_boxes(diagram, origin)
    w, h = round(area.width * PX_PER_IN), round(area.height * PX_PER_IN)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        f'font-family="{html.escape(CSS_FONT)}">',
        f'<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{theme.accent}"/></marker></defs>',
    ]
    parts.append(_arrow(app, core, theme))
    parts += [_arrow(core, target, theme) for target in targets]
    for node, box in [(diagram.app, app), (diagram.core, core), *zip(diagram.targets, targets, strict=True)]:
        parts.append(_node_svg(node, box, theme))
    parts.append("</svg>")
    return "".join(parts)


def _arrow(start: Box, end: Box, theme: Theme) -> str:
    x1, y1 = (start.left + start.width) * PX_PER_IN, (start.top + start.height / 2) * PX_PER_IN
    x2, y2 = (end.left - 0.05) * PX_PER_IN, (end.top + end.height / 2) * PX_PER_IN
    return (
        f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="{theme.accent}" '
        'stroke-width="3" marker-end="url(#arrow)"/>'
    )


def _node_svg(node: Node, box: Box, theme: Theme) -> str:
    fill, ink = node_fill(node, theme)
    x, y, w, h = box.px()
    label_pt = label_points(node.label, box, 20)
    detail_pt = label_points(node.detail, box, 13)
    dash = ' stroke-dasharray="8 5"' if node.kind == "fallback" else ""
    return (
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="12" fill="{fill}" stroke="{theme.primary}" '
        f'stroke-width="2"{dash}/>'
        f'<text x="{x + w / 2:.0f}" y="{y + h * 0.46:.0f}" text-anchor="middle" font-size="{label_pt * 4 / 3:.1f}" '
        f'font-weight="bold" fill="{ink}">{html.escape(node.label)}</text>'
        f'<text x="{x + w / 2:.0f}" y="{y + h * 0.78:.0f}" text-anchor="middle" font-size="{detail_pt * 4 / 3:.1f}" '
        f'fill="{ink}">{html.escape(node.detail)}</text>'
    )


def chart_svg(chart: Chart, theme: Theme, area: Box) -> str:
    """A horizontal bar chart with each bar's value written at its end."""
    w, h = round(area.width * PX_PER_IN), round(area.height * PX_PER_IN)
    label_w, top, bottom = w * 0.42, 34, 6
    count = max(1, len(chart.values))
    row = (h - top - bottom) / count
    most = max(chart.values, default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        f'font-family="{html.escape(CSS_FONT)}">',
        f'<text x="0" y="22" font-size="20" font-weight="bold" fill="{theme.text}">{html.escape(chart.title)}</text>',
    ]
    size = min(18, row * 0.45)
    for i, (name, value) in enumerate(zip(chart.categories, chart.values, strict=True)):
        y = top + i * row
        bar = (w - label_w - 90) * value / most
        shown = name if len(name) <= 26 else name[:25] + "…"
        parts += [
            f'<text x="{label_w - 10:.0f}" y="{y + row / 2 + size / 3:.0f}" text-anchor="end" font-size="{size:.0f}" '
            f'fill="{theme.text}">{html.escape(shown)}</text>',
            f'<rect x="{label_w:.0f}" y="{y + row * 0.18:.0f}" width="{max(bar, 2):.0f}" height="{row * 0.64:.0f}" '
            f'fill="{theme.accent}"/>',
            f'<text x="{label_w + max(bar, 2) + 8:.0f}" y="{y + row / 2 + size / 3:.0f}" font-size="{size:.0f}" '
            f'fill="{theme.text}">{_number(value)} {html.escape(chart.unit)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or float(value).is_integer() else f"{value:.2f}"
