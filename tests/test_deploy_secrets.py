"""The secret scanner: each kind of key is found by file and line, and its value is never shown."""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path

import pytest

from hackkit.deploy import secretscan
from hackkit.deploy.errors import SecretFound


def random_text(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    """A fresh random value each run, so no real-looking key is committed in this file."""
    return "".join(secrets.choice(alphabet) for _ in range(n))


KEYS = {
    "openai": ("sk-" + random_text(48), "OpenAI key"),
    "openai-project": ("sk-proj-" + random_text(60, string.ascii_letters + string.digits + "_-"), "OpenAI project key"),
    "anthropic": ("sk-ant-api03-" + random_text(80), "Anthropic key"),
    "huggingface": ("hf_" + random_text(34), "Hugging Face token"),
    "aws": ("AKIA" + random_text(16, string.ascii_uppercase + string.digits), "AWS access key id"),
}


@pytest.mark.parametrize("name", KEYS)
def test_each_provider_key_is_found_by_its_shape_on_its_line(name: str) -> None:
    value, kind = KEYS[name]
    text = f"# settings\nclient = make_client()\nkey = {value!r}\n"
    (finding,) = secretscan.scan_text(text, "app.py")
    assert (finding.path, finding.line) == ("app.py", 3)
    assert kind in finding.kind
    assert value not in str(finding) and value[4:20] not in str(finding)


def test_a_private_key_block_is_found() -> None:
    text = "notes\n-----BEGIN OPENSSH PRIVATE KEY-----\n" + random_text(64) + "\n-----END OPENSSH PRIVATE KEY-----\n"
    (finding,) = secretscan.scan_text(text, "deploy/id_ed25519")
    assert finding.line == 2 and "private key" in finding.kind


@pytest.mark.parametrize(
    "line",
    [
        "MY_SERVICE_KEY = '{v}'",
        'GITHUB_TOKEN="{v}"',
        "db_password: {v}",
        '"client_secret": "{v}"',
        "export STRIPE_SECRET={v}",
    ],
)
def test_a_long_random_value_assigned_to_a_secret_name_is_found(line: str) -> None:
    value = random_text(30) + secrets.choice(string.digits) + secrets.choice(string.ascii_letters)  # never all letters
    (finding,) = secretscan.scan_text(line.format(v=value), "config.yaml")
    assert "long random value" in finding.kind and value not in str(finding)


@pytest.mark.parametrize(
    "line",
    [
        "max_tokens = 400",
        'api_key_env = "MISTRAL_API_KEY"',
        "MISTRAL_API_KEY=",
        "TOKENIZERS_PARALLELISM=false",
        "rate_limit_per_minute = 10  # tokens per visitor",
        'SECRET_NAME = "the-name-of-the-secret-in-the-vault"',  # words, not a random value
        "sha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'",  # a hash, no secret name
        "text = 'skeleton keys and sk-8 skates'",
    ],
)
def test_ordinary_lines_are_not_findings(line: str) -> None:
    assert secretscan.scan_text(line, "hackkit.toml") == []


def test_a_key_printed_in_a_notebook_output_is_found_in_that_cell(tmp_path: Path) -> None:
    value = KEYS["openai"][0]
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["# Trying the API\n"]},
            {
                "cell_type": "code",
                "source": ["import os\n", "print(os.environ['OPENAI_API_KEY'])\n"],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": [value + "\n"]}],
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "explore.ipynb").write_text(json.dumps(notebook, indent=1))
    (finding,) = secretscan.scan_files(tmp_path, ["explore.ipynb"])
    assert finding.path == "explore.ipynb" and finding.line > 0
    assert finding.where == "cell 2, in its output"
    assert value not in str(finding)


def test_a_key_in_a_notebook_cell_source_is_named_as_that_cell(tmp_path: Path) -> None:
    value = KEYS["huggingface"][0]
    notebook = {"cells": [{"cell_type": "code", "source": [f"token = '{value}'\n"], "outputs": []}]}
    (tmp_path / "nb.ipynb").write_text(json.dumps(notebook))
    (finding,) = secretscan.scan_files(tmp_path, ["nb.ipynb"])
    assert finding.where == "cell 1"


def test_a_env_file_inside_a_bundled_folder_is_a_finding_even_when_git_ignores_it(tmp_path: Path) -> None:
    (tmp_path / "data" / "private").mkdir(parents=True)
    (tmp_path / "data" / "faq.md").write_text("# FAQ\n")
    (tmp_path / "data" / "private" / ".env").write_text("OPENAI_API_KEY=whatever\n")
    (tmp_path / "data" / ".env.local").write_text("X=1\n")
    found = secretscan.env_files_under(tmp_path / "data", tmp_path)
    assert [f.path for f in found] == ["data/.env.local", "data/private/.env"]
    assert all(".env file" in f.kind for f in found)


def test_an_example_env_file_with_empty_values_passes_and_one_with_a_value_does_not(tmp_path: Path) -> None:
    example = tmp_path / ".env.example"
    example.write_text("# Copy this file to .env\nMISTRAL_API_KEY=\n# OLLAMA_HOST=http://127.0.0.1:11434\nX= # none\n")
    assert secretscan.scan_files(tmp_path, [".env.example"]) == []
    example.write_text("MISTRAL_API_KEY=\nOPENAI_API_KEY=replace-me\n")
    (finding,) = secretscan.scan_files(tmp_path, [".env.example"])
    assert finding.line == 2 and "example env file" in finding.kind


def test_binary_files_are_skipped_and_text_files_are_read(tmp_path: Path) -> None:
    value = KEYS["aws"][0]
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0" + value.encode())
    (tmp_path / "notes.txt").write_text(f"aws {value}\n")
    assert [f.path for f in secretscan.scan_files(tmp_path, ["image.png", "notes.txt"])] == ["notes.txt"]


def test_the_error_lists_every_finding_and_no_value() -> None:
    value = KEYS["anthropic"][0]
    findings = secretscan.scan_text(f"a = '{value}'\nb = '{value}'\n", "app.py")
    with pytest.raises(SecretFound) as raised:
        secretscan.raise_if_found(findings)
    message = str(raised.value)
    assert "app.py line 1" in message and "app.py line 2" in message and "2 secret(s)" in message
    assert value not in message and ".env" in (raised.value.hint or "")
    assert raised.value.exit_code == 3
