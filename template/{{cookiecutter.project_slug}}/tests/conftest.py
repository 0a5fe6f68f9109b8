"""Offline test set-up: the fake provider answers, and tests run in a copy of the project, so your
own .hackkit/ store, ledger and .env are never touched. No key and no network are needed."""

import importlib
import os
import shutil
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
NEEDED = ["hackkit", "{{ cookiecutter.ui }}"{{ ', "chromadb", "sentence_transformers"' if cookiecutter.rag else "" }}]


def _missing(names):
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


if missing := _missing(NEEDED):
    pytest.exit(f"{', '.join(missing)} not installed: run pip install -r requirements.txt first", returncode=4)

os.environ.update(
    HACKKIT_MODEL="fake/echo",  # hackkit's fake provider: answers "Echo: <the question>"
    HF_HUB_OFFLINE="1",
    GRADIO_ANALYTICS_ENABLED="False",
    ANONYMIZED_TELEMETRY="False",
    TOKENIZERS_PARALLELISM="false",
)
for variable in ("MISTRAL_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HACKKIT_GATEWAY_URL"):
    os.environ.pop(variable, None)  # your keys stay out of the tests


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    """A copy of this project's app, settings, prompts and documents."""
    copy = tmp_path_factory.mktemp("project")
    for name in ("app.py", "hackkit.toml", "prompts", "data", ".streamlit"):
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("uploads"))
        elif source.exists():
            shutil.copy(source, copy / name)
    return copy


@pytest.fixture(scope="session")
def app(project):
    """The app's view-model: what the page shows, without a browser."""
    from hackkit.config import load_settings
    from hackkit.ui.viewmodel import DemoApp

    # No fallback in tests (a provider error must reach the visitor), and quick retries.
    settings = load_settings(project, llm__router__fallbacks={"*": []}, llm__router__backoff=0.01)
    if (project / "data").is_dir():
        from hackkit.rag import Index, ingest

        report = ingest([project / "data"], Index(settings))
        assert report.chunks > 0, report
    return DemoApp(settings)


@pytest.fixture(autouse=True)
def _fresh(project, monkeypatch):
    import hackkit.testing

    monkeypatch.chdir(project)
    hackkit.testing.reset()


@pytest.fixture
def ask(app):
    """``ask(question)``: the final state of the answer, as the page shows it."""

    def final_reply(question):
        *_, reply = app.session().send(question)
        return reply

    return final_reply
