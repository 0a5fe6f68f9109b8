"""The wheelhouse folder's own files: an index page, checksums, a README and what each target lacks."""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path

from hackkit.wheelhouse.resolve import canonical

DISTRIBUTIONS = ("*.whl", "*.tar.gz", "*.zip")
STATE = "wheelhouse.json"


def distributions(folder: Path) -> list[Path]:
    return sorted(p for pattern in DISTRIBUTIONS for p in folder.glob(pattern))


def project_name(file: Path) -> str:
    """The canonical project name a wheel or source archive belongs to."""
    stem = file.name.removesuffix(".tar.gz").removesuffix(".zip")
    return canonical(stem.split("-")[0] if file.suffix == ".whl" else stem.rsplit("-", 1)[0])


def sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load_state(folder: Path) -> dict[str, dict[str, object]]:
    path = folder / STATE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_files(folder: Path, state: dict[str, dict[str, object]], requirements: list[str]) -> None:
    """Everything beside the wheels: rewritten from the folder's contents, so several targets can share it."""
    files = {file: sha256(file) for file in distributions(folder)}
    (folder / STATE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
    (folder / "SHA256SUMS").write_text("".join(f"{digest}  {file.name}\n" for file, digest in files.items()))
    (folder / "index.html").write_text(index_page(files), encoding="utf-8")
    (folder / "README.md").write_text(readme(state, len(files)), encoding="utf-8")


def index_page(files: dict[Path, str]) -> str:
    links = "\n".join(
        f'<li><a href="{html.escape(file.name)}#sha256={digest}">{html.escape(file.name)}</a></li>'
        for file, digest in files.items()
    )
    return f"<!DOCTYPE html>\n<html><head><title>wheelhouse</title></head><body><ul>\n{links}\n</ul></body></html>\n"


README = """# A wheelhouse: everything this project installs, with no internet

{count} files (checksums in SHA256SUMS: `sha256sum -c SHA256SUMS`). Install from this folder:

    python -m venv .venv && . .venv/bin/activate
    pip install --no-index --find-links . -r requirements.txt
    pip install --no-index --find-links . --no-deps {models}

or from the mentor's laptop, which serves this folder with `hackkit wheelhouse serve .`:

    pip install --index-url http://MENTOR:3141/simple/ -r requirements.txt
    pip install --index-url http://MENTOR:3141/simple/ --no-deps {models}

Then `hackkit new my-app` names hackkit by name in its requirements.txt, and this folder satisfies it.

## What is here, and what is not
{targets}
"""


def readme(state: dict[str, dict[str, object]], count: int) -> str:
    from hackkit.wheelhouse.project import OFFLINE_MODELS

    targets = []
    for name, entry in state.items():
        missing = entry.get("missing") or {}
        assert isinstance(missing, dict)
        lines = [f"- {package}: {reason}" for package, reason in missing.items()] or ["- nothing is missing"]
        targets.append(f"\n### {name}\n\n{entry.get('packages', 0)} packages.\n" + "\n".join(lines))
    return README.format(count=count, models=" ".join(OFFLINE_MODELS), targets="".join(targets))
