"""An MkDocs hook that puts every file of recipes/ in the site, under recipes/ (mkdocs.yml: hooks).

MkDocs builds only what is in docs/, and a link from docs/ to a file outside it is a warning under
``--strict``. So each recipe's README (and the config beside it) is added to the site as it is in
the repository, with the links it makes to pages of docs/ (``../docs/roadmap.md``) rewritten to where
those pages are in the site. A link to any other file outside recipes/ and docs/ stays as written,
and ``mkdocs build --strict`` names it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
DOCS = ROOT / "docs"
LINK = re.compile(r"(\]\()([^)\s#]+)([^)]*\))")


def recipe_files(recipes: Path = RECIPES) -> list[Path]:
    """Every file under recipes/, hidden files and caches left out."""
    return sorted(
        path
        for path in recipes.rglob("*")
        if path.is_file() and not any(part.startswith((".", "__")) for part in path.relative_to(recipes).parts)
    )


def site_text(path: Path, recipes: Path = RECIPES, docs: Path = DOCS) -> str:
    """A recipe page's Markdown, its links into docs/ pointing where those pages are in the site."""
    page_folder = docs / "recipes" / path.parent.relative_to(recipes)

    def relink(match: re.Match[str]) -> str:
        target = match.group(2)
        if "://" in target or target.startswith(("/", "mailto:")):
            return match.group(0)
        resolved = (path.parent / target).resolve()
        if not resolved.is_relative_to(docs.resolve()):
            return match.group(0)
        return match.group(1) + Path(os.path.relpath(resolved, page_folder)).as_posix() + match.group(3)

    return LINK.sub(relink, path.read_text())


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for path in recipe_files():
        uri = "recipes/" + path.relative_to(RECIPES).as_posix()
        content: str | bytes = site_text(path) if path.suffix == ".md" else path.read_bytes()
        files.append(File.generated(config, uri, content=content))
    return files


def docs_text(markdown: str, page: Path, recipes: Path = RECIPES, docs: Path = DOCS) -> str:
    """A docs page's Markdown, its links into recipes/ (``../recipes/x/README.md``) pointing into the site's copy."""

    def relink(match: re.Match[str]) -> str:
        target = match.group(2)
        if "://" in target or target.startswith(("/", "mailto:")):
            return match.group(0)
        resolved = (page.parent / target).resolve()
        if not resolved.is_relative_to(recipes.resolve()):
            return match.group(0)
        copied = docs / "recipes" / resolved.relative_to(recipes.resolve())
        return match.group(1) + Path(os.path.relpath(copied, page.parent)).as_posix() + match.group(3)

    return LINK.sub(relink, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.generated_by is not None:  # the recipes' own pages, relinked in on_files
        return markdown
    return docs_text(markdown, DOCS / page.file.src_uri)
