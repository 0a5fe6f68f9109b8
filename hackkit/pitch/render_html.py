"""A self-contained HTML deck: one file, CSS and script inline, pictures as data URIs, no request to
any other origin. Slides use the PPTX's geometry in CSS inches, so both look alike; arrow keys or a
click move on, ``n`` shows the speaker notes, ``f`` goes full screen, and printing gives one slide
per page.
"""

from __future__ import annotations

import base64
import html
import mimetypes
from pathlib import Path

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
from hackkit.pitch.theme import (
    CSS_FONT,
    FOOT_BOX,
    HEIGHT_IN,
    LINE_HEIGHT,
    MARGIN,
    PARAGRAPH_GAP_EM,
    TITLE_BOX,
    WIDTH_IN,
    Box,
    Theme,
)
from hackkit.pitch.visuals import chart_svg, diagram_svg, label_points, qr_png

SCRIPT = """
const slides = [...document.querySelectorAll('section.slide')];
let current = Math.max(0, slides.findIndex(s => '#' + s.id === location.hash));
function show(n) {
  current = Math.min(Math.max(n, 0), slides.length - 1);
  slides.forEach((s, i) => s.classList.toggle('current', i === current));
  history.replaceState(null, '', '#' + slides[current].id);
}
function fit() {
  const scale = Math.min(innerWidth / 1280, innerHeight / 720);
  document.documentElement.style.setProperty('--scale', scale);
}
document.body.classList.add('presenting');
addEventListener('resize', fit);
addEventListener('keydown', e => {
  if (['ArrowRight', 'PageDown', ' '].includes(e.key)) show(current + 1);
  else if (['ArrowLeft', 'PageUp'].includes(e.key)) show(current - 1);
  else if (e.key === 'Home') show(0);
  else if (e.key === 'End') show(slides.length - 1);
  else if (e.key === 'n') document.body.classList.toggle('notes');
  else if (e.key === 'f') document.documentElement.requestFullscreen?.();
});
addEventListener('click', e => { if (!e.target.closest('a')) show(current + 1); });
fit(); show(current);
"""


def _style(theme: Theme) -> str:
    return f"""
* {{ box-sizing: border-box; }}
html, body {{ margin: 0; background: #2b2b2b; font-family: {CSS_FONT}; }}
section.slide {{ position: relative; width: {WIDTH_IN}in; height: {HEIGHT_IN}in; overflow: hidden;
  background: {theme.background}; color: {theme.text}; margin: 0 auto 24px; }}
.box {{ position: absolute; overflow: hidden; padding: 0.05in 0.1in; line-height: {LINE_HEIGHT}; }}
.box p, .box li {{ margin: 0 0 {PARAGRAPH_GAP_EM}em; }}
.box ul, .box ol {{ margin: 0; padding-left: 1.3em; }}
.title {{ font-weight: bold; color: {theme.primary}; }}
.lead {{ font-weight: bold; color: {theme.primary}; }}
.missing {{ font-style: italic; color: {theme.muted}; }}
.plain, .foot, .number {{ color: {theme.muted}; }}
.band {{ position: absolute; background: {theme.accent}; }}
.band.primary {{ background: {theme.primary}; }}
.center {{ text-align: center; }}
a {{ color: {theme.primary}; }}
a.video {{ color: {theme.accent}; font-weight: bold; }}
img.shot {{ position: absolute; border: 1px solid {theme.muted}; }}
.visual {{ position: absolute; }}
aside.notes {{ display: none; }}
body.presenting {{ overflow: hidden; }}
body.presenting section.slide {{ display: none; position: absolute; top: 50%; left: 50%; margin: 0;
  transform: translate(-50%, -50%) scale(var(--scale, 1)); }}
body.presenting section.slide.current {{ display: block; }}
body.notes aside.notes {{ display: block; position: fixed; bottom: 0; left: 0; right: 0; max-height: 40vh;
  overflow: auto; background: #111; color: #eee; font-size: 18px; padding: 12px 20px; white-space: pre-wrap; }}
@page {{ size: {WIDTH_IN}in {HEIGHT_IN}in; margin: 0; }}
@media print {{
  html, body {{ background: none; }}
  body.presenting section.slide, section.slide {{ display: block; position: relative; top: 0; left: 0;
    transform: none; margin: 0; page-break-after: always; break-after: page; }}
  aside.notes, body.notes aside.notes {{ display: none; }}
}}
"""


def write_html(deck: Deck, theme: Theme, path: Path) -> Path:
    sections = "\n".join(_slide(slide, theme, n, len(deck.slides)) for n, slide in enumerate(deck.slides, start=1))
    page = (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(deck.title)}</title><style>{_style(theme)}</style></head>\n"
        f"<body>\n{sections}\n<script>{SCRIPT}</script>\n</body></html>\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _at(box: Box) -> str:
    return f"left:{box.left:.3f}in;top:{box.top:.3f}in;width:{box.width:.3f}in;height:{box.height:.3f}in"


def _slide(slide: Slide, theme: Theme, number: int, total: int) -> str:
    placed = layout(slide)
    parts = []
    if slide.key == "title":
        parts.append(f'<div class="band primary" style="{_at(Box(0, 0, 0.35, HEIGHT_IN))}"></div>')
        box = TITLE_SLIDE_TITLE
        parts.append(_title(slide.title, box, title_points(slide.title, box.width, 54), bottom=True))
        parts.append(f'<div class="band" style="{_at(TITLE_SLIDE_ACCENT)}"></div>')
    else:
        parts.append(_title(slide.title, TITLE_BOX, title_points(slide.title, TITLE_BOX.width)))
        accent = Box(MARGIN, TITLE_BOX.top + TITLE_BOX.height + 0.02, 1.4, 0.08)
        parts.append(f'<div class="band" style="{_at(accent)}"></div>')
    parts.append(_body(paragraphs(slide), placed))
    parts.append(_visual(slide, theme, placed))
    parts.append(_footer(slide, number, total))
    notes = html.escape(slide.notes)
    return (
        f'<section class="slide" id="slide-{number}" data-key="{slide.key}">{"".join(parts)}'
        f'<aside class="notes">{notes}</aside></section>'
    )


def _title(text: str, box: Box, points: float, bottom: bool = False) -> str:
    anchor = ";display:flex;align-items:flex-end" if bottom else ""
    heading = f'<h1 style="margin:0;font-size:1em">{html.escape(text)}</h1>'
    return f'<div class="box title" style="{_at(box)};font-size:{points:.1f}pt{anchor}">{heading}</div>'


def _body(found: list[Paragraph], placed: Layout) -> str:
    if not found:
        return ""
    chunks, open_list = [], ""
    for item in found:
        tag = {"bullet": "ul", "step": "ol"}.get(item.kind, "")
        if tag != open_list:
            chunks.append(f"</{open_list}>" if open_list else "")
            chunks.append(f"<{tag}>" if tag else "")
            open_list = tag
        size = f"font-size:{placed.points * SCALE[item.kind]:.1f}pt"
        element = "li" if tag else "p"
        chunks.append(f'<{element} class="{item.kind}" style="{size}">{html.escape(item.text)}</{element}>')
    chunks.append(f"</{open_list}>" if open_list else "")
    return f'<div class="box body" style="{_at(placed.text)}">{"".join(chunks)}</div>'


def _visual(slide: Slide, theme: Theme, placed: Layout) -> str:
    area = placed.visual
    if area is None:
        return ""
    if slide.diagram is not None:
        return f'<div class="visual diagram" style="{_at(area)}">{diagram_svg(slide.diagram, theme, area)}</div>'
    if slide.qr is not None:
        return _qr(slide, theme, area)
    if slide.charts:
        return "".join(
            f'<div class="visual chart" style="{_at(box)}">{chart_svg(chart, theme, box)}</div>'
            for chart, box in zip(slide.charts, chart_boxes(area, len(slide.charts)), strict=True)
        )
    if slide.image is not None:
        return _picture(slide.image, area)
    return ""


def _qr(slide: Slide, theme: Theme, area: Box) -> str:
    assert slide.qr is not None
    qr, url_box, video_box = qr_boxes(area, bool(slide.video))
    url = html.escape(slide.qr.url)
    parts = [
        f'<img class="visual qr" alt="QR code: {url}" style="{_at(qr)}" src="{data_uri(qr_png(slide.qr.url, theme))}">',
        f'<div class="box center" style="{_at(url_box)};font-size:{label_points(slide.qr.url, url_box, 16):.1f}pt">'
        f'<a href="{url}">{url}</a></div>',
    ]
    if video_box is not None and slide.video:
        video = html.escape(slide.video)
        parts.append(
            f'<div class="box center" style="{_at(video_box)};font-size:16pt">'
            f'<a class="video" href="{video}">Backup video: {video}</a></div>'
        )
    return "".join(parts)


def _picture(image: Path, area: Box) -> str:
    from PIL import Image

    with Image.open(image) as opened:
        box = picture_box(area, *opened.size)
    return f'<img class="shot" alt="The app" style="{_at(box)}" src="{file_uri(image)}">'


def _footer(slide: Slide, number: int, total: int) -> str:
    foot = ""
    if slide.footnote:
        box = Box(FOOT_BOX.left, FOOT_BOX.top, FOOT_BOX.width - 1.0, FOOT_BOX.height)
        size = footnote_points(slide.footnote, box)
        foot = f'<div class="box foot" style="{_at(box)};font-size:{size:.1f}pt">{html.escape(slide.footnote)}</div>'
    counter = Box(WIDTH_IN - MARGIN - 1.0, FOOT_BOX.top, 1.0, FOOT_BOX.height)
    return (
        foot + f'<div class="box number" style="{_at(counter)};font-size:11pt;text-align:right">{number}/{total}</div>'
    )


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def file_uri(path: Path) -> str:
    return data_uri(path.read_bytes(), mimetypes.guess_type(path.name)[0] or "image/png")
