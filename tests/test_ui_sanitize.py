"""safe_markdown: what an answer may hold, rendered by a CommonMark renderer with raw HTML allowed.

The browser tests check the real pages (Gradio's and Streamlit's renderers); these check the rule
itself on the constructs a document can plant, against markdown-it with HTML switched on, the
most permissive renderer there is.
"""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from hackkit.ui.sanitize import safe_markdown

RENDERER = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(["table", "strikethrough"])
PLANTED = {
    "a form": "<form action='http://evil.example/steal'><input placeholder=password></form>",
    "an inline image": "Look: <img src='http://evil.example/pixel.png'> here",
    "a Markdown image": "![map](http://evil.example/map.png)",
    "a reference image": "![map][m]\n\n[m]: http://evil.example/ref.png",
    "a link": "[click me](http://evil.example/phish)",
    "an autolink": "<http://evil.example/auto>",
    "a script": "<script>fetch('http://evil.example/x')</script>",
    "an entity-encoded tag": "&lt;img src=x&gt; &#60;b&#62;",
    "HTML in a list": "- item\n\n  <img src='http://evil.example/list.png'>",
    "HTML after a fence in a list": "- item\n  ```\n  code\n  ```\n<img src='http://evil.example/after.png'>",
    "an image in a table": "| a |\n|---|\n| ![x](http://evil.example/cell.png) |",
    "an image in a quote": "> ![x](http://evil.example/quote.png)",
    "an image in emphasis": "**![x](http://evil.example/bold.png)**",
    "an unclosed fence": "```\n<img src='http://evil.example/unclosed.png'>",
}


def rendered(text: str) -> str:
    return RENDERER.render(safe_markdown(text))


def visible(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered(text)))


@pytest.mark.parametrize("planted", PLANTED.values(), ids=PLANTED.keys())
def test_nothing_planted_becomes_markup_a_request_or_a_link(planted):
    page = rendered(planted)
    assert not re.search(r"<(form|input|img|script|a)\b", page), page
    assert "evil.example" not in "".join(re.findall(r"<[^>]+>", page))  # in no tag or attribute, only in text
    outside_code = re.sub(r"<code>.*?</code>", "", page, flags=re.S)
    assert "evil.example" not in outside_code  # an address is code: a renderer that links bare text skips it


def test_the_planted_text_stays_visible_as_text():
    assert "<form action='http://evil.example/steal'>" in visible(PLANTED["a form"])
    assert visible("[click me](http://evil.example/phish)").strip() == "click me (http://evil.example/phish)"
    assert visible("![map](http://evil.example/map.png)").strip() == "map"  # the alt text, no request


def test_formatting_survives():
    page = rendered("# Title\n\nSome *emphasis*, **strong** and ~~struck~~ text.\n\n1. one\n2. two\n\n> a quote")
    for tag in ("<h1>Title</h1>", "<em>emphasis</em>", "<strong>strong</strong>", "<s>struck</s>", "<ol>"):
        assert tag in page
    assert "<blockquote>" in page
    table = rendered("| name | size |\n|:---|---:|\n| duck | 3 |")
    assert '<td style="text-align:left">duck</td>' in table and '<td style="text-align:right">3</td>' in table


def test_code_keeps_its_content_exactly():
    code = "```python\nprint('<b>' + `x` + \"[a](b)\")\n\n# ```` four backticks inside\n```"
    page = rendered(code)
    assert '<pre><code class="language-python">' in page
    assert html.unescape(re.search(r"<code[^>]*>(.*?)</code>", page, re.S).group(1)) == (  # type: ignore[union-attr]
        "print('<b>' + `x` + \"[a](b)\")\n\n# ```` four backticks inside\n"
    )
    span = rendered("Use `<div>` and ``a`b`` here")
    assert "<code>&lt;div&gt;</code>" in span and "<code>a`b</code>" in span


def test_punctuation_shows_as_itself():
    text = "Prices: $5 & 10% off! (1) [2] {3} 1. not a list * not emphasis_ www.example.org a@b.example :red[x]"
    assert visible(text).strip() == text
    assert "<a" not in rendered(text)


def test_any_mix_of_markdown_pieces_is_made_safe_without_an_error(caplog):
    import random

    pieces = [
        "- ", "1. ", "> ", "```", "~~~", "    ", "\n", "\n\n", "*", "**", "_", "`", "[", "](", ")", "![", "<img src=x>",
        "<b>", "</b>", "|", "| --- |", "#", "text", "http://evil.example/x", "&lt;", "\\", "$", "-", " ", "\t", "2)",
    ]  # fmt: skip
    generator = random.Random(7)
    for _ in range(2000):
        text = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 24)))
        page = rendered(text)
        assert not re.search(r"<(form|input|img|script|a)\b", page), (text, page)
    assert "safe_markdown failed" not in caplog.text
