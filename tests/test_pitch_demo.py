"""``hackkit pitch demo``: the backup demo recorded against the sample app, then linked by the deck.

The recorder starts the app itself (``hackkit ui`` in the project, on a free port) with the
environment a team would give it: here ``HACKKIT_MODEL=fake/echo``, so answers arrive at once. The
fake model echoes what it was sent, so an answer on screen shows the question and its sources.
One recording is made for the module (about 40 s: the app's start-up, three questions, ffmpeg).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from test_pitch import make_sample, require_tool

from hackkit.pitch.demo import SECONDS

pytestmark = pytest.mark.browser
QUESTIONS = ["How long is each team's demo?", "How are projects judged?", "When does hacking stop?"]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory):
    from browser import require_chromium

    require_chromium()
    require_tool("ffmpeg", "ffmpeg")
    from hackkit.pitch.demo import record_demo

    root = make_sample(tmp_path_factory.mktemp("pitch-demo"), calls=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HACKKIT_MODEL", "fake/echo")  # the app the recorder starts inherits it
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield record_demo(root)


def duration(video: Path) -> float:
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(video)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(probe.stdout)


def frame_at(video: Path, seconds: float, path: Path):
    from PIL import Image

    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-ss", f"{seconds:.2f}", "-i", str(video), "-frames:v", "1", str(path)],
        check=True,
    )
    return Image.open(path).convert("L")


def difference(a, b) -> float:
    """Mean absolute difference of two greyscale pictures, 0 (same) to 255."""
    from PIL import ImageChops, ImageStat

    return ImageStat.Stat(ImageChops.difference(a, b.resize(a.size))).mean[0]


def test_the_demo_asks_the_quoted_question_then_the_apps_examples(recording):
    assert recording.started_app
    kinds = [frame.kind for frame in recording.frames]
    assert kinds == ["title", "step", "typed", "answer", "step", "step", "typed", "answer", "typed", "answer"]
    assert [frame.question for frame in recording.answers] == QUESTIONS
    manifest = json.loads((recording.folder / "demo.json").read_text())
    assert [f["file"] for f in manifest["frames"]] == [f"frame-{n:02d}.png" for n in range(1, 11)]


def test_the_video_lasts_as_long_as_its_frames(recording):
    assert recording.video == recording.folder / "demo.mp4" and recording.assembled_with == "ffmpeg"
    expected = sum(SECONDS[frame.kind] for frame in recording.frames)
    assert recording.duration == expected
    assert duration(recording.video) == pytest.approx(expected, abs=0.3)


def test_a_frame_of_the_video_shows_an_answer(recording, tmp_path):
    from PIL import Image

    first = recording.answers[0]
    assert "Question: How long is each team's demo?" in (first.answer or "")  # the app answered it (echoed)
    assert "[1] data/" in (first.answer or "")  # with the sources retrieval found
    answered = Image.open(recording.folder / first.file).convert("L")
    typed = Image.open(recording.folder / recording.frames[2].file).convert("L")
    shown = frame_at(recording.video, first.at + first.seconds / 2, tmp_path / "frame.png")
    assert difference(shown, answered) < 3  # the video shows the answer's screenshot (up to compression)
    assert difference(shown, typed) > 3 * difference(shown, answered)  # and not the page before the answer
    assert (recording.folder / "screenshot.png").read_bytes() == (recording.folder / first.file).read_bytes()


def test_the_app_it_started_is_stopped(recording):
    port = int(recording.url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_the_deck_links_the_video_and_shows_the_screenshot(recording, tmp_path):
    from pptx import Presentation

    from hackkit.pitch import build

    root = recording.folder.parent.parent
    made = build(root, ["pptx"], tmp_path / "out")
    assert (tmp_path / "out" / "demo.mp4").read_bytes() == recording.video.read_bytes()  # next to the deck
    deck = Presentation(str(made.files["pptx"][0]))
    demo = deck.slides[3]
    link = next(s for s in demo.shapes if s.name == "Backup video")
    assert link.text_frame.paragraphs[0].runs[0].hyperlink.address == "demo.mp4"
    assert "backup video (demo.mp4" in demo.notes_slide.notes_text_frame.text
    picture = next(s for s in deck.slides[2].shapes if s.name == "Screenshot")
    assert picture.image.blob == (root / "pitch" / "demo" / "screenshot.png").read_bytes()
    shutil.rmtree(tmp_path / "out")
