"""Numeric settings are range-checked where they are read: a ConfigError naming the key and its range.

Every section's numbers, not only [rag]'s: a value out of range used to reach a library (a traceback
from the text splitter for ``chunk_size = 0``) or be accepted silently (``top_k = 0``, ``-k -2``,
``max_retries = -3``, ``min_score = 7``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hackkit.config import load_settings
from hackkit.errors import ConfigError


@pytest.mark.parametrize(
    "toml,expected",
    [
        ("[rag]\nchunk_size = 0\n", "`rag.chunk_size` = 0 is out of range: it must be at least 1"),
        ("[rag]\nchunk_overlap = -1\n", "`rag.chunk_overlap` = -1 is out of range: it must be at least 0"),
        ("[rag]\nchunk_size = 100\nchunk_overlap = 100\n", "`chunk_overlap` = 100 must be smaller than `chunk_size`"),
        ("[rag]\ntop_k = 0\n", "`rag.top_k` = 0 is out of range: it must be at least 1"),
        ("[rag]\ncandidates = 0\n", "`rag.candidates` = 0 is out of range: it must be at least 1"),
        ("[rag]\nmin_score = 7\n", "`rag.min_score` = 7 is out of range: it must be between -1 and 1"),
        ("[rag]\nmax_file_mb = 0\n", "`rag.max_file_mb` = 0 is out of range: it must be greater than 0"),
        ("[rag]\nrrf_k = -60\n", "`rag.rrf_k` = -60 is out of range: it must be at least 0"),
        ("[rag]\nexact_search_limit = -1\n", "`rag.exact_search_limit` = -1 is out of range: it must be at least 0"),
        ("[llm.router]\nmax_retries = -3\n", "`llm.router.max_retries` = -3 is out of range: it must be at least 0"),
        ("[llm.router]\ntimeout = 0\n", "`llm.router.timeout` = 0 is out of range: it must be greater than 0"),
        ("[llm.router]\nbackoff = -0.5\n", "`llm.router.backoff` = -0.5 is out of range: it must be at least 0"),
        ("[llm.router]\nmax_backoff = -1\n", "`llm.router.max_backoff` = -1 is out of range"),
        ("[llm.router]\nmax_retry_after = -1\n", "`llm.router.max_retry_after` = -1 is out of range"),
        ("[llm.providers.groq]\ntimeout = -1\n", "`llm.providers.groq.timeout` = -1 is out of range"),
        ("[llm.providers.groq]\ncontext_window = 0\n", "`llm.providers.groq.context_window` = 0 is out of range"),
        ("[ui]\nmax_tokens = 0\n", "`ui.max_tokens` = 0 is out of range: it must be at least 1"),
        (
            "[ui]\nrate_limit_per_minute = -1\n",
            "`ui.rate_limit_per_minute` = -1 is out of range: it must be at least 0",
        ),
    ],
)
def test_a_setting_out_of_range_names_the_key_and_the_range(isolated, toml, expected):
    (isolated / "hackkit.toml").write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert expected in str(caught.value)
    assert "valid range" in caught.value.hint


def test_the_edges_of_each_range_are_accepted(isolated):
    (isolated / "hackkit.toml").write_text(
        "[rag]\nchunk_size = 1\nchunk_overlap = 0\ntop_k = 1\nmin_score = -1\nrrf_k = 0\n"
        "[llm.router]\nmax_retries = 0\nbackoff = 0\n[ui]\nrate_limit_per_minute = 0\n"
    )
    settings = load_settings()
    assert (settings.rag.chunk_size, settings.rag.min_score, settings.llm.router.max_retries) == (1, -1, 0)


def test_top_k_from_code_is_checked_like_the_setting(isolated):
    from hackkit.rag import Index, ask

    for k in (0, -2):
        with pytest.raises(ConfigError, match=f"k = {k} is out of range: it must be at least 1"):
            ask("When does the demo start?", Index(), k=k)


def test_the_cli_checks_k_before_doing_anything(isolated):
    result = subprocess.run(
        [sys.executable, "-m", "hackkit", "ask", "When does the demo start?", "-k", "-2"],
        capture_output=True,
        text=True,
        cwd=isolated,
        timeout=60,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 2
    assert "-k/--top-k = -2 is out of range: it must be at least 1" in result.stderr
    assert "Traceback" not in result.stderr
