"""Frames to a video: Debian's ffmpeg makes an H.264 MP4 (it plays in PowerPoint, Keynote, every
browser); without ffmpeg, Pillow makes an animated GIF. Playwright's own video recording is not
used: it needs an ffmpeg build of Playwright's that is downloaded separately, which fails offline.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hackkit.errors import HackkitError

FPS = 10
ENCODE_TIMEOUT = 300.0


@dataclass
class Shown:
    """One picture of the video and how long it stays on screen."""

    path: Path
    seconds: float


def assemble(frames: list[Shown], folder: Path) -> tuple[Path, str]:
    """``demo.mp4`` (ffmpeg) or ``demo.gif`` (Pillow) in ``folder``; the path and which tool made it."""
    if not frames:
        raise HackkitError("No frames were recorded, so there is no video to make.")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        return _mp4(ffmpeg, frames, folder / "demo.mp4"), "ffmpeg"
    return _gif(frames, folder / "demo.gif"), "pillow"


def _mp4(ffmpeg: str, frames: list[Shown], path: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="hackkit-video-") as scratch:
        listing = Path(scratch) / "frames.txt"
        lines = ["ffconcat version 1.0"]
        for frame in frames:
            lines += [f"file '{frame.path.resolve()}'", f"duration {frame.seconds:.3f}"]
        lines.append(f"file '{frames[-1].path.resolve()}'")  # the concat demuxer drops the last duration otherwise
        listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
        command = [
            ffmpeg, "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(listing),
            "-vf", f"fps={FPS},scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-movflags", "+faststart",
            "-t", f"{sum(f.seconds for f in frames):.3f}", str(path),
        ]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=ENCODE_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise HackkitError(f"ffmpeg took more than {ENCODE_TIMEOUT:.0f} s to make the video.") from None
    if done.returncode or not path.is_file():
        raise HackkitError(f"ffmpeg could not make the video: {done.stderr.strip()[-500:]}")
    return path


def _gif(frames: list[Shown], path: Path) -> Path:
    from PIL import Image

    images = []
    for frame in frames:
        with Image.open(frame.path) as opened:
            images.append(opened.convert("RGB").resize((opened.width * 3 // 4, opened.height * 3 // 4)))
    durations = [round(frame.seconds * 1000) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=True)
    return path
