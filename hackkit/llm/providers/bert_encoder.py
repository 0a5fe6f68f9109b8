"""Sentence embeddings from a BERT model in sentence-transformers' layout, run in plain torch.

all-MiniLM-L6-v2 (the offline default) is a BERT encoder, mean pooling and L2 normalisation. Run
through sentence-transformers, a process first imports it, transformers and scikit-learn: 6.4 s
here before the first vector, paid by every `hackkit ingest`, `hackkit ask` and demo start. The same
encoder in torch with the `tokenizers` and `safetensors` packages starts in the 1.4 s torch takes to
import and gives the same vectors (tests/test_bert_encoder.py compares them with
sentence-transformers' on the same texts).

`load(folder)` takes the folders it can run exactly: a sentence-transformers model whose modules
are a BERT transformer (absolute positions, GELU), mean pooling and optionally normalisation, with
`model.safetensors` and `tokenizer.json`. Anything else returns None and loads through
sentence-transformers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import torch

TRANSFORMER = "sentence_transformers.models.Transformer"
POOLING = "sentence_transformers.models.Pooling"
NORMALIZE = "sentence_transformers.models.Normalize"
BATCH_SIZE = 64


@dataclass(frozen=True)
class BertShape:
    layers: int
    heads: int
    eps: float
    max_tokens: int


def runnable_shape(folder: Path) -> BertShape | None:
    """The model's shape when this module computes exactly what sentence-transformers would, else None.

    Strict on purpose: anything sentence-transformers or transformers would do differently (another
    pooling, a dense layer, a prompt, tokenizer options that override tokenizer.json, a length it
    would take from elsewhere) sends the model to sentence-transformers instead.
    """
    try:
        modules = json.loads((folder / "modules.json").read_text())
        config = json.loads((folder / "config.json").read_text())
        types = [m["type"] for m in modules]
        pooling_folder = folder / next(m["path"] for m in modules if m["type"] == POOLING)
        pooling = json.loads((pooling_folder / "config.json").read_text())
        st_config = json.loads((folder / "sentence_bert_config.json").read_text())
        shape = BertShape(
            config["num_hidden_layers"],
            config["num_attention_heads"],
            config["layer_norm_eps"],
            min(st_config["max_seq_length"], config.get("max_position_embeddings", 512)),
        )
        fits = (
            types[:2] == [TRANSFORMER, POOLING]
            and set(types[2:]) <= {NORMALIZE}
            and modules[0].get("path", "") == ""
            and {k for k, v in pooling.items() if k.startswith("pooling_mode") and v} == {"pooling_mode_mean_tokens"}
            and config.get("model_type") == "bert"
            and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and set(st_config) <= {"max_seq_length", "do_lower_case"}
            and not st_config.get("do_lower_case", False)  # the tokenizer lowercases itself where it should
            and not _prompted(folder)
            and _tokenizer_as_saved(folder)
            and (folder / "model.safetensors").is_file()
        )
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    return shape if fits else None


def _prompted(folder: Path) -> bool:
    """Whether sentence-transformers would put a prompt before every text."""
    path = folder / "config_sentence_transformers.json"
    settings = json.loads(path.read_text()) if path.is_file() else {}
    return bool(settings.get("prompts") or settings.get("default_prompt_name"))


def _tokenizer_as_saved(folder: Path) -> bool:
    """Whether transformers would tokenize as tokenizer.json says: its tokenizer_config.json overrides nothing."""
    normalizer = json.loads((folder / "tokenizer.json").read_text()).get("normalizer") or {}
    path = folder / "tokenizer_config.json"
    options = json.loads(path.read_text()) if path.is_file() else {}
    return (
        normalizer.get("type") == "BertNormalizer"
        and options.get("do_lower_case", True) == normalizer.get("lowercase")
        and options.get("strip_accents") == normalizer.get("strip_accents")
        and options.get("tokenize_chinese_chars", True) == normalizer.get("handle_chinese_chars")
        and options.get("truncation_side", "right") == "right"
    )


def load(folder: Path) -> BertSentenceEncoder | None:
    shape = runnable_shape(folder)
    return None if shape is None else BertSentenceEncoder(folder, shape)


class BertSentenceEncoder:
    """``encode(texts)`` gives L2-normalised float32 vectors, as ``SentenceTransformer.encode`` does."""

    def __init__(self, folder: Path, shape: BertShape) -> None:
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        self.shape = shape
        self._counter = Tokenizer.from_file(str(folder / "tokenizer.json"))  # whole texts, however long
        self._counter.no_padding()
        self._counter.no_truncation()
        self._encoder = Tokenizer.from_file(str(folder / "tokenizer.json"))  # what the model reads
        self._encoder.enable_truncation(max_length=shape.max_tokens)
        self._encoder.no_padding()
        weights = load_file(str(folder / "model.safetensors"))
        self.weights = {name.removeprefix("bert."): tensor.float() for name, tensor in weights.items()}
        self._qkv = [self._fused_qkv(i) for i in range(shape.layers)]

    def _fused_qkv(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        prefix = f"encoder.layer.{layer}.attention.self."
        parts = [prefix + p for p in ("query", "key", "value")]
        weight = torch.cat([self.weights[p + ".weight"] for p in parts])
        bias = torch.cat([self.weights[p + ".bias"] for p in parts])
        return weight, bias

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def encode(self, texts: list[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        import numpy as np
        import torch

        if not texts:
            return np.zeros((0, self.weights["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)
        encodings = self._encoder.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))  # like lengths batch together
        vectors: list[Any] = [None] * len(texts)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                pooled = self._embed([encodings[i] for i in batch])
                for i, vector in zip(batch, pooled.numpy(), strict=True):
                    vectors[i] = vector
        return np.stack(vectors).astype(np.float32, copy=False)

    def _embed(self, encodings: list[Any]) -> torch.Tensor:
        import torch

        longest = max(len(e.ids) for e in encodings)
        ids = torch.zeros((len(encodings), longest), dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros((len(encodings), longest), dtype=torch.bool)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = torch.tensor(e.ids)
            types[row, : len(e.ids)] = torch.tensor(e.type_ids)
            mask[row, : len(e.ids)] = True
        hidden = self._forward(ids, types, mask)
        weights = mask.unsqueeze(-1).float()
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)

    def _forward(self, ids: torch.Tensor, types: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        from torch.nn import functional as F

        embedding = "embeddings.{}_embeddings.weight".format
        x = self.weights[embedding("word")][ids] + self.weights[embedding("token_type")][types]
        x = self._norm(x + self.weights[embedding("position")][: ids.shape[1]], "embeddings.LayerNorm")
        attend = mask[:, None, None, :]
        for layer in range(self.shape.layers):
            p = f"encoder.layer.{layer}."
            attention = self._linear(self._attention(x, layer, attend), p + "attention.output.dense")
            x = self._norm(x + attention, p + "attention.output.LayerNorm")
            inner = F.gelu(self._linear(x, p + "intermediate.dense"))
            x = self._norm(x + self._linear(inner, p + "output.dense"), p + "output.LayerNorm")
        return x

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        from torch.nn import functional as F

        return F.linear(x, self.weights[name + ".weight"], self.weights[name + ".bias"])

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        from torch.nn import functional as F

        weight, bias = self.weights[name + ".weight"], self.weights[name + ".bias"]
        return F.layer_norm(x, x.shape[-1:], weight, bias, self.shape.eps)

    def _attention(self, x: torch.Tensor, layer: int, attend: torch.Tensor) -> torch.Tensor:
        from torch.nn import functional as F

        batch, length, width = x.shape
        heads = self.shape.heads
        q, k, v = F.linear(x, *self._qkv[layer]).split(width, dim=-1)
        q, k, v = (t.view(batch, length, heads, width // heads).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attend)
        return out.transpose(1, 2).reshape(batch, length, width)
