"""A Space's front matter: what the Hub accepts passes, what it refuses or ignores is named with the fix."""

from __future__ import annotations

import pytest
import yaml

from hackkit.deploy.errors import FrontMatterError
from hackkit.deploy.frontmatter import FrontMatter, check, problems, short_description


def good(**changes: object) -> FrontMatter:
    matter = FrontMatter(
        title="Study buddy",
        sdk="gradio",
        short_description="Answers questions about our documents.",
        sdk_version="6.31.0",
        python_version="3.11",
        app_file="app.py",
        suggested_hardware="cpu-basic",
    )
    for key, value in changes.items():
        setattr(matter, key, value)
    return matter


def test_a_good_gradio_front_matter_passes_and_renders_as_yaml_between_dashes() -> None:
    matter = good()
    check(matter, {"app.py", "README.md"})
    text = matter.render()
    assert text.startswith("---\n") and text.endswith("---\n")
    data = yaml.safe_load(text.strip("-\n"))
    assert data["sdk"] == "gradio" and data["sdk_version"] == "6.31.0" and data["app_file"] == "app.py"
    assert data["short_description"] == "Answers questions about our documents."
    assert "app_port" not in data  # unset keys are left out


def test_docker_with_an_app_port_and_static_pass() -> None:
    check(good(sdk="docker", sdk_version=None, python_version=None, app_file=None, app_port=8501))
    check(good(sdk="static", sdk_version=None, python_version=None, app_file="index.html"), {"index.html"})
    check(good(emoji="👩‍💻"))
    check(good(emoji="❤️"))


def test_a_61_character_description_is_refused_and_60_passes() -> None:
    check(good(short_description="x" * 60))
    (problem,) = problems(good(short_description="x" * 61))
    assert "61 characters" in problem and "at most 60" in problem
    with pytest.raises(FrontMatterError) as raised:
        check(good(short_description="x" * 61))
    assert "spaces-config-reference" in (raised.value.hint or "")


def test_an_unknown_sdk_is_refused_and_streamlit_is_told_to_go_as_docker() -> None:
    (problem,) = problems(good(sdk="flask", sdk_version=None))
    assert "'flask' is not one of gradio, docker, static" in problem
    (problem,) = problems(good(sdk="streamlit", sdk_version=None))
    assert "deprecated" in problem and "'docker' on port 8501" in problem


def test_a_hex_colour_is_refused_with_the_named_ones() -> None:
    (problem,) = problems(good(colorFrom="#ff0000"))
    assert "colorFrom '#ff0000'" in problem and "hex colours are not accepted" in problem and "indigo" in problem


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"sdk_version": None}, "needs sdk_version"),
        ({"app_port": 7860}, "app_port is for sdk 'docker' only"),
        ({"python_version": "3"}, "python_version '3'"),
        ({"emoji": "rocket"}, "not a single emoji"),
        ({"emoji": "🚀🚀🚀🚀🚀"}, "not a single emoji"),
        ({"suggested_hardware": "h100"}, "not a Spaces flavour"),
        ({"short_description": "two\nlines"}, "one line"),
        ({"title": ""}, "title must be"),
    ],
)
def test_each_other_mistake_is_named(changes: dict[str, object], says: str) -> None:
    assert any(says in problem for problem in problems(good(**changes)))


def test_an_app_file_missing_from_the_bundle_is_refused() -> None:
    (problem,) = problems(good(app_file="main.py"), {"app.py", "README.md"})
    assert "main.py" in problem and "NO_APP_FILE" in problem


def test_a_long_description_is_cut_at_a_word_to_fit() -> None:
    text = "Answers every question about the hackathon's rules, schedule and judging, with numbered sources."
    cut = short_description(text)
    assert len(cut) <= 60 and cut.endswith("…") and text.startswith(cut[:-1])
    assert short_description("Short and sweet.") == "Short and sweet."
