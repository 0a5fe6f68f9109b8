"""Settings: ``hackkit.toml`` < ``.env`` < environment < explicit arguments.

``hackkit.toml`` is found by walking up from the working folder; the folder that holds it is the
project root, and ``.env`` is read from there (or from the working folder outside a project).
Provider keys are never stored in ``hackkit.toml``: they are read with :meth:`Settings.env`, which
looks in the environment first and ``.env`` second.
"""

from __future__ import annotations

import difflib
import operator
import os
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo

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
    timeout: float | None = Field(default=None, gt=0)
    context_window: int | None = Field(default=None, ge=1)


class DeploymentConfig(_Section):
    """Several concrete models behind one name, picked by ``strategy``."""

    models: list[str]
    strategy: Literal["round_robin", "least_latency", "cheapest"] = "round_robin"


class RouterConfig(_Section):
    timeout: float = Field(default=30.0, gt=0)  # seconds per attempt (a stream: to its start, then between pieces)
    deadline: float = Field(default=90.0, gt=0)  # seconds for the whole call, retries and fallbacks, to an answer
    max_retries: int = Field(default=2, ge=0)
    backoff: float = Field(default=0.5, ge=0)
    max_backoff: float = Field(default=8.0, ge=0)
    max_retry_after: float = Field(default=30.0, ge=0)
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
    max_file_mb: float = Field(default=50.0, gt=0)
    embedding_model: str = "local/all-MiniLM-L6-v2"
    chunk_size: int = Field(default=200, ge=1)  # tokens of the embedding model's tokenizer
    chunk_overlap: int = Field(default=30, ge=0)  # below chunk_size; at most half of it is used
    chroma_url: str | None = None  # a Chroma server (`chroma run`); default: a folder in .hackkit/
    collection: str = "hackkit"
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    top_k: int = Field(default=5, ge=1)
    candidates: int = Field(default=100, ge=1)  # per retriever, before fusion
    exact_search_limit: int = Field(default=20_000, ge=0)  # up to this many chunks dense search is exact, not HNSW
    rrf_k: int = Field(default=60, ge=0)
    min_score: float = Field(default=0.3, ge=-1, le=1)  # cosine similarity a chunk needs to be shown as a source
    reranker: str | None = None  # a sentence-transformers CrossEncoder, when one is installed
    model: str | None = None  # the chat model for answers; default: [llm] model
    prompt: str = "rag-answer"  # the prompt template answers use (prompts/NAME.md overrides the built-in)
    # auto: quote the sources when the answering model is local and under 1e9 parameters; extractive: always
    answer: Literal["auto", "extractive", "generate"] = "auto"

    @model_validator(mode="after")
    def _overlap_below_size(self) -> RAGConfig:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"`chunk_overlap` = {self.chunk_overlap} must be smaller than `chunk_size` = {self.chunk_size}"
            )
        return self


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
    rate_limit_per_minute: int = Field(default=10, ge=0)  # per visitor address, so a demo cannot drain the key; 0: off
    max_tokens: int = Field(default=512, ge=1)  # cap on every answer's length
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
        elif err["type"] in RANGE_ERRORS and (field := _field_at(err["loc"])) is not None:
            problems.append(f"`{path}` = {err['input']!r} is out of range: it must be {describe_range(field)}")
        else:
            problems.append(f"`{path}`: {err['msg'].removeprefix('Value error, ')}")
    return ConfigError(
        f"{where} is not valid:\n  " + "\n  ".join(problems),
        hint="see docs/configuration.md for every key, its default and its valid range",
    )


RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
BOUND_WORDS = {
    annotated_types.Ge: ("at least", "ge"),
    annotated_types.Gt: ("greater than", "gt"),
    annotated_types.Le: ("at most", "le"),
    annotated_types.Lt: ("less than", "lt"),
}


def _bounds(field: FieldInfo) -> list[tuple[str, str, Any]]:
    """(words, operator, bound) for each numeric constraint of a field."""
    found = []
    for item in field.metadata:
        for kind, (words, attribute) in BOUND_WORDS.items():
            if isinstance(item, kind):
                found.append((words, attribute, getattr(item, attribute)))
    return found


def describe_range(field: FieldInfo) -> str:
    """A field's valid range in words: ``between -1 and 1``, ``at least 1``, ``greater than 0``."""
    bounds = _bounds(field)
    if [op for _, op, _ in bounds] == ["ge", "le"]:
        return f"between {bounds[0][2]:g} and {bounds[1][2]:g}"
    return " and ".join(f"{words} {bound:g}" for words, _, bound in bounds)


def check_range(section: type[BaseModel], name: str, value: Any, label: str) -> Any:
    """``value`` when it is in the range of ``section``'s field ``name``, else a ConfigError naming ``label``.

    For values that reach a setting another way than the file: ``hackkit ask -k``, ``ask(k=...)``.
    """
    field = section.model_fields[name]
    compare = {"ge": operator.ge, "gt": operator.gt, "le": operator.le, "lt": operator.lt}
    if isinstance(value, (int, float)) and all(compare[op](value, bound) for _, op, bound in _bounds(field)):
        return value
    raise ConfigError(
        f"{label} = {value!r} is out of range: it must be {describe_range(field)}.",
        hint=f"give a value {describe_range(field)}",
    )


def _field_at(loc: tuple[int | str, ...]) -> FieldInfo | None:
    """The schema field an error location points to, or None."""
    model: type[BaseModel] = Settings
    parts = [str(p) for p in loc]
    while parts:
        field = model.model_fields.get(parts.pop(0))
        if field is None:
            return None
        annotation = field.annotation
        if get_origin(annotation) is dict and parts:
            annotation = get_args(annotation)[1]
            parts.pop(0)
        if not parts:
            return field
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return None


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
