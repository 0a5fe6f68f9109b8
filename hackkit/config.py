"""Settings: ``hackkit.toml`` < ``.env`` < environment < explicit arguments.

``hackkit.toml`` is found by walking up from the working folder; the folder that holds it is the
project root, and ``.env`` is read from there (or from the working folder outside a project).
Provider keys are never stored in ``hackkit.toml``: they are read with :meth:`Settings.env`, which
looks in the environment first and ``.env`` second.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hackkit._compat import tomllib
from hackkit.errors import ConfigError
from hackkit.server.config import GatewayConfig

CONFIG_FILE = "hackkit.toml"
SCHEMA_VERSION = 1

# Environment variables that set a config value (dotted path), beside the provider keys.
ENV_SETTINGS = {
    "HACKKIT_MODEL": "llm.model",
    "HACKKIT_LEDGER": "llm.ledger.path",
    "HACKKIT_STORE_TEXT": "llm.ledger.store_text",
    "HACKKIT_CACHE": "llm.cache.enabled",
    "HACKKIT_EMBEDDING_MODEL": "rag.embedding_model",
    "HACKKIT_CHROMA_URL": "rag.chroma_url",
    "HACKKIT_GATEWAY_DB": "gateway.db",
    "HACKKIT_UI_TRUST_PROXY": "ui.trust_proxy",  # set by the deploy bundles, which run behind a proxy
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ProviderConfig(_Section):
    """A provider entry under ``[llm.providers.NAME]``: a preset tweaked, or a new endpoint."""

    kind: str | None = None  # registry name of the implementation; defaults to NAME itself
    base_url: str | None = None
    api_key_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float | None = None
    context_window: int | None = None


class DeploymentConfig(_Section):
    """Several concrete models behind one name, picked by ``strategy``."""

    models: list[str]
    strategy: Literal["round_robin", "least_latency", "cheapest"] = "round_robin"


class RouterConfig(_Section):
    timeout: float = 30.0  # seconds for one attempt (for a stream: until it starts, then between pieces)
    deadline: float = 90.0  # seconds for the whole call, every retry and fallback, until an answer starts
    max_retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 30.0
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)  # model -> next ones; "*" = any


class CacheConfig(_Section):
    enabled: bool = False
    path: str | None = None


class LedgerConfig(_Section):
    enabled: bool = True
    path: str | None = None
    store_text: bool = True


class LLMConfig(_Section):
    model: str | None = None
    aliases: dict[str, str] = Field(default_factory=dict)
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    deployments: dict[str, DeploymentConfig] = Field(default_factory=dict)
    router: RouterConfig = Field(default_factory=RouterConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    ledger: LedgerConfig = Field(default_factory=LedgerConfig)
    prompts_dir: str = "prompts"


class RAGConfig(_Section):
    """``[rag]``: documents, the index, and how questions are answered over them."""

    paths: list[str] = Field(default_factory=lambda: ["data"])  # what `hackkit ingest` reads by default
    include: list[str] = Field(default_factory=lambda: ["**/*"])
    exclude: list[str] = Field(default_factory=lambda: ["**/.*", "**/.*/**", "**/node_modules/**"])
    max_file_mb: float = 50.0
    embedding_model: str = "local/all-MiniLM-L6-v2"
    chunk_size: int = 200  # tokens of the embedding model's tokenizer
    chunk_overlap: int = 30
    chroma_url: str | None = None  # a Chroma server (`chroma run`); default: a folder in .hackkit/
    collection: str = "hackkit"
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    top_k: int = 5
    candidates: int = 100  # per retriever, before fusion
    exact_search_limit: int = 20_000  # up to this many chunks, dense search is exact (numpy), not HNSW
    rrf_k: int = 60
    min_score: float = 0.3  # cosine similarity a chunk needs to be shown as a source
    reranker: str | None = None  # a sentence-transformers CrossEncoder, when one is installed
    model: str | None = None  # the chat model for answers; default: [llm] model
    prompt: str = "rag-answer"  # the prompt template answers use (prompts/NAME.md overrides the built-in)


Panel = Literal["sources", "upload", "compare", "usage", "model_picker"]
PANELS: tuple[Panel, ...] = ("sources", "upload", "compare", "usage", "model_picker")


class UIConfig(_Section):
    """``[ui]``: the demo app judges see."""

    title: str = "hackkit demo"
    description: str = "Ask a question about our documents."
    examples: list[str] = Field(default_factory=list)
    theme: str = "soft"  # a Gradio theme name: soft, default, base, glass, monochrome, ocean, origin, citrus
    models: list[str] = Field(default_factory=list)  # the model picker; default: the configured models
    panels: list[Panel] = Field(default_factory=lambda: list(PANELS))
    rate_limit_per_minute: int = 10  # per visitor address, so a public demo cannot drain the key
    max_tokens: int = 512  # cap on every answer's length
    uploads_dir: str = "data/uploads"  # where shared uploads go (uploads = "shared")
    prompt: str | None = None  # a prompt template whose system message and examples lead plain chats
    uploads: Literal["session", "shared"] = "session"  # session: a visitor's files reach only their answers
    max_upload_mb: int = Field(default=10, ge=1)  # per file, enforced while it is received
    uploads_total_mb: int = Field(default=200, ge=1)  # every upload together
    trust_proxy: int = Field(default=0, ge=0)  # proxies in front (Spaces, Render: 1) whose X-Forwarded-For counts


class Settings(_Section):
    schema_version: int = SCHEMA_VERSION
    llm: LLMConfig = Field(default_factory=LLMConfig)
    rag: RAGConfig = Field(default_factory=RAGConfig)
    ui: UIConfig = Field(default_factory=UIConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)

    # Where the settings came from; not part of the file.
    root: Path | None = Field(default=None, exclude=True)
    dotenv: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)

    def env(self, name: str) -> str | None:
        """A variable from the environment, else from ``.env``; empty counts as unset."""
        value = os.environ.get(name) or self.dotenv.get(name)
        return value or None

    @property
    def data_dir(self) -> Path:
        """``.hackkit/`` in the project, or the user data folder outside one."""
        if self.root is not None:
            return self.root / ".hackkit"
        from platformdirs import user_data_path

        return user_data_path("hackkit", appauthor=False)

    def resolve_path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.root or Path.cwd()) / path


def find_project_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``hackkit.toml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return None


def load_settings(start: Path | None = None, **overrides: Any) -> Settings:
    """Read every source and validate them together.

    ``overrides`` are explicit values by dotted path with ``__`` for dots, or nested dicts:
    ``load_settings(llm__model="fake/echo")``.
    """
    root = find_project_root(start)
    data: dict[str, Any] = _read_toml(root / CONFIG_FILE) if root else {}
    dotenv = _read_dotenv((root or (start or Path.cwd())) / ".env")
    env = {**dotenv, **{k: v for k, v in os.environ.items() if v}}
    for variable, dotted in ENV_SETTINGS.items():
        if env.get(variable):
            _set_dotted(data, dotted, env[variable])
    for key, value in overrides.items():
        _set_dotted(data, key.replace("__", "."), value)
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ConfigError(
            f"{CONFIG_FILE} has schema_version = {version}; this hackkit reads version {SCHEMA_VERSION}.",
            hint="upgrade hackkit (`pip install -U hackkit-llm`) or run `hackkit update` in the project",
        )
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, root) from None
    settings.root = root
    settings.dotenv = dotenv
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", hint="fix the line it names") from None


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    if isinstance(value, dict) and isinstance(node.get(last), dict):
        node[last] = {**node[last], **value}
    else:
        node[last] = value


def _config_error(exc: ValidationError, root: Path | None) -> ConfigError:
    where = str(root / CONFIG_FILE) if root else "settings"
    problems = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key `{path}`{_nearest(err['loc'])}")
        else:
            problems.append(f"`{path}`: {err['msg']}")
    return ConfigError(
        f"{where} is not valid:\n  " + "\n  ".join(problems),
        hint="see docs/configuration.md for every key and its default",
    )


def _nearest(loc: tuple[int | str, ...]) -> str:
    """`` (did you mean `llm.model`?)`` for a misspelt key, or the valid keys there."""
    model: type[BaseModel] = Settings
    parts = list(loc[:-1])
    while parts:
        field = model.model_fields.get(str(parts.pop(0)))
        annotation = getattr(field, "annotation", None)
        if get_origin(annotation) is dict:  # a table of named entries: skip the entry's name
            annotation = get_args(annotation)[1]
            if parts:
                parts.pop(0)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return ""
        model = annotation
    names = [n for n, f in model.model_fields.items() if not f.exclude]
    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    if not close:
        return f" (valid keys here: {', '.join(names) or 'none yet'})"
    return f" (did you mean `{'.'.join(map(str, (*loc[:-1], close[0])))}`?)"
