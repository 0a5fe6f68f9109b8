"""The editable PPTX (python-pptx): real text boxes, native charts, shapes for the diagram, notes.

Every slide has speaker notes; the demo slide has the QR code (PNG: python-pptx embeds no SVG) and
a link to the backup video next to the deck; charts are PowerPoint charts whose data the team can
edit; the architecture is rounded rectangles joined by connectors, so it can be rearranged.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from hackkit.errors import MissingDependencyError
from hackkit.pitch.deck import Deck, Slide
from hackkit.pitch.layout import (
    SCALE,
    TITLE_SLIDE_ACCENT,
    TITLE_SLIDE_TITLE,
    Layout,
    Paragraph,
    chart_boxes,
    footnote_points,
    layout,
    paragraphs,
    picture_box,
    qr_boxes,
    title_points,
)
from hackkit.pitch.theme import FONT, FOOT_BOX, HEIGHT_IN, MARGIN, TITLE_BOX, WIDTH_IN, Box, Theme
from hackkit.pitch.visuals import diagram_boxes, label_points, node_fill, qr_png

INSTALL_PITCH = "pip install 'hackkit-llm[pitch]'"


def write_pptx(deck: Deck, theme: Theme, path: Path) -> Path:
    try:
        from pptx import Presentation
        from pptx.util import Inches
    except ImportError:
        raise MissingDependencyError("python-pptx", INSTALL_PITCH) from None
    presentation = Presentation()
    presentation.slide_width, presentation.slide_height = Inches(WIDTH_IN), Inches(HEIGHT_IN)
    presentation.core_properties.title = deck.title
    blank = presentation.slide_layouts[6]
    for number, slide in enumerate(deck.slides, start=1):
        page = presentation.slides.add_slide(blank)
        _draw(page, slide, theme, number, len(deck.slides))
        page.notes_slide.notes_text_frame.text = slide.notes
    path.parent.mkdir(parents=True, exist_ok=True)
    presentation.save(str(path))
    return path


def _draw(page: Any, slide: Slide, theme: Theme, number: int, total: int) -> None:
    _background(page, theme)
    placed = layout(slide)
    if slide.key == "title":
        _title_slide(page, slide, theme, placed)
    else:
        _title(page, slide.title, theme)
        _body(page, slide, theme, placed)
        _visual(page, slide, theme, placed)
    _footer(page, slide, theme, number, total)


def _inches(box: Box) -> tuple[Any, Any, Any, Any]:
    from pptx.util import Inches

    return Inches(box.left), Inches(box.top), Inches(box.width), Inches(box.height)


def _color(theme: Theme, name: str) -> Any:
    from pptx.dml.color import RGBColor

    return RGBColor(*theme.rgb(name))


def _background(page: Any, theme: Theme) -> None:
    fill = page.background.fill
    fill.solid()
    fill.fore_color.rgb = _color(theme, "background")


def _band(page: Any, box: Box, theme: Theme, color: str, name: str) -> Any:
    from pptx.enum.shapes import MSO_SHAPE

    band = page.shapes.add_shape(MSO_SHAPE.RECTANGLE, *_inches(box))
    band.fill.solid()
    band.fill.fore_color.rgb = _color(theme, color)
    band.line.fill.background()
    band.name = name
    return band


def _textbox(page: Any, box: Box, name: str) -> Any:
    from pptx.enum.text import MSO_AUTO_SIZE

    shape = page.shapes.add_textbox(*_inches(box))
    shape.name = name
    frame = shape.text_frame
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    return shape


def _run(paragraph: Any, text: str, theme: Theme, points: float, color: str = "text", **style: Any) -> Any:
    from pptx.util import Pt

    run = paragraph.add_run()
    run.text = text
    run.font.name = FONT
    run.font.size = Pt(points)
    run.font.color.rgb = _color(theme, color)
    run.font.bold = style.get("bold", False)
    run.font.italic = style.get("italic", False)
    if link := style.get("link"):
        run.hyperlink.address = link
    return run


def _title(page: Any, title: str, theme: Theme) -> None:
    shape = _textbox(page, TITLE_BOX, "Title")
    _run(shape.text_frame.paragraphs[0], title, theme, title_points(title, TITLE_BOX.width), "primary", bold=True)
    _band(page, Box(MARGIN, TITLE_BOX.top + TITLE_BOX.height + 0.02, 1.4, 0.08), theme, "accent", "Accent")


def _title_slide(page: Any, slide: Slide, theme: Theme, placed: Layout) -> None:
    from pptx.enum.text import MSO_ANCHOR

    _band(page, Box(0, 0, 0.35, HEIGHT_IN), theme, "primary", "Band")
    box = TITLE_SLIDE_TITLE
    shape = _textbox(page, box, "Title")
    shape.text_frame.vertical_anchor = MSO_ANCHOR.BOTTOM  # close to the accent under it, however many lines
    points = title_points(slide.title, box.width, 54)
    _run(shape.text_frame.paragraphs[0], slide.title, theme, points, "primary", bold=True)
    _band(page, TITLE_SLIDE_ACCENT, theme, "accent", "Accent")
    _paragraphs(page, placed.text, paragraphs(slide), placed.points, theme)


def _body(page: Any, slide: Slide, theme: Theme, placed: Layout) -> None:
    found = paragraphs(slide)
    if found:
        _paragraphs(page, placed.text, found, placed.points, theme)


def _paragraphs(page: Any, box: Box, found: list[Paragraph], points: float, theme: Theme) -> None:
    from pptx.util import Pt

    frame = _textbox(page, box, "Body").text_frame
    for n, item in enumerate(found):
        paragraph = frame.paragraphs[0] if n == 0 else frame.add_paragraph()
        size = points * SCALE[item.kind]
        paragraph.space_after = Pt(size * 0.5)
        if item.kind in ("bullet", "step"):
            _bullet(paragraph, size, numbered=item.kind == "step")
        color = {"lead": "primary", "missing": "muted", "plain": "muted"}.get(item.kind, "text")
        _run(paragraph, item.text, theme, size, color, bold=item.kind == "lead", italic=item.kind == "missing")


def _bullet(paragraph: Any, points: float, numbered: bool) -> None:
    """A real bullet (or number) with a hanging indent, so the team's new lines get one too."""
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    properties = paragraph._p.get_or_add_pPr()
    indent = int(Pt(points * 1.3))
    properties.set("marL", str(indent))
    properties.set("indent", str(-indent))
    marker = properties.makeelement(qn("a:buAutoNum" if numbered else "a:buChar"), {})
    marker.set("type" if numbered else "char", "arabicPeriod" if numbered else "•")
    properties.append(marker)


def _visual(page: Any, slide: Slide, theme: Theme, placed: Layout) -> None:
    area = placed.visual
    if area is None:
        return
    if slide.diagram is not None:
        _diagram(page, slide, theme, area)
    elif slide.qr is not None:
        _qr(page, slide, theme, area)
    elif slide.charts:
        _charts(page, slide, theme, area)
    elif slide.image is not None:
        _picture(page, slide.image, area, "Screenshot")


def _qr(page: Any, slide: Slide, theme: Theme, area: Box) -> None:
    from pptx.enum.text import PP_ALIGN

    assert slide.qr is not None
    qr, url, video = qr_boxes(area, bool(slide.video))
    picture = page.shapes.add_picture(io.BytesIO(qr_png(slide.qr.url, theme)), *_inches(qr))
    picture.name = "QR code"
    caption = _textbox(page, url, "Demo URL").text_frame.paragraphs[0]
    caption.alignment = PP_ALIGN.CENTER
    _run(caption, slide.qr.url, theme, label_points(slide.qr.url, url, 16), "primary", link=slide.qr.url)
    if video is not None and slide.video:
        line = _textbox(page, video, "Backup video").text_frame.paragraphs[0]
        line.alignment = PP_ALIGN.CENTER
        _run(line, f"Backup video: {slide.video}", theme, 16, "accent", link=slide.video)


def _picture(page: Any, image: Path, area: Box, name: str) -> None:
    from PIL import Image

    with Image.open(image) as opened:
        width, height = opened.size
    picture = page.shapes.add_picture(str(image), *_inches(picture_box(area, width, height)))
    picture.name = name
    picture.line.color.rgb = _color(Theme(), "muted")


def _charts(page: Any, slide: Slide, theme: Theme, area: Box) -> None:
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Pt

    for chart, box in zip(slide.charts, chart_boxes(area, len(slide.charts)), strict=True):
        data = CategoryChartData()
        data.categories = chart.categories
        data.add_series(f"{chart.title} ({chart.unit})", chart.values)
        frame = page.shapes.add_chart(XL_CHART_TYPE.BAR_CLUSTERED, *_inches(box), data)
        frame.name = f"Chart: {chart.title}"
        native = frame.chart
        native.has_legend = False
        native.font.name = FONT
        native.has_title = True
        native.chart_title.text_frame.text = f"{chart.title} ({chart.unit})"
        native.chart_title.text_frame.paragraphs[0].runs[0].font.size = Pt(16)
        native.category_axis.reverse_order = True  # the first model on top, as in the table
        native.category_axis.tick_labels.font.size = Pt(12)
        native.value_axis.visible = False
        native.value_axis.has_major_gridlines = False
        plot = native.plots[0]
        plot.gap_width = 60
        plot.has_data_labels = True
        plot.data_labels.font.size = Pt(12)
        plot.data_labels.number_format = "#,##0.##"
        plot.data_labels.number_format_is_linked = False
        fill = plot.series[0].format.fill
        fill.solid()
        fill.fore_color.rgb = _color(theme, "accent")


def _diagram(page: Any, slide: Slide, theme: Theme, area: Box) -> None:
    from pptx.enum.shapes import MSO_CONNECTOR

    diagram = slide.diagram
    assert diagram is not None
    app_box, core_box, target_boxes = diagram_boxes(diagram, area)
    app = _node(page, diagram.app, app_box, theme)
    core = _node(page, diagram.core, core_box, theme)
    targets = [_node(page, node, box, theme) for node, box in zip(diagram.targets, target_boxes, strict=True)]
    for start, end in [(app, core), *((core, target) for target in targets)]:
        connector = page.shapes.add_connector(MSO_CONNECTOR.STRAIGHT, 0, 0, 0, 0)
        connector.begin_connect(start, 3)  # the right side's midpoint
        connector.end_connect(end, 1)  # the left side's midpoint
        connector.line.color.rgb = _color(theme, "accent")
        connector.line.width = 28575  # 2.25 pt
        _arrowhead(connector)
        connector.name = f"Arrow: {start.name.removeprefix('Node: ')} -> {end.name.removeprefix('Node: ')}"


def _node(page: Any, node: Any, box: Box, theme: Theme) -> Any:
    from pptx.dml.color import RGBColor
    from pptx.enum.dml import MSO_LINE_DASH_STYLE
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.enum.text import PP_ALIGN

    shape = page.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, *_inches(box))
    shape.name = f"Node: {node.label}"
    fill, ink = node_fill(node, theme)
    shape.fill.solid()
    shape.fill.fore_color.rgb = RGBColor.from_string(fill.lstrip("#"))
    shape.line.color.rgb = _color(theme, "primary")
    if node.kind == "fallback":
        shape.line.dash_style = MSO_LINE_DASH_STYLE.DASH
    frame = shape.text_frame
    frame.word_wrap = True
    for n, (text, size, bold) in enumerate(
        [
            (node.label, label_points(node.label, box, 20), True),
            (node.detail, label_points(node.detail, box, 13), False),
        ]
    ):
        paragraph = frame.paragraphs[0] if n == 0 else frame.add_paragraph()
        paragraph.alignment = PP_ALIGN.CENTER
        run = _run(paragraph, text, theme, size, bold=bold)
        run.font.color.rgb = RGBColor.from_string(ink.lstrip("#"))
    return shape


def _arrowhead(connector: Any) -> None:
    from pptx.oxml.ns import qn

    line = connector.line._get_or_add_ln()
    line.append(line.makeelement(qn("a:tailEnd"), {"type": "triangle", "w": "med", "len": "med"}))


def _footer(page: Any, slide: Slide, theme: Theme, number: int, total: int) -> None:
    from pptx.enum.text import PP_ALIGN

    if slide.footnote:
        box = Box(FOOT_BOX.left, FOOT_BOX.top, FOOT_BOX.width - 1.0, FOOT_BOX.height)
        paragraph = _textbox(page, box, "Footnote").text_frame.paragraphs[0]
        _run(paragraph, slide.footnote, theme, footnote_points(slide.footnote, box), "muted")
    counter = _textbox(page, Box(WIDTH_IN - MARGIN - 1.0, FOOT_BOX.top, 1.0, FOOT_BOX.height), "Slide number")
    paragraph = counter.text_frame.paragraphs[0]
    paragraph.alignment = PP_ALIGN.RIGHT
    _run(paragraph, f"{number}/{total}", theme, 11, "muted")
