"""Marp Markdown: the same slides as text a team can edit and diff, with the theme in the front
matter, speaker notes as Marp's presenter comments, and the pictures in ``assets/`` beside it
(the QR code as PNG, the diagram and charts as SVG). ``npx @marp-team/marp-cli deck.md`` turns it
into HTML or PDF with a Chromium.
"""

from __future__ import annotations

from pathlib import Path

from hackkit.pitch.deck import Deck, Slide
from hackkit.pitch.layout import Paragraph, chart_boxes, layout, paragraphs
from hackkit.pitch.theme import CSS_FONT, Theme
from hackkit.pitch.visuals import chart_svg, diagram_svg, qr_png

ASSETS = "assets"


def _front_matter(deck: Deck, theme: Theme) -> str:
    title = deck.title.replace('"', "'")
    return f"""---
marp: true
title: "{title}"
paginate: true
size: 16:9
style: |
  section {{ background: {theme.background}; color: {theme.text}; font-family: {CSS_FONT}; font-size: 28px;
    padding: 50px 60px; }}
  h1, h2 {{ color: {theme.primary}; }}
  h2 {{ border-bottom: 6px solid {theme.accent}; padding-bottom: 8px; display: inline-block; }}
  strong {{ color: {theme.primary}; }}
  em {{ color: {theme.muted}; }}
  footer {{ color: {theme.muted}; font-size: 14px; }}
  a {{ color: {theme.primary}; }}
---
"""


def write_marp(deck: Deck, theme: Theme, path: Path) -> list[Path]:
    """``deck.md`` and the pictures it shows; every path written."""
    assets = path.parent / ASSETS
    assets.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    slides = [_slide(slide, theme, assets, written) for slide in deck.slides]
    path.write_text(_front_matter(deck, theme) + "\n---\n\n".join(slides), encoding="utf-8")
    return [path, *written]


def _slide(slide: Slide, theme: Theme, assets: Path, written: list[Path]) -> str:
    heading = "#" if slide.key == "title" else "##"
    lines = [f"<!-- _class: {slide.key} -->", ""]
    if slide.footnote:
        lines += [f"<!-- _footer: '{_quote(slide.footnote)}' -->", ""]
    lines += [f"{heading} {_escape(slide.title)}", ""]
    lines += _text(paragraphs(slide))
    lines += _pictures(slide, theme, assets, written)
    lines += ["", "<!--", slide.notes.replace("--", "—"), "-->", ""]
    return "\n".join(lines)


FORMS = {"lead": "**{}**\n", "bullet": "- {}", "missing": "\n*{}*", "plain": "{}\n"}


def _text(found: list[Paragraph]) -> list[str]:
    lines, step = [], 0
    for item in found:
        text = _escape(item.text)
        if item.kind == "step":
            step += 1
            lines.append(f"{step}. {text}")
        else:
            lines.append(FORMS[item.kind].format(text))
    return [*lines, ""] if lines else []


def _pictures(slide: Slide, theme: Theme, assets: Path, written: list[Path]) -> list[str]:
    area = layout(slide).visual
    lines: list[str] = []
    if area is None:
        return lines
    if slide.diagram is not None:
        lines.append(
            f"![w:1100]({_asset(assets, 'architecture.svg', diagram_svg(slide.diagram, theme, area), written)})"
        )
    if slide.qr is not None:
        qr = _asset(assets, "demo-qr.png", qr_png(slide.qr.url, theme), written)
        lines += [f"![bg right:38% w:360]({qr})", f"[{slide.qr.url}]({slide.qr.url})"]
        if slide.video:
            lines.append(f"\n[Backup video: {slide.video}]({slide.video})")
    for n, (chart, box) in enumerate(zip(slide.charts, chart_boxes(area, len(slide.charts)), strict=True), start=1):
        where = "bg right:45% vertical fit" if n == 1 else "bg fit"  # stacked in the right column, like the PPTX
        lines.append(f"![{where}]({_asset(assets, f'chart-{n}.svg', chart_svg(chart, theme, box), written)})")
    if slide.image is not None and slide.qr is None and not slide.charts:
        image = _asset(assets, f"screenshot{slide.image.suffix}", slide.image.read_bytes(), written)
        lines.append(f"![bg right:45% fit]({image})")
    return lines


def _asset(assets: Path, name: str, content: str | bytes, written: list[Path]) -> str:
    path = assets / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    written.append(path)
    return f"{ASSETS}/{name}"


def _escape(text: str) -> str:
    """Text that Markdown shows as typed: no accidental emphasis, headings or HTML."""
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text


def _quote(text: str) -> str:
    return text.replace("'", "\u2019")  # a typographic apostrophe: the directive is in single quotes
