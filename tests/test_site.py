"""The documentation site: it builds under --strict, every page is in the navigation, every link and
image inside it resolves, nothing is fetched from elsewhere when a page is viewed, and the generated
references (configuration, troubleshooting) match the code they come from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
import gen_config  # noqa: E402
import gen_errors  # noqa: E402
import gen_recipes  # noqa: E402

sys.path.pop(0)


class Page(HTMLParser):
    """The links, assets and element ids of one built HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.assets: list[str] = []
        self.nav_links: list[str] = []
        self.images: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if "id" in found:
            self.ids.add(found["id"])
        if tag == "a" and "href" in found:
            self.links.append(found["href"])
            if "md-nav__link" in found.get("class", ""):
                self.nav_links.append(found["href"])
        elif tag in ("img", "script", "source", "iframe") and found.get("src"):
            self.assets.append(found["src"])
            if tag == "img":
                self.images.append(found["src"])
        elif tag == "link" and found.get("href") and found.get("rel") not in ("canonical", "alternate"):
            self.assets.append(found["href"])


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text())
    return page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)]
    result = subprocess.run(build, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def html_pages(site: Path) -> list[Path]:
    skipped = {"404.html"}
    return sorted(p for p in site.rglob("*.html") if p.name not in skipped and "assets" not in p.parts)


def target_file(site: Path, page: Path, href: str) -> tuple[Path, str]:
    """The built file a relative link on ``page`` reaches, and its #fragment."""
    page_url = "/" + page.relative_to(site).as_posix()
    parts = urlsplit(urljoin(page_url, href))
    path = site / unquote(parts.path).lstrip("/")
    return (path / "index.html" if parts.path.endswith("/") else path), parts.fragment


def is_external(href: str) -> bool:
    return bool(urlsplit(href).scheme) or href.startswith("//")


def nav_pages(entries: list) -> list[str]:
    """The source files a piece of mkdocs.yml's nav lists, sections walked into."""
    found = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        found += nav_pages(value) if isinstance(value, list) else [value]
    return found


def nav_section(title: str) -> list[str]:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    (section,) = [entry[title] for entry in config["nav"] if isinstance(entry, dict) and title in entry]
    return nav_pages(section)


def built_page(site: Path, source: str) -> Path:
    """Where a nav entry's page is in the built site (use_directory_urls)."""
    name = source.removesuffix(".md")
    if name.endswith(("README", "index")):
        name = name.rpartition("/")[0]
    return site / name / "index.html" if name else site / "index.html"


def test_every_doc_page_and_recipe_is_in_the_nav():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    in_nav = set(nav_pages(config["nav"]))
    sources = {p.name for p in (ROOT / "docs").glob("*.md")}
    recipes = {"recipes/" + p.relative_to(gen_recipes.RECIPES).as_posix() for p in gen_recipes.recipe_files()}
    missing = sorted((sources | {r for r in recipes if r.endswith(".md")}) - in_nav)
    assert not missing, f"add these to mkdocs.yml's nav: {missing}"


def test_every_built_page_is_reachable_from_the_navigation(site):
    home = site / "index.html"
    reached = {target_file(site, home, href)[0] for href in parse(home).nav_links if not is_external(href)}
    unreached = [str(p.relative_to(site)) for p in html_pages(site) if p not in reached]
    assert not unreached, f"pages no navigation link reaches: {unreached}"
    assert len(html_pages(site)) >= 20


def test_every_internal_link_and_image_resolves(site):
    broken = []
    parsed = {page: parse(page) for page in html_pages(site)}
    for page, content in parsed.items():
        for href in content.links + content.assets:
            if is_external(href) or href.startswith(("mailto:", "data:")):
                continue
            target, fragment = target_file(site, page, href)
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {href} (no {target.relative_to(site)})")
            elif fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else parse(target).ids
                if fragment not in ids:
                    broken.append(f"{page.relative_to(site)}: {href} (no #{fragment} there)")
    assert not broken, "\n".join(broken)


def test_images_in_the_docs_are_in_the_site(site):
    images = sorted((ROOT / "docs" / "images").iterdir())
    shown = {
        target_file(site, page, src)[0].name
        for page in html_pages(site)
        for src in parse(page).assets
        if not is_external(src)
    }
    assert images, "docs/images/ holds the screenshots"
    assert {image.name for image in images} <= shown, "an image in docs/images/ is on no page"


# The concept pages beyond the nav's Concepts section (the gateway is under Mentors).
CONCEPT_PAGES = ["gateway.md"]
IMAGE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".webp")


def test_every_concepts_page_shows_a_picture(site):
    pages = nav_section("Concepts") + CONCEPT_PAGES
    assert {"client.md", "rag.md", "ui.md", "finetune.md", "deploy.md", "pitch.md"} <= set(pages)
    without = []
    for source in pages:
        page = built_page(site, source)
        shown = [target_file(site, page, src)[0] for src in parse(page).images if not is_external(src)]
        if not any(image.is_file() and image.suffix in IMAGE_SUFFIXES for image in shown):
            without.append(source)
    assert not without, f"concepts pages with no picture (a diagram in docs/images/, or a screenshot): {without}"


def test_nothing_is_fetched_from_elsewhere_when_a_page_is_viewed(site):
    pages = {page.relative_to(site): parse(page) for page in html_pages(site)}
    external = {f"{name}: {src}" for name, page in pages.items() for src in page.assets if is_external(src)}
    assert not external, sorted(external)
    assert (site / "search" / "search_index.json").is_file()  # search runs from the site's own index


def test_a_recipe_is_in_the_site_with_its_links_to_docs_working(site):
    recipe = site / "recipes" / "index.html"
    assert "Runnable recipes" in recipe.read_text()
    hrefs = [href for href in parse(recipe).links if "roadmap" in href]
    assert hrefs and all(target_file(site, recipe, href)[0] == site / "roadmap" / "index.html" for href in hrefs)


def test_recipe_links_into_docs_are_rewritten_and_others_kept(tmp_path):
    recipes, docs = tmp_path / "recipes", tmp_path / "docs"
    (recipes / "lora").mkdir(parents=True)
    docs.mkdir()
    (docs / "rag.md").write_text("# RAG\n")
    page = recipes / "lora" / "README.md"
    page.write_text("[rag](../../docs/rag.md#chunks) [config](recipe.yaml) [web](https://example.org/x.md)\n")
    text = gen_recipes.site_text(page, recipes, docs)
    assert text == "[rag](../../rag.md#chunks) [config](recipe.yaml) [web](https://example.org/x.md)\n"


def test_configuration_reference_is_generated_from_the_schema():
    current = (ROOT / "docs" / "config-reference.md").read_text()
    assert current == gen_config.render(), "run `make docs-ref`"
    assert "| `top_k` | integer | `5` | at least 1 |" in current  # [rag] top_k, from the schema
    assert "`HACKKIT_UI_TRUST_PROXY`" in current


def test_troubleshooting_is_generated_from_the_errors():
    current = (ROOT / "docs" / "troubleshooting.md").read_text()
    assert current == gen_errors.render(), "run `make docs-ref`"


def test_an_error_a_user_sees_is_found_by_searching_the_site(site, tmp_path, monkeypatch):
    from hackkit.config import load_settings
    from hackkit.errors import ConfigError

    (tmp_path / "hackkit.toml").write_text("schema_version = 7\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(tmp_path)
    index = json.loads((site / "search" / "search_index.json").read_text())
    troubleshooting = " ".join(doc["text"] for doc in index["docs"] if doc["location"].startswith("troubleshooting/"))
    assert "this hackkit reads version" in raised.value.message
    assert "this hackkit reads version" in troubleshooting
    assert "upgrade hackkit" in raised.value.hint and "upgrade hackkit" in troubleshooting
