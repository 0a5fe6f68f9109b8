"""PDF and PNG pages: LibreOffice headless converts the PPTX (what the team will present), else
Chromium prints the HTML deck; PNG pages are rendered from the PDF with pypdfium2 (the pitch extra)
or Poppler's ``pdftoppm``. Each converter is found on this machine or reported as missing with the
package that provides it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from hackkit.errors import HackkitError, MissingDependencyError

SOFFICE = ("soffice", "libreoffice")
CHROMIUM = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CONVERT_TIMEOUT = 180.0
PNG_WIDTH = 1600  # pixels per page: sharp on a projector, small enough to mail
INSTALL_PDF = "apt-get install libreoffice-impress (or chromium), then run hackkit pitch again"
INSTALL_PNG = "pip install 'hackkit-llm[pitch]' (pypdfium2), or apt-get install poppler-utils (pdftoppm)"


def which(names: tuple[str, ...]) -> str | None:
    return next((found for name in names if (found := shutil.which(name))), None)


def pdf_converter() -> str | None:
    """What would make the PDF here: ``libreoffice``, ``chromium``, or None."""
    if which(SOFFICE):
        return "libreoffice"
    return "chromium" if which(CHROMIUM) else None


def png_renderer() -> str | None:
    import importlib.util

    if importlib.util.find_spec("pypdfium2") is not None:
        return "pypdfium2"
    return "pdftoppm" if shutil.which("pdftoppm") else None


def make_pdf(pptx: Path | None, html: Path | None, out: Path) -> Path:
    """``out`` from the PPTX through LibreOffice, else from the HTML deck through Chromium."""
    soffice, chromium = which(SOFFICE), which(CHROMIUM)
    if soffice and pptx is not None:
        return _soffice_pdf(soffice, pptx, out)
    if chromium and html is not None:
        return _chromium_pdf(chromium, html, out)
    raise MissingDependencyError("A PDF converter (LibreOffice or Chromium)", INSTALL_PDF)


def _soffice_pdf(soffice: str, pptx: Path, out: Path) -> Path:
    # A profile of its own: a LibreOffice already open on this machine would otherwise take the job and drop it.
    with tempfile.TemporaryDirectory(prefix="hackkit-soffice-") as profile, tempfile.TemporaryDirectory() as target:
        command = [
            soffice,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            target,
            str(pptx),
        ]
        _run(command, "LibreOffice")
        made = Path(target) / (pptx.stem + ".pdf")
        if not made.is_file():
            raise HackkitError(f"LibreOffice made no PDF from {pptx}.", hint="open the PPTX in Impress to see why")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(made), out)
    return out


def _chromium_pdf(chromium: str, html: Path, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hackkit-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            html.resolve().as_uri(),
        ]
        _run(command, "Chromium")
    if not out.is_file():
        raise HackkitError(f"Chromium made no PDF from {html}.", hint="open the HTML deck in a browser to see why")
    return out


def _run(command: list[str], tool: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CONVERT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise HackkitError(
            f"{tool} took more than {CONVERT_TIMEOUT:.0f} s to convert the deck.",
            hint="close other LibreOffice windows and run hackkit pitch again",
        ) from None
    if done.returncode:
        raise HackkitError(f"{tool} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-500:]}")


def make_pngs(pdf: Path, folder: Path, stem: str = "slide") -> list[Path]:
    """One PNG per page of ``pdf``: ``slide-01.png``... (old pages from a longer deck are removed)."""
    renderer = png_renderer()
    if renderer is None:
        raise MissingDependencyError("A PDF rasteriser (pypdfium2 or pdftoppm)", INSTALL_PNG)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{stem}-*.png"):
        old.unlink()
    return _pdfium_pngs(pdf, folder, stem) if renderer == "pypdfium2" else _poppler_pngs(pdf, folder, stem)


def _pdfium_pngs(pdf: Path, folder: Path, stem: str) -> list[Path]:
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    paths = []
    try:
        for n in range(len(document)):
            page = document[n]
            image = page.render(scale=PNG_WIDTH / page.get_width()).to_pil()
            path = folder / f"{stem}-{n + 1:02d}.png"
            image.save(path)
            paths.append(path)
    finally:
        document.close()
    return paths


def _poppler_pngs(pdf: Path, folder: Path, stem: str) -> list[Path]:
    _run(
        ["pdftoppm", "-png", "-scale-to-x", str(PNG_WIDTH), "-scale-to-y", "-1", str(pdf), str(folder / stem)],
        "pdftoppm",
    )
    made = sorted(folder.glob(f"{stem}-*.png"))
    width = len(str(len(made)))
    renamed = []
    for path in made:  # pdftoppm pads to the page count's width: make it the same as pypdfium2's
        number = int(path.stem.rsplit("-", 1)[1])
        target = folder / f"{stem}-{number:02d}.png"
        if width and target != path:
            path.rename(target)
        renamed.append(target)
    return sorted(renamed)
