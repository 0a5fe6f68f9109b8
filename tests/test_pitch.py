"""``hackkit pitch`` on the sample project (``hackkit new``): every format, opened and checked.

One project is rendered and built once for the module: documents ingested (the fake provider's hash
embeddings, so no model loads), calls made through the client so the ledger has rows, a deployed
URL in ``.hackkit/deploy.json``, a screenshot. LibreOffice converts the PPTX to PDF once; PNG pages
come from that PDF. With CI=true a missing LibreOffice fails the tests rather than skipping them.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import statistics
from pathlib import Path

import pytest
from click.testing import CliRunner

from hackkit import project as projects
from hackkit.cli import cli
from hackkit.config import load_settings
from hackkit.llm import Client
from hackkit.llm.ledger import Ledger

DEPLOYED = "https://huggingface.co/spaces/team-owl/duck-helper"
TITLES = ["Duck Helper", "The problem", "Our solution", "Live demo", "How it works", "Results", "Next steps", "Our ask"]
STORY = {
    "problem": "Hackathon teams lose an hour a day hunting through schedules, FAQs and judging rules.",
    "who": "the 300 participants and 40 mentors of a weekend hackathon",
    "solution": "Duck Helper answers any question about the event in seconds, with the document that backs it.",
    "next_steps": ["Answer in French and German.", "Push schedule changes to every phone."],
    "ask": "We are looking for two events to pilot it next month.",
}


def require_tool(command: str, package: str) -> None:
    """Skip without ``command``; under CI=true fail instead (``.ci/run`` installs ``package``)."""
    if shutil.which(command) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{command} is missing: .ci/run installs it with apt-get install -y {package}")
        pytest.skip(f"{command} is not installed (apt-get install -y {package})")


def write_story(root: Path, **story: object) -> None:
    """Set fields of the project's pitch.yaml as a team would, by editing the file."""
    import yaml

    path = root / "pitch" / "pitch.yaml"
    text = path.read_text()
    for key, value in story.items():
        rendered = yaml.safe_dump({key: value}, allow_unicode=True, width=1000).strip()
        empty = f'{key}: ""' if isinstance(value, str) else f"{key}: []"
        text = text.replace(empty, rendered) if empty in text else text + rendered + "\n"  # a commented-out key
    path.write_text(text)


def make_sample(folder: Path, *, calls: bool = True) -> Path:
    """The sample project `make demo` makes, with its documents ingested and (``calls``) a filled ledger."""
    answers = {"project_name": "Duck Helper", "author": "Team Owl", "ui": "gradio", "rag": True}
    answers |= {"provider": "mistral", "license": "mit", "description": "Answers questions about our documents."}
    root = projects.create(answers, folder, git=False).path
    toml = root / "hackkit.toml"
    toml.write_text(toml.read_text().replace("[rag]\n", '[rag]\nembedding_model = "fake/embed"\n'))
    write_story(root, **STORY)
    from hackkit.rag.index import Index
    from hackkit.rag.indexing import ingest

    settings = load_settings(root)
    with Client(settings) as client:
        index = Index(settings, client=client)
        ingest([root / "data"], index=index)
        index.close()
    if calls:
        with Client(load_settings(root, llm__model="fake/echo")) as client:
            for question in ("When is lunch?", "How are projects judged?", "When does hacking stop?"):
                client.chat(question)
            for question in ("Where is room B12?", "Who are the judges?"):
                client.chat(question, model="fake/other")
    return root


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_sample(tmp_path_factory.mktemp("pitch"))
    (root / ".hackkit" / "deploy.json").write_text(
        json.dumps({"target": "spaces", "url": DEPLOYED, "deployed_at": "2026-11-30T12:00:00Z"})
    )
    screenshot(root / "pitch" / "screenshot.png")
    return root


def screenshot(path: Path) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1280, 720), "#f4f6fb")
    ImageDraw.Draw(image).rectangle((40, 40, 1240, 680), outline="#1d3557", width=8)
    image.save(path)


@pytest.fixture(scope="module")
def built(sample: Path):
    require_tool("soffice", "libreoffice-impress")
    from hackkit.pitch import build

    return build(sample, ["all"])


@pytest.fixture(scope="module")
def presentation(built):
    from pptx import Presentation

    return Presentation(str(built.files["pptx"][0]))


def shape(slide, name: str):
    found = [s for s in slide.shapes if s.name == name]
    assert found, f"no shape {name!r} on the slide: {[s.name for s in slide.shapes]}"
    return found[0]


def text_of(slide, name: str) -> str:
    return "\n".join(s.text_frame.text for s in slide.shapes if s.name == name)


def decode_qr(image_bytes: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    return [code.text for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(image_bytes)))]


def test_every_format_is_made_here(built):
    assert set(built.files) == {"pptx", "marp", "html", "pdf", "png"}
    assert built.skipped == {}
    out = built.out
    for name in ("deck.pptx", "deck.md", "index.html", "deck.pdf"):
        assert (out / name).stat().st_size > 1000, name
    assert [p.name for p in built.files["png"]] == [f"slide-{n:02d}.png" for n in range(1, 9)]


def test_the_pptx_has_a_title_slide_and_the_story_in_order(presentation):
    titles = [shape(slide, "Title").text_frame.text for slide in presentation.slides]
    assert titles == TITLES
    body = {t: text_of(s, "Body") for t, s in zip(titles, presentation.slides, strict=True)}
    assert STORY["problem"] in body["The problem"] and STORY["who"] in body["The problem"]
    assert body["Next steps"].splitlines() == STORY["next_steps"]
    assert "Team Owl" in body["Duck Helper"]


def test_every_slide_has_speaker_notes_with_what_to_say(presentation):
    notes = [slide.notes_slide.notes_text_frame.text for slide in presentation.slides]
    assert all(len(text.split()) >= 5 for text in notes)
    assert notes[0].startswith("Hello, we are Team Owl. This is Duck Helper")
    assert STORY["problem"] in notes[1]
    assert "mistral/mistral-small-latest (hackkit.toml [llm] model)" in notes[4]  # a fact and its source
    assert "backup video" in notes[3]  # none recorded yet: the notes say how to make one


def test_the_qr_code_opens_the_deployed_app(presentation):
    demo = presentation.slides[3]
    assert decode_qr(shape(demo, "QR code").image.blob) == [DEPLOYED]
    assert shape(demo, "Demo URL").text_frame.text == DEPLOYED
    assert "deploy.json" in shape(demo, "Footnote").text_frame.text  # where the URL came from
    assert decode_qr(shape(presentation.slides[7], "QR code").image.blob) == [DEPLOYED]  # again on the last slide


def test_the_charts_are_native_and_hold_the_ledgers_numbers(presentation, sample):
    ledger = Ledger(sample / ".hackkit" / "ledger.sqlite")
    usage = {row["model"]: row["calls"] for row in ledger.usage(by="model")}
    latencies: dict[str, list[float]] = {}
    for row in ledger.recent(1000):
        latencies.setdefault(row["model"], []).append(row["latency_ms"])
    ledger.close()
    assert usage["fake/echo"] == 3 and usage["fake/other"] == 2  # the calls this module made
    results = presentation.slides[5]
    calls = shape(results, "Chart: Calls per model").chart
    assert calls.chart_type is not None  # a chart PowerPoint can edit, not a picture
    assert dict(zip(calls.plots[0].categories, calls.plots[0].series[0].values, strict=True)) == usage
    latency = shape(results, "Chart: Median latency per model").chart.plots[0]
    medians = {m: round(statistics.median(v), 2) for m, v in latencies.items()}
    assert dict(zip(latency.categories, latency.series[0].values, strict=True)) == medians
    assert f"{sum(usage.values())} calls to {len(usage)} models" in shape(results, "Body").text_frame.text


def test_the_architecture_is_drawn_from_the_configuration(presentation):
    slide = presentation.slides[4]
    nodes = {s.name.removeprefix("Node: "): s for s in slide.shapes if s.name.startswith("Node: ")}
    models = {"mistral/mistral-small-latest", "local/smollm2"}  # [llm] model and its fallback
    assert set(nodes) == {"Gradio app", "hackkit", *models, "RAG store (Chroma)"}
    assert "3 documents" in nodes["RAG store (Chroma)"].text_frame.text  # from the manifest, not the template
    arrows = [s for s in slide.shapes if s.name.startswith("Arrow: ")]
    ends = {(a.name.split(": ")[1]) for a in arrows}
    assert ends == {f"hackkit -> {n}" for n in set(nodes) - {"Gradio app", "hackkit"}} | {"Gradio app -> hackkit"}
    for arrow in arrows:  # glued to the boxes, so moving a box in PowerPoint moves its arrows
        xml = arrow._element.xml
        assert "a:stCxn" in xml and "a:endCxn" in xml


def test_the_apps_screenshot_is_on_the_solution_slide(presentation, sample):
    picture = shape(presentation.slides[2], "Screenshot")
    assert picture.image.blob == (sample / "pitch" / "screenshot.png").read_bytes()


def test_libreoffice_pdf_and_png_pages_have_one_page_per_slide(built):
    from PIL import Image
    from pypdf import PdfReader

    assert len(PdfReader(str(built.files["pdf"][0])).pages) == len(TITLES)
    pages = built.files["png"]
    with Image.open(pages[0]) as first:
        assert first.size == (1600, 900)
    assert decode_qr(pages[3].read_bytes()) == [DEPLOYED]  # the QR code still scans after LibreOffice drew it


def test_marp_markdown_has_every_slide_notes_and_its_pictures(built):
    deck = built.out / "deck.md"
    text = deck.read_text()
    front, *slides = text.split("\n---\n")
    assert front.startswith("---\nmarp: true")
    assert len(slides) == len(TITLES)
    assert all("<!--\n" in slide for slide in slides)  # Marp's presenter notes
    assert "## How it works" in slides[4] and "assets/architecture.svg" in slides[4]
    assert decode_qr((built.out / "assets" / "demo-qr.png").read_bytes()) == [DEPLOYED]
    for path in built.files["marp"]:
        assert path.is_file()


def test_the_team_colours_are_used(sample, tmp_path):
    from pptx import Presentation

    from hackkit.pitch import build

    copy = tmp_path / "colours"
    shutil.copytree(sample, copy)
    spec = copy / "pitch" / "pitch.yaml"
    spec.write_text(spec.read_text() + 'colors: {primary: "#0b6e4f", accent: "#f2a541"}\n')
    deck = Presentation(str(build(copy, ["pptx"]).files["pptx"][0]))
    title = shape(deck.slides[1], "Title").text_frame.paragraphs[0].runs[0]
    assert str(title.font.color.rgb) == "0B6E4F"
    assert str(shape(deck.slides[1], "Accent").fill.fore_color.rgb) == "F2A541"


def test_all_says_what_it_skipped_and_an_explicit_pdf_names_the_package(sample, tmp_path, monkeypatch):
    from hackkit.pitch import build

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no soffice, no chromium, no pdftoppm
    monkeypatch.chdir(sample)
    made = build(sample, ["all"], tmp_path / "all")
    assert set(made.files) == {"pptx", "marp", "html"}
    assert set(made.skipped) == {"pdf", "png"} and "libreoffice-impress" in made.skipped["pdf"]
    result = CliRunner().invoke(cli, ["pitch", "--format", "pdf", "--out", str(tmp_path / "pdf")])
    assert result.exit_code == 1
    assert "libreoffice-impress" in result.output
    assert not (tmp_path / "pdf").exists()  # failed before writing anything


@pytest.mark.browser
def test_the_html_deck_is_self_contained_and_no_text_runs_off_a_slide(built, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(built.out.joinpath("index.html").as_uri())
    assert page.locator("section.slide").count() == len(TITLES)
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('section.slide .box')]
             .filter(box => box.scrollHeight > box.clientHeight + 1 || box.scrollWidth > box.clientWidth + 1)
             .map(box => box.closest('section').id + ': ' + box.innerText.slice(0, 60))"""
    )
    assert overflowing == []
    assert page.locator("section.slide.current h1").inner_text() == "Duck Helper"
    page.keyboard.press("ArrowRight")
    assert page.locator("section.slide.current h1").inner_text() == "The problem"
    assert page.locator("section.slide.current aside.notes").inner_text().startswith(STORY["problem"][:40])
    qr = page.locator("#slide-4 img.qr").get_attribute("src")
    page.close()
    assert {url.split(":", 1)[0] for url in requests} <= {"file", "data"}  # nothing from any other origin
    assert qr is not None and decode_qr(base64.b64decode(qr.split(",", 1)[1])) == [DEPLOYED]
