"""Settings: sources, precedence, validation, and the default model."""

from __future__ import annotations

import pytest

from hackkit.config import find_project_root, load_settings
from hackkit.errors import ConfigError
from hackkit.llm import Client


def test_precedence_toml_then_dotenv_then_environment_then_arguments(isolated, monkeypatch):
    (isolated / "hackkit.toml").write_text('[llm]\nmodel = "fake/from-toml"\n')
    assert load_settings().llm.model == "fake/from-toml"
    (isolated / ".env").write_text("HACKKIT_MODEL=fake/from-dotenv\nMISTRAL_API_KEY=from-dotenv\n")
    settings = load_settings()
    assert settings.llm.model == "fake/from-dotenv" and settings.env("MISTRAL_API_KEY") == "from-dotenv"
    monkeypatch.setenv("HACKKIT_MODEL", "fake/from-env")
    monkeypatch.setenv("MISTRAL_API_KEY", "from-env")
    settings = load_settings()
    assert settings.llm.model == "fake/from-env" and settings.env("MISTRAL_API_KEY") == "from-env"
    assert load_settings(llm__model="fake/explicit").llm.model == "fake/explicit"


def test_project_root_is_found_by_walking_up(isolated, monkeypatch):
    deep = isolated / "src" / "app"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_project_root() == isolated
    assert load_settings().data_dir == isolated / ".hackkit"


@pytest.mark.parametrize(
    "toml,expected",
    [
        ('[llm]\nmodle = "x"\n', "unknown key `llm.modle` (did you mean `llm.model`?)"),
        ("[llm.router]\nmax_retry = 3\n", "did you mean `llm.router.max_retries`?"),
        ('[llm.providers.groq]\nbase_ulr = "x"\n', "did you mean `llm.providers.groq.base_url`?"),
        ('[llm.router]\ntimeout = "soon"\n', "`llm.router.timeout`: Input should be a valid number"),
        ("[rag]\nchunk_sise = 500\n", "did you mean `rag.chunk_size`?"),
        ('[ui]\nthem = "dark"\n', "did you mean `ui.theme`?"),
        ('[ui]\npanels = ["chat"]\n', "`ui.panels.0`: Input should be 'sources', 'upload'"),
        ("schema_version = 9\n", "schema_version = 9"),
        ("[llm\n", "is not valid TOML"),
    ],
)
def test_bad_config_says_what_is_wrong_and_how_to_fix_it(isolated, toml, expected):
    (isolated / "hackkit.toml").write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert expected in str(caught.value)
    assert caught.value.hint


@pytest.mark.parametrize(
    "variables,expected",
    [
        ({}, "local/smollm2"),
        ({"ANTHROPIC_API_KEY": "k"}, "anthropic/claude-haiku-4-5"),
        ({"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k"}, "openai/gpt-4o-mini"),
        ({"MISTRAL_API_KEY": "k", "OPENAI_API_KEY": "k"}, "mistral/mistral-small-latest"),
        ({"HACKKIT_GATEWAY_URL": "http://127.0.0.1:1/v1", "MISTRAL_API_KEY": "k"}, "gateway/default"),
        ({"HACKKIT_MODEL": "ollama/llama3.2", "HACKKIT_GATEWAY_URL": "http://x/v1"}, "ollama/llama3.2"),
    ],
)
def test_default_model(variables, expected, monkeypatch):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert Client().default_model() == expected


def test_toml_model_beats_keys_but_not_hackkit_model(isolated, monkeypatch):
    (isolated / "hackkit.toml").write_text('[llm]\nmodel = "anthropic/claude-sonnet-4-5"\n')
    monkeypatch.setenv("MISTRAL_API_KEY", "k")
    assert Client().default_model() == "anthropic/claude-sonnet-4-5"
    monkeypatch.setenv("HACKKIT_MODEL", "fake/echo")
    assert Client().default_model() == "fake/echo"


def test_outside_a_project_the_ledger_goes_to_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    settings = load_settings()
    assert settings.root is None and settings.data_dir == tmp_path / "xdg" / "hackkit"
