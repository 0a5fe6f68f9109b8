"""Markdown that cannot reach outside the page: the one rule both demo views render text by.

An answer quotes the documents, and documents can be uploaded by anyone, so an answer's text is
treated as a visitor's. :func:`safe_markdown` parses it as CommonMark (with tables and
strikethrough) and writes it back as Markdown in which every character of text that could
start markup is escaped: raw HTML shows as text, a link shows as its text and its address, an image as its alt text.
Addresses in text (``https://...``, ``www....``, e-mail addresses) are written as code, because
some renderers turn them into links from the text itself, escaped or not (Streamlit's does).
Formatting survives (emphasis, headings, lists, quotes, tables), and code keeps its content
exactly, inside fences and spans longer than any run of backticks within, so nothing inside them
can end them. Whatever Markdown renderer draws the result (Gradio's, Streamlit's) then has
nothing to turn into markup, a request, or a link.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

log = logging.getLogger("hackkit.ui")

# The characters that can start markup, a block or a link in CommonMark, GFM, Gradio's or Streamlit's
# Markdown (math: $); a backslash makes each show as itself. The rest of the text stays as written.
SPECIAL = re.compile(r"([\\`*_~\[\]<>&$|#+=-])")
LIST_NUMBER = re.compile(r"^(\d{1,9})([.)])")  # "1." or "1)" opening a line would start a list
BACKTICKS = re.compile(r"`+")
LANGUAGE = re.compile(r"[^\w+#.-]")
# What a renderer may turn into a link by itself: an address with a scheme, www., an e-mail address.
SCHEMES = "https?|ftp|file|mailto|xmpp|javascript|data"
ADDRESS = re.compile(rf"(?i)(?:(?:{SCHEMES}):|www\.)[^\s<>]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
TRAILING = ".,:;!?'\")]}"  # punctuation that ends a sentence, not an address


def safe_markdown(text: str) -> str:
    """``text`` as Markdown that renders no HTML, image or link (see the module docstring).

    Should anything here fail on an input nobody foresaw, the text is shown whole as a code
    block, which no renderer interprets, and the failure is logged.
    """
    from markdown_it.tree import SyntaxTreeNode

    try:
        return _blocks(SyntaxTreeNode(_parser().parse(text)).children)
    except Exception:
        log.exception("safe_markdown failed; showing the text as code")
        return _fence(text, "")


def escape(text: str) -> str:
    """Plain text as Markdown that shows exactly that text, its addresses as code (see the module docstring)."""
    return _text(text, in_table=False)


@functools.lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _blocks(nodes: list[Any], tight: bool = False) -> str:
    rendered = (_block(node) for node in nodes)
    return ("\n" if tight else "\n\n").join(block for block in rendered if block)


def _block(node: Any) -> str:
    kind = node.type
    if kind == "paragraph":
        return _inline(node.children)
    if kind == "heading":
        return "#" * int(node.tag[1]) + " " + _inline(node.children)
    if kind in ("fence", "code_block"):
        return _fence(node.content, node.info if kind == "fence" else "")
    if kind == "blockquote":
        return _prefixed(_blocks(node.children), "> ", "> ")
    if kind in ("bullet_list", "ordered_list"):
        return _list(node)
    if kind == "table":
        return _table(node)
    if kind == "hr":
        return "***"
    return "\n".join(escape(line.strip()) for line in node.content.splitlines())  # html_block, the rest


def _inline(nodes: list[Any], in_table: bool = False) -> str:
    parts, line_start = [], True
    for node in nodes:
        part = _span(node, in_table)
        parts.append(LIST_NUMBER.sub(r"\1\\\2", part) if line_start and node.type == "text" else part)
        line_start = node.type in ("softbreak", "hardbreak")
    return "".join(parts)


def _span(node: Any, in_table: bool) -> str:
    kind = node.type
    if kind == "inline":
        return _inline(node.children, in_table)
    if kind == "text":
        return _text(node.content, in_table)
    if kind == "softbreak":
        return "\n"
    if kind == "hardbreak":
        return "\\\n"
    if kind == "code_inline":
        return _code_span(node.content, in_table)
    if kind in ("em", "strong", "s"):
        mark = {"em": "*", "strong": "**", "s": "~~"}[kind]
        return mark + _inline(node.children, in_table) + mark
    if kind == "link":
        return _link(node, in_table)
    if kind == "image":
        return _inline(node.children, in_table)  # the alt text, never a request
    return _text(node.content, in_table)  # html_inline and the rest: shown as the text it is


def _text(text: str, in_table: bool) -> str:
    """Escaped text, with every address in it as code: shown in full, never a link."""
    parts, last = [], 0
    for match in ADDRESS.finditer(text):
        address = match.group().rstrip(TRAILING)
        parts += [_escaped(text[last : match.start()]), _code_span(address, in_table)]
        last = match.start() + len(address)
    return "".join(parts) + _escaped(text[last:])


def _escaped(text: str) -> str:
    return SPECIAL.sub(r"\\\1", text)


def _link(node: Any, in_table: bool) -> str:
    """A link as its text and, when it differs, its address in brackets: shown, not followed."""
    text = _inline(node.children, in_table)
    address = str(node.attrs.get("href", ""))
    label = "".join(child.content for child in node.children if child.type == "text")
    if not address or address in (label, f"mailto:{label}"):
        return text
    return f"{text} ({_code_span(address, in_table)})"


def _code_span(content: str, in_table: bool) -> str:
    fence = "`" * (max((len(run) for run in BACKTICKS.findall(content)), default=0) + 1)
    if in_table:
        content = content.replace("|", "\\|")  # GFM splits cells first, and unescapes \| inside code
    if content.strip(" ") and (content[0] == "`" or content[-1] == "`" or content[0] == content[-1] == " "):
        content = f" {content} "  # one space each side is stripped again
    return f"{fence}{content}{fence}"


def _fence(content: str, info: str) -> str:
    fence = "`" * max(3, max((len(run) for run in BACKTICKS.findall(content)), default=0) + 1)
    language = LANGUAGE.sub("", info.split()[0]) if info.strip() else ""
    return f"{fence}{language}\n{content.rstrip(chr(10))}\n{fence}" if content.strip() else f"{fence}\n{fence}"


def _list(node: Any) -> str:
    tight = any(getattr(child, "hidden", False) for item in node.children for child in item.children)
    start = int(node.attrs.get("start", 1)) if node.type == "ordered_list" else 0
    items = []
    for n, item in enumerate(node.children):
        marker = f"{start + n}{node.markup or '.'} " if node.type == "ordered_list" else f"{node.markup or '-'} "
        items.append(_prefixed(_blocks(item.children, tight), marker, " " * len(marker)) or marker.rstrip())
    return ("\n" if tight else "\n\n").join(items)


def _prefixed(text: str, first: str, rest: str) -> str:
    """``text`` with ``first`` before its first line and ``rest`` before the others."""
    lines = text.split("\n") if text else []
    prefixes = [first, *[rest] * (len(lines) - 1)] if lines else []
    return "\n".join(prefix + line if line else prefix.rstrip() for prefix, line in zip(prefixes, lines, strict=True))


def _table(node: Any) -> str:
    rows = [row for section in node.children for row in section.children]
    if not rows:
        return ""
    cells = [[_inline(cell.children, in_table=True).replace("\n", " ") for cell in row.children] for row in rows]
    aligns = [_alignment(cell) for cell in rows[0].children]
    lines = [cells[0], aligns, *cells[1:]]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def _alignment(cell: Any) -> str:
    style = str(cell.attrs.get("style", ""))
    if "center" in style:
        return ":---:"
    if "right" in style:
        return "---:"
    return ":---" if "left" in style else "---"
