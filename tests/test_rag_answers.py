"""The answer a team sees first: quoted from its documents when a small local model would answer,
and a source that holds the question's exact keyword is not cut by the similarity gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from documents import VENUE_CODE, template_project, write_sample_docs, write_venue_notes

from hackkit._compat import tomllib
from hackkit.config import load_settings
from hackkit.llm import Client
from hackkit.rag import NOT_FOUND, AnswerStream, Index, ask, ingest
from hackkit.rag.answer import answers_extractively
from hackkit.rag.extractive import NOTE
from hackkit.testing import requests

# What each of the generated project's sample questions must be answered with, from its data/.
FACTS = {
    "How long is each team's demo?": "five minutes",
    "How are projects judged?": "from 1 to 5",
    "When does hacking stop?": "12:00",
}


@pytest.fixture
def sample_project(tmp_path, monkeypatch):
    """A project as `hackkit new --no-input` makes it (Mistral, falling back to SmolLM2), ingested, no key."""
    folder = template_project(tmp_path / "new")
    monkeypatch.chdir(folder)
    report = ingest(["data"], Index(load_settings(folder)))
    assert len(report.added) == 3
    return folder


def test_the_sample_questions_are_answered_with_the_fact_from_their_source(sample_project):
    examples = tomllib.loads((sample_project / "hackkit.toml").read_text())["ui"]["examples"]
    assert sorted(examples) == sorted(FACTS)  # the template's questions are the ones checked here
    index = Index(load_settings(sample_project))
    for question in examples:
        answer = ask(question, index)
        assert answer.extractive and answer.response is None
        body = answer.text.removesuffix(NOTE)
        assert FACTS[question] in body, (question, answer.text)  # in the answer, not only in a snippet
        assert answer.cited  # its [n] markers point to the sources shown
        assert answer.text.endswith(NOTE)
    assert "judging.md" in ask("How long is each team's demo?", index).cited[0].source
    assert index.client.ledger.recent() == []  # no model was called, so none is recorded as called


def test_a_quoted_answer_streams_like_a_written_one(sample_project):
    index = Index(load_settings(sample_project))
    stream = ask("How long is each team's demo?", index, stream=True)
    assert isinstance(stream, AnswerStream) and stream.extractive and stream.sources  # known before any text
    pieces = list(stream)
    answer = stream.answer
    assert len(pieces) >= 2 and answer.text == "".join(pieces) and "five minutes" in pieces[0]
    assert answer.extractive and answer.response is None and answer.sources == stream.sources


def test_the_cli_quotes_and_says_so(sample_project):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    result = subprocess.run(
        [sys.executable, "-m", "hackkit", "ask", "How long is each team's demo?", "--json"],
        capture_output=True,
        text=True,
        cwd=sample_project,
        timeout=120,
        env={**env, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["extractive"] is True and "five minutes" in answer["answer"]
    assert answer["sources"][0]["source"] == "data/judging.md"
    # The team asked for Mistral: that its missing key made the answer a quote is said, on stderr.
    assert "MISTRAL_API_KEY is not set), so the answer is quoted from your documents" in result.stderr
    assert answer["note"].startswith("mistral/") and answer["model"] is None
    generated = subprocess.run(
        [sys.executable, "-m", "hackkit", "ask", "How long is each team's demo?", "--json", "--answer", "generate"],
        capture_output=True,
        text=True,
        cwd=sample_project,
        timeout=120,
        env={**env, "HF_HUB_OFFLINE": "1", "HACKKIT_MODEL": "fake/echo"},
    )
    assert json.loads(generated.stdout)["extractive"] is False
    assert json.loads(generated.stdout)["answer"].startswith("Echo:")


@pytest.mark.parametrize(
    "toml,keys,expected",
    [
        ('[llm]\nmodel = "local/smollm2"\n', {}, True),
        ('[llm]\nmodel = "mistral/mistral-small-latest"\n[llm.router.fallbacks]\n"*" = ["local/smollm2"]\n', {}, True),
        (
            '[llm]\nmodel = "mistral/mistral-small-latest"\n[llm.router.fallbacks]\n"*" = ["local/smollm2"]\n',
            {"MISTRAL_API_KEY": "k"},
            False,
        ),
        ('[llm]\nmodel = "quick"\n[llm.aliases]\nquick = "local/smollm2"\n', {}, True),
        ('[llm]\nmodel = "fake/echo"\n', {}, False),
        ('[llm]\nmodel = "local/smollm2"\n[rag]\nanswer = "generate"\n', {}, False),
        ('[llm]\nmodel = "fake/echo"\n[rag]\nanswer = "extractive"\n', {}, True),
        ('[llm]\nmodel = "local/org/not-in-the-cache"\n', {}, False),  # unknown size: big
    ],
    ids=["smollm2", "fallback-while-key-missing", "key-set", "alias", "fake", "generate", "extractive", "unknown"],
)
def test_who_answers_decides_whether_answers_are_quoted(isolated, monkeypatch, toml, keys, expected):
    (isolated / "hackkit.toml").write_text(toml)
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    client = Client(load_settings(isolated))
    assert answers_extractively(client, None, client.settings.rag.answer) is expected


def test_an_unknown_way_to_answer_is_a_clear_error(isolated):
    from hackkit.errors import ConfigError

    with pytest.raises(ConfigError, match="answer = 'quote' is not a way to answer") as caught:
        answers_extractively(Client(load_settings(isolated)), None, "quote")
    assert "auto, extractive, generate" in caught.value.hint
    (isolated / "hackkit.toml").write_text('[rag]\nanswer = "quote"\n')
    with pytest.raises(ConfigError, match=r"`rag\.answer`"):
        load_settings(isolated)


def tiny_llama(folder, hidden=64, layers=2):
    """A real (random) Llama saved by transformers, a few hundred thousand parameters."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(1)
    config = LlamaConfig(
        vocab_size=512, hidden_size=hidden, intermediate_size=128, num_hidden_layers=layers, num_attention_heads=4
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def test_local_folders_and_adapters_are_sized_from_what_they_say(isolated):
    from hackkit.rag.small_models import parameter_count

    client = Client(load_settings(isolated))
    local = client.providers.get("local")
    actual = tiny_llama(isolated / "tiny")
    assert parameter_count(local, str(isolated / "tiny")) == actual  # the safetensors headers
    (isolated / "big").mkdir()
    (isolated / "big" / "config.json").write_text(json.dumps({"num_parameters": 7_000_000_000}))
    (isolated / "dims").mkdir()  # only dimensions: a Mistral-7B-shaped config, about 7.2e9
    (isolated / "dims" / "config.json").write_text(
        json.dumps(
            {
                "hidden_size": 4096,
                "intermediate_size": 14336,
                "num_hidden_layers": 32,
                "num_attention_heads": 32,
                "num_key_value_heads": 8,
                "vocab_size": 32000,
                "hidden_act": "silu",
                "tie_word_embeddings": False,
            }
        )
    )
    (isolated / "adapter").mkdir()  # the file PEFT's save_pretrained writes for a LoRA adapter
    (isolated / "adapter" / "adapter_config.json").write_text(
        json.dumps({"peft_type": "LORA", "base_model_name_or_path": str(isolated / "tiny"), "r": 8})
    )
    (isolated / "empty").mkdir()
    assert parameter_count(local, str(isolated / "big")) == 7e9
    assert 7.0e9 < parameter_count(local, str(isolated / "dims")) < 7.5e9
    assert parameter_count(local, str(isolated / "adapter")) == actual
    assert parameter_count(local, str(isolated / "empty")) is None
    for folder, small in (("tiny", True), ("adapter", True), ("big", False), ("dims", False), ("empty", False)):
        (isolated / "hackkit.toml").write_text(f'[llm]\nmodel = "local/{isolated / folder}"\n')
        settings = load_settings(isolated)
        assert answers_extractively(Client(settings), None, "auto") is small, folder


@pytest.fixture
def venue_project(isolated):
    (isolated / "hackkit.toml").write_text('schema_version = 1\n[llm]\nmodel = "fake/echo"\n')
    write_sample_docs(isolated / "data")
    write_venue_notes(isolated / "data")
    ingest(["data"], Index())
    return isolated


def test_an_exact_keyword_hit_is_not_cut_by_the_similarity_gate(venue_project):
    index = Index()
    answer = ask(f"What does {VENUE_CODE} mean?", index)
    assert answer.found and answer.text != NOT_FOUND
    venue = [s for s in answer.sources if s.source == "data/venue.md"]
    assert venue and venue[0].similarity < index.settings.rag.min_score and venue[0].keyword
    assert VENUE_CODE in requests[-1].messages[-1]["content"]  # the model was shown the chunk
    quoted = ask(f"What does {VENUE_CODE} mean?", index, answer="extractive")
    assert f"The hardware lab door uses the code {VENUE_CODE}" in quoted.text


@pytest.mark.parametrize(
    "question",
    ["How do I repair a carburettor on a motorbike?", "zxqv blorptang wibblefrump?", "What does it mean?"],
)
def test_questions_with_no_rare_keyword_in_the_documents_still_find_nothing(venue_project, question):
    assert ask(question).text == NOT_FOUND


def test_the_cli_says_when_a_fallback_answered_and_why(sample_project):
    """A wrong or missing key never passes unseen: `hackkit ask` names the fallback on stderr."""
    toml = sample_project / "hackkit.toml"
    toml.write_text(toml.read_text().replace('["local/smollm2"]', '["fake/echo"]'))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "HACKKIT_MODEL"}
    for extra in ([], ["--no-stream"], ["--json"]):
        result = subprocess.run(
            [sys.executable, "-m", "hackkit", "ask", "How long is each team's demo?", "--answer", "generate", *extra],
            capture_output=True,
            text=True,
            cwd=sample_project,
            timeout=120,
            env={**env, "HF_HUB_OFFLINE": "1"},
        )
        assert result.returncode == 0, result.stderr
        assert "note: mistral/" in result.stderr and "MISTRAL_API_KEY is not set" in result.stderr, extra
        assert "so fake/echo answered" in result.stderr, extra
        assert "note:" not in result.stdout  # stdout stays the answer alone
    assert json.loads(result.stdout)["model"] == "fake/echo"
