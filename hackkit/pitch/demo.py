"""``hackkit pitch demo``: the backup demo, recorded by driving the real app in Chromium.

Playwright (with the system's Chromium) opens the app at ``--url``, or one it starts itself
(:mod:`hackkit.pitch.served`), shows each step of ``demo`` in a caption, types each question (a
"quoted" question in a step, then the ``[ui] examples``), waits until the answer stops changing, and
takes a screenshot at each moment. The screenshots go into ``pitch/demo/`` (``frame-01.png``...,
``screenshot.png`` for the deck), ``demo.json`` says what each shows, and :mod:`hackkit.pitch.video`
turns them into ``demo.mp4``.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hackkit.errors import HackkitError, MissingDependencyError
from hackkit.pitch.convert import CHROMIUM, which
from hackkit.pitch.facts import DEMO_DIR, ui_backend
from hackkit.pitch.render_pptx import INSTALL_PITCH
from hackkit.pitch.video import Shown, assemble

VIEWPORT = {"width": 1280, "height": 720}
QUESTION_BOXES = {"gradio": "#question textarea", "streamlit": '[data-testid="stChatInputTextArea"]'}
ANSWERS = {"gradio": '#chatbot [data-testid="bot"]', "streamlit": '[data-testid="stChatMessage"]'}
MAX_QUESTIONS = 3
PAGE_TIMEOUT_MS = 90_000
ANSWER_TIMEOUT = 240.0  # seconds: the small local model on two cores is slow
SETTLED = 1.5  # seconds an answer must stay the same to count as finished
SECONDS = {"title": 3.0, "step": 3.0, "typed": 1.5, "answer": 5.0}
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUOTED = re.compile(r"[\"“]([^\"”]{3,200})[\"”]")
CAPTION_SCRIPT = """text => {
  let bar = document.getElementById('hackkit-caption');
  if (!bar) {
    bar = document.createElement('div');
    bar.id = 'hackkit-caption';
    bar.style.cssText = 'position:fixed;left:0;right:0;bottom:0;z-index:2147483647;padding:14px 28px;' +
      'background:rgba(17,24,39,.88);color:#fff;font:600 22px Arial,sans-serif;pointer-events:none';
    document.body.appendChild(bar);
  }
  bar.textContent = text;
  bar.style.display = text ? 'block' : 'none';
}"""


@dataclass
class Frame:
    file: str
    kind: str  # title, step, typed, answer
    caption: str
    seconds: float
    question: str | None = None
    answer: str | None = None  # the answer's text on the page when the screenshot was taken
    at: float = 0.0  # when it starts in the video, in seconds


@dataclass
class Recording:
    folder: Path
    url: str
    started_app: bool
    frames: list[Frame] = field(default_factory=list)
    video: Path | None = None
    assembled_with: str = ""

    @property
    def duration(self) -> float:
        return sum(f.seconds for f in self.frames)

    @property
    def answers(self) -> list[Frame]:
        return [f for f in self.frames if f.kind == "answer"]


def questions_for(steps: list[str], examples: list[str]) -> list[str]:
    """The questions to ask: each "quoted" one in the demo's steps, then the app's examples; at most three."""
    found = [q.strip() for step in steps for q in QUOTED.findall(step)]
    return list(dict.fromkeys([*found, *examples]))[:MAX_QUESTIONS]


def record_demo(project: Path, url: str | None = None, out: Path | None = None) -> Recording:
    """Record the backup demo of the project at ``project`` into ``out`` (default pitch/demo/)."""
    from hackkit.config import load_settings
    from hackkit.pitch.spec import load_spec

    spec, settings = load_spec(project), load_settings(project)
    questions = questions_for(spec.demo, settings.ui.examples)
    if not questions:
        raise HackkitError(
            "There is no question to ask in the demo.",
            hint='put one in "double quotes" in a step of demo in pitch/pitch.yaml, or add [ui] examples',
        )
    folder = out or project / DEMO_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("frame-*.png"):
        old.unlink()
    with _app(project, url) as (address, started):
        recording = Recording(folder, address, started)
        with _browser() as browser:
            _drive(browser, recording, spec.title or settings.ui.title, spec.demo, questions)
    _finish(recording)
    return recording


@contextlib.contextmanager
def _app(project: Path, url: str | None) -> Iterator[tuple[str, bool]]:
    if url:
        yield url, False
        return
    from hackkit.pitch.served import served_app

    with served_app(project, ui_backend(project)) as address:
        yield address, True


@contextlib.contextmanager
def _browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise MissingDependencyError("playwright", INSTALL_PITCH) from None
    chromium = which(CHROMIUM)
    if chromium is None:
        raise MissingDependencyError("Chromium", "apt-get install chromium (Playwright's own download is not needed)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _drive(browser: Any, recording: Recording, title: str, steps: list[str], questions: list[str]) -> None:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(recording.url, wait_until="domcontentloaded")  # Gradio pages never reach "networkidle"
        backend = _backend(page)
        _shoot(page, recording, "title", f"{title}: the demo")
        remaining = list(questions)
        for n, step in enumerate(steps, start=1):
            _shoot(page, recording, "step", f"Step {n}: {step}")
            for question in [q for q in remaining if q in QUOTED.findall(step)]:
                _ask(page, backend, recording, question)
                remaining.remove(question)
        for question in remaining:
            _ask(page, backend, recording, question)
    finally:
        context.close()


def _backend(page: Any) -> str:
    """Which app this is: the first whose question box appears."""
    selector = ", ".join(QUESTION_BOXES.values())
    try:
        page.locator(selector).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    except Exception as exc:  # Playwright's TimeoutError: the page is not a hackkit demo app
        raise HackkitError(
            f"No question box appeared on {page.url} within {PAGE_TIMEOUT_MS // 1000} s.",
            hint="pass --url of a hackkit demo app (hackkit ui), or let hackkit pitch demo start it",
        ) from exc
    return next(name for name, box in QUESTION_BOXES.items() if page.locator(box).count())


def _ask(page: Any, backend: str, recording: Recording, question: str) -> None:
    answers = page.locator(ANSWERS[backend])
    before = answers.count()
    box = page.locator(QUESTION_BOXES[backend]).first
    box.fill(question)
    _shoot(page, recording, "typed", f"Asking: {question}", question=question)
    box.press("Enter")
    answer = _wait_for_answer(answers, before)
    answers.last.scroll_into_view_if_needed()
    _shoot(page, recording, "answer", f"Answered: {question}", question=question, answer=answer)


def _wait_for_answer(answers: Any, before: int) -> str:
    """The newest answer's text once it has stopped changing for SETTLED seconds."""
    deadline = time.monotonic() + ANSWER_TIMEOUT
    text, since = "", time.monotonic()
    while time.monotonic() < deadline:
        current = answers.last.inner_text().strip() if answers.count() > before else ""
        if current != text:
            text, since = current, time.monotonic()
        elif text and time.monotonic() - since >= SETTLED:
            return text
        time.sleep(0.25)
    raise HackkitError(
        f"No answer appeared within {ANSWER_TIMEOUT:.0f} s.",
        hint='check that the app answers (hackkit chat "hello"); a key in .env makes it faster than the local model',
    )


def _shoot(page: Any, recording: Recording, kind: str, caption: str, **details: Any) -> None:
    page.evaluate(CAPTION_SCRIPT, caption)
    name = f"frame-{len(recording.frames) + 1:02d}.png"
    page.screenshot(path=str(recording.folder / name))
    seconds = SECONDS[kind]
    recording.frames.append(Frame(name, kind, caption, seconds, at=recording.duration, **details))


def _finish(recording: Recording) -> None:
    folder = recording.folder
    shown = [Shown(folder / f.file, f.seconds) for f in recording.frames]
    for old in (folder / "demo.mp4", folder / "demo.gif"):
        old.unlink(missing_ok=True)
    recording.video, recording.assembled_with = assemble(shown, folder)
    if recording.answers:
        shutil.copyfile(folder / recording.answers[0].file, folder / "screenshot.png")
    manifest = {
        "url": recording.url,
        "video": recording.video.name,
        "assembled_with": recording.assembled_with,
        "duration": recording.duration,
        "frames": [asdict(f) for f in recording.frames],
    }
    (folder / "demo.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
