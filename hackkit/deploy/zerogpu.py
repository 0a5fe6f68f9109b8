"""Local models on ZeroGPU: each call runs in a ``@spaces.GPU`` function, on a GPU lent for that call.

A ZeroGPU Space's entry file (``zerogpu_app.py``, written by ``hackkit deploy spaces --hardware
zero-a10g``) calls :func:`install` before it runs the team's ``app.py``: ``local/...`` model ids
then go through :class:`ZeroGPUProvider`. ZeroGPU runs a decorated function in a worker process
forked from the app, so only the provider's name and the request cross into it (both pickle), and
the model, loaded on the CPU at start, moves to the GPU there. Outside ZeroGPU (``SPACES_ZERO_GPU``
unset) ``spaces.GPU`` returns the function unchanged and everything runs on the CPU, which is how
the tests run it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from hackkit.errors import MissingDependencyError
from hackkit.llm.providers.local import LocalModel, LocalProvider
from hackkit.llm.registry import register_provider
from hackkit.llm.types import ChatChunk, ChatRequest, ChatResponse

try:
    import spaces
except ImportError as exc:  # pragma: no cover - the bundle's requirements install it
    raise MissingDependencyError("The Hugging Face `spaces` package (ZeroGPU)", "pip install spaces") from exc

GPU_SECONDS = 60  # ZeroGPU's default lease per call; a longer one waits longer in its queue

_providers: dict[str, ZeroGPUProvider] = {}
_models: dict[str, GPUModel] = {}
_lock = threading.Lock()


class GPUModel(LocalModel):
    """A local model whose inputs go to wherever the model is (the GPU inside a ZeroGPU call)."""

    def prompt_ids(self, request: ChatRequest) -> Any:
        return super().prompt_ids(request).to(self.model.device)

    def to_best_device(self) -> None:
        import torch

        if torch.cuda.is_available():
            self.model.to("cuda")


class ZeroGPUProvider(LocalProvider):
    """``local/...`` on ZeroGPU: chat and stream run in the ``@spaces.GPU`` functions below."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _providers[self.name] = self

    def model(self, name: str) -> GPUModel:
        key = str(self.resolve_source(name))
        with _lock:
            if key not in _models:
                _models[key] = GPUModel(self.resolve_source(name))
            return _models[key]

    def chat(self, request: ChatRequest) -> ChatResponse:
        return chat_on_gpu(self.name, request)

    def stream(self, request: ChatRequest) -> Iterator[ChatChunk]:
        yield from stream_on_gpu(self.name, request)


@spaces.GPU(duration=GPU_SECONDS)
def chat_on_gpu(provider: str, request: ChatRequest) -> ChatResponse:
    local = _providers[provider]
    local.model(request.model).to_best_device()
    return LocalProvider.chat(local, request)


@spaces.GPU(duration=GPU_SECONDS)
def stream_on_gpu(provider: str, request: ChatRequest) -> Iterator[ChatChunk]:
    local = _providers[provider]
    local.model(request.model).to_best_device()
    yield from LocalProvider.stream(local, request)


def install() -> None:
    """Route ``local/...`` model ids through ZeroGPU from now on (this process)."""
    register_provider("local", ZeroGPUProvider)
