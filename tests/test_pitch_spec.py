"""pitch/pitch.yaml, the facts read from a project, the timing check and --draft: no converter, no browser.

Drafts come from the fake provider (``hackkit.testing.enqueue``), a real provider plugin, through
the client, as the configured model would write them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_pitch import STORY, make_sample, write_story

from hackkit import project as projects
from hackkit import testing
from hackkit.cli import cli
from hackkit.config import load_settings
from hackkit.pitch import PitchSpecError, check_timing, collect_facts, load_deck, load_spec
from hackkit.pitch.draft import draft
from hackkit.pitch.facts import demo_link
from hackkit.pitch.spec import parse_spec
from hackkit.project import template_dir
from hackkit.rag.store import Store


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample(tmp_path_factory.mktemp("pitch-spec"), calls=False)


@pytest.fixture
def project(sample: Path, tmp_path: Path) -> Path:
    """A fresh copy of the sample for a test that changes it."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(sample, copy)
    return copy


def invoke(root: Path, *args: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(root)
    return CliRunner().invoke(cli, ["pitch", *args])


# -- the outline -------------------------------------------------------------------------------


def test_the_template_writes_every_key_and_no_longer_says_not_built(tmp_path):
    answers = {"project_name": "Owl", "ui": "streamlit", "rag": False, "provider": "local", "license": "none"}
    root = projects.create({**answers, "description": "A chat.", "author": "Team Owl"}, tmp_path, git=False).path
    text = (root / "pitch" / "pitch.yaml").read_text()
    assert "not built yet" not in text
    data = yaml.safe_load(text)
    for key in ("title", "tagline", "team", "minutes", "problem", "solution", "demo", "how_it_works", "next_steps"):
        assert key in data
    spec = load_spec(root)
    assert spec.title == "Owl" and spec.team == "Team Owl" and spec.minutes == 5 and spec.track == "demo"
    assert spec.missing() == ["who", "problem", "solution", "next_steps", "ask"]  # for the team or --draft
    assert "Give me three names" in spec.demo[0]  # no RAG: the demo asks what this app can answer


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("minutes: five\n", ["`minutes`", "valid number"]),
        ("minutes: 90\n", ["`minutes`", "60"]),
        ("colours: {primary: '#000000'}\n", ["unknown key `colours`", "did you mean `colors`"]),
        ("colors: {primary: red}\n", ["`colors.primary`", "#rrggbb"]),
        ("colors: {primry: '#000000'}\n", ["unknown key `colors.primry`", "did you mean `colors.primary`"]),
        ("demo_url: www.example.org\n", ["`demo_url`", "http"]),
        ("track: pitch\n", ["`track`", "'demo' or 'startup'"]),
        ("demo: {first: ask}\n", ["`demo`", "list"]),
        ("notes: {intro: hi}\n", ["`notes`", "intro", "title, problem"]),
        ("- a list\n", ["must be a mapping"]),
        ("title: [unclosed\n", ["not valid YAML"]),
    ],
)
def test_a_bad_outline_names_the_field_and_the_fix(text, names):
    with pytest.raises(PitchSpecError) as caught:
        parse_spec(text, "pitch/pitch.yaml")
    for name in names:
        assert name in caught.value.message
    hint = caught.value.hint or ""
    assert "docs/pitch.md" in hint or "fix the line" in hint


def test_the_cli_shows_a_bad_field_as_an_error_with_its_fix(project, monkeypatch):
    (project / "pitch" / "pitch.yaml").write_text("minutes: lots\n")
    result = invoke(project, "--format", "html", monkeypatch=monkeypatch)
    assert result.exit_code == 2
    assert "`minutes`" in result.output and "fix: see docs/pitch.md" in result.output


def test_the_startup_track_adds_the_market_and_the_business_model(project):
    spec = project / "pitch" / "pitch.yaml"
    spec.write_text(spec.read_text() + "track: startup\nmarket: 4,000 hackathons a year.\n")
    deck = load_deck(project)
    keys = [slide.key for slide in deck.slides]
    assert keys[3:6] == ["demo", "market", "business_model"]
    market, business = deck.slides[4], deck.slides[5]
    assert market.lead == "4,000 hackathons a year." and not market.missing
    assert business.missing == ["business_model"]  # shown as "not written yet", and drafted by --draft
    assert "business_model" in load_spec(project).missing()


def test_a_field_not_written_shows_on_its_slide_and_in_the_notes(project):
    spec = project / "pitch" / "pitch.yaml"
    spec.write_text(spec.read_text().replace(f"problem: {STORY['problem']}", 'problem: ""'))
    problem = load_deck(project).slides[1]
    assert problem.missing == ["problem"]
    assert "hackkit pitch --draft" in problem.notes


def test_the_old_templates_guidance_counts_as_not_written():
    spec = parse_spec(
        "problem: Who has the problem, and what does it cost them today? One sentence, one number if you have one.\n"
        "ask: What you want from the judges or the audience.\nsolution: Our own words.\n"
    )
    assert {"problem", "ask"} <= set(spec.missing()) and "solution" not in spec.missing()


# -- facts ------------------------------------------------------------------------------------


def test_facts_come_from_the_readme_the_configuration_and_the_index(sample):
    facts = collect_facts(sample, load_spec(sample))
    assert facts.name == "Duck Helper" and facts.summary.startswith("Answers questions about our documents")
    assert facts.model == "mistral/mistral-small-latest" and facts.fallbacks == ["local/smollm2"]
    assert set(facts.documents) == {"data/faq.md", "data/judging.md", "data/schedule.md"}
    store = Store.for_settings(load_settings(sample))
    assert sum(facts.documents.values()) == store.count()  # the manifest agrees with Chroma
    store.close()
    sources = {fact.label: fact.source for fact in facts.facts}
    assert sources["Model"] == "hackkit.toml [llm] model"
    assert sources["Fallbacks"] == "hackkit.toml [llm.router] fallbacks"
    assert sources["Documents"].startswith(".hackkit/rag manifest")
    assert [u.model for u in facts.usage] == ["fake/embed"]  # only the ingest's embedding calls so far
    assert sources["Usage"] == "ledger (.hackkit/ledger.sqlite, hackkit usage)"


def test_a_project_without_a_ledger_or_index_gets_none_created(isolated):
    facts = collect_facts(isolated, load_spec(isolated), load_settings(isolated))
    assert facts.usage == [] and facts.documents == {}
    assert not (isolated / ".hackkit").exists()


def test_the_demo_url_is_the_deployed_one_then_demo_url_then_the_repository_then_local(project):
    spec, settings = load_spec(project), load_settings(project)
    assert demo_link(project, spec, settings, "gradio").url == "http://127.0.0.1:7860"
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run(["git", "-C", str(project), "remote", "add", "origin", "git@github.com:owls/duck.git"], check=True)
    repository = demo_link(project, spec, settings, "gradio")
    assert (repository.url, repository.deployed) == ("https://github.com/owls/duck", False)
    write_story(project, demo_url="https://owls.example.org/duck")
    spec = load_spec(project)
    assert demo_link(project, spec, settings, "gradio").url == "https://owls.example.org/duck"
    deployed = "https://huggingface.co/spaces/owls/duck"
    (project / ".hackkit" / "deploy.json").write_text(json.dumps({"target": "spaces", "url": deployed}))
    link = demo_link(project, spec, settings, "gradio")
    assert (link.url, link.deployed, link.source) == (deployed, True, ".hackkit/deploy.json (hackkit deploy)")


def test_not_deployed_yet_the_notes_say_to_deploy_and_run_again(project):
    demo = load_deck(project).slides[3]
    assert demo.qr is not None and demo.qr.url == "http://127.0.0.1:7860"
    assert "not deployed yet" in demo.notes and "run `hackkit pitch` again" in demo.notes


def test_saved_eval_scores_reach_the_results_slide(project):
    result = {"ndcg@10": 0.7126, "recall@10": 0.8, "mrr@10": 0.7, "mode": "hybrid", "queries": 300}
    (project / ".hackkit" / "eval.json").write_text("scifact: 300 queries\n" + json.dumps(result) + "\n")
    results = load_deck(project).slides[5]
    assert "Retrieval nDCG@10 0.71 over 300 questions (hybrid)" in results.bullets
    assert ".hackkit/eval.json" in results.footnote


# -- timing -----------------------------------------------------------------------------------


def test_a_deck_that_fits_passes_the_check(sample, monkeypatch):
    timing = check_timing(load_deck(sample))
    assert timing.fits and timing.seconds < 5 * 60
    result = invoke(sample, "--check", monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert "in all, for 5 minutes" in result.output and "warning" not in result.output


def test_a_deck_that_runs_long_warns_and_names_the_slides_to_cut(project, monkeypatch):
    long_steps = [f"Show feature {n}, explain why it matters and how it saves time for the team." for n in range(6)]
    write_story(project, how_it_works=["We built " + "a very careful pipeline " * 40])
    spec = project / "pitch" / "pitch.yaml"
    spec.write_text(spec.read_text().replace("minutes: 5", "minutes: 3"))
    text = spec.read_text()
    start = text.index("demo:\n")
    end = text.index("# What is special")
    spec.write_text(text[:start] + yaml.safe_dump({"demo": long_steps}, width=1000) + text[end:])
    timing = check_timing(load_deck(project))
    assert not timing.fits and timing.cut[0] == "how_it_works"
    result = invoke(project, "--check", monkeypatch=monkeypatch)
    assert result.exit_code == 1
    assert "too long" in result.output and "Cut: 'How it works'" in result.output


def test_text_too_long_to_read_is_named_with_its_field(project, monkeypatch):
    spec = project / "pitch" / "pitch.yaml"
    long = " ".join([STORY["problem"]] * 12)
    spec.write_text(spec.read_text().replace(STORY["problem"], long))
    result = invoke(project, "--check", monkeypatch=monkeypatch)
    assert result.exit_code == 1
    assert "The text of 'The problem' is down to" in result.output and "shorten `problem`" in result.output


# -- drafting ---------------------------------------------------------------------------------


def test_draft_fills_only_the_empty_fields_and_keeps_the_teams_lines(project, monkeypatch):
    spec_path = project / "pitch" / "pitch.yaml"
    spec_path.write_text(spec_path.read_text().replace(f"problem: {STORY['problem']}", 'problem: ""'))
    before = spec_path.read_text().splitlines()
    monkeypatch.setenv("HACKKIT_MODEL", "fake/drafter")
    testing.enqueue("Problem: Teams waste an hour a day looking for answers.")
    drafted = draft(project)
    assert drafted.fields == {"problem": "Teams waste an hour a day looking for answers."}
    assert len(testing.requests) == 1  # one call, for the one empty field
    prompt = testing.requests[0].messages[-1]["content"]
    assert "README (start):" in prompt and "mistral/mistral-small-latest" in prompt  # what it drafts from
    assert STORY["solution"] in prompt  # and what the team already wrote
    after = spec_path.read_text().splitlines()
    changed = [line for line in after if line not in before]
    mark = "# drafted by hackkit pitch --draft (fake/drafter)"
    assert changed == [f"problem: Teams waste an hour a day looking for answers.  {mark}"]
    assert [line for line in before if line not in after] == ['problem: ""']  # every other line, comments too, kept


def test_drafting_again_never_overwrites_an_edited_field(project, monkeypatch):
    spec_path = project / "pitch" / "pitch.yaml"
    text = spec_path.read_text()
    for key in ("problem", "ask"):
        value = STORY[key]
        text = text.replace(f"{key}: {value}", f'{key}: ""')
    spec_path.write_text(text)
    monkeypatch.setenv("HACKKIT_MODEL", "fake/drafter")
    testing.enqueue("A drafted problem.", "A drafted ask.")
    assert set(draft(project).fields) == {"problem", "ask"}
    edited = spec_path.read_text().replace("A drafted problem.", "Our own problem, as we would say it.")
    spec_path.write_text(edited)
    testing.reset()
    result = invoke(project, "--draft", "--check", monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert "Nothing to draft" in result.output
    assert testing.requests == []  # nothing was asked
    assert spec_path.read_text() == edited
    spec = load_spec(project)
    assert spec.problem == "Our own problem, as we would say it." and spec.ask == "A drafted ask."


def test_a_drafted_list_becomes_a_yaml_list(project, monkeypatch):
    spec_path = project / "pitch" / "pitch.yaml"
    text = spec_path.read_text()
    start, end = text.index("next_steps:\n"), text.index("# What you want")
    spec_path.write_text(text[:start] + "next_steps: []\n" + text[end:])
    monkeypatch.setenv("HACKKIT_MODEL", "fake/drafter")
    testing.enqueue("1. Ship uploads\n2) Add French\n- Open it to other events\n\n")
    assert draft(project).fields == {"next_steps": ["Ship uploads", "Add French", "Open it to other events"]}
    assert load_spec(project).next_steps == ["Ship uploads", "Add French", "Open it to other events"]


# -- hackkit update -----------------------------------------------------------------------------

# pitch/pitch.yaml as hackkit 0.1.0's template wrote it
OLD_TEMPLATE_PITCH = """# The outline of your five-minute pitch. Fill it in as you build: it is the story judges hear.
# (`hackkit pitch`, which turns this file into slides, is not built yet: see hackkit's docs/roadmap.md.)
title: {{ cookiecutter.project_name | tojson }}
tagline: {{ cookiecutter.description | tojson }}
team: {{ cookiecutter.author | tojson }}
minutes: 5
problem: >-
  Who has the problem, and what does it cost them today? One sentence, one number if you have one.
solution: >-
  What your app does for them, in one sentence.
demo:
  # What you will show, in order. Rehearse it on the deployed app, not on your laptop.
  - Ask a question a user would ask, and open the source that backs the answer.
  - Upload a new document and ask about it.
  - Show what happens with a question the documents cannot answer.
how_it_works:
  - "Model: see [llm] model in hackkit.toml."
{%- if cookiecutter.rag %}
  - "Retrieval: hybrid (dense + BM25) search over data/, answers cite their sources."
{%- endif %}
  - "Built with hackkit {{ cookiecutter.__hackkit_version }}."
next_steps:
  - What you would build with one more week.
ask: What you want from the judges or the audience.
"""


def test_update_merges_a_teams_outline_like_any_other_file(tmp_path):
    import shutil

    old_template = tmp_path / "template-0.1.0"
    shutil.copytree(template_dir(), old_template)
    (old_template / "{{cookiecutter.project_slug}}" / "pitch" / "pitch.yaml").write_text(OLD_TEMPLATE_PITCH)
    answers = {"project_name": "Owl", "ui": "gradio", "rag": True, "provider": "local", "license": "mit"}
    answers |= {"description": "A demo.", "author": "Team Owl"}
    root = projects.create(answers, tmp_path, template=old_template).path
    outline = root / "pitch" / "pitch.yaml"
    ours = "Owl answers every question about the event, with sources."
    outline.write_text(outline.read_text().replace("What your app does for them, in one sentence.", ours))
    subprocess.run(["git", "-C", str(root), *projects.FALLBACK_IDENTITY, "commit", "-qam", "Our solution"], check=True)
    updated = projects.update(root)  # to this hackkit's template
    assert updated.conflicts == ["pitch/pitch.yaml"]  # where the team's lines meet the template's, as in any file
    merged = outline.read_text()
    assert ours in merged  # the team's text is kept, on its side of the conflict
    assert "not built yet" not in merged  # the template's other changes landed
    assert 'ask: ""' in merged and "hackkit pitch --draft" in merged
    assert "ask: What you want" not in merged  # the old guidance value, outside the conflict, is gone
