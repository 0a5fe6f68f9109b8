"""What the gateway exposes: names, the client models behind them, and their prices.

A name comes from ``[gateway.models]``; with none configured, the gateway exposes the default model
of every provider whose key is set, plus the local models, and says so at start. The client's
``gateway/default`` and ``gateway/default-embedding`` reach ``default_model`` and
``default_embedding_model``, so a project made with ``hackkit new --provider gateway`` works unchanged.

Prices are USD per million tokens: the entry's own, else the client's price table for the model
behind it. A name whose chain has several models is reserved at the dearest of them (a fallback
may answer) and charged at the price of the one that answered.
"""

from __future__ import annotations

from dataclasses import dataclass

from hackkit.config import Settings
from hackkit.llm.client import OFFLINE_EMBEDDING_MODEL, OFFLINE_MODEL
from hackkit.llm.keys import PROVIDER_KEYS
from hackkit.llm.prices import price_of
from hackkit.llm.router import Router
from hackkit.server.config import GatewayModel
from hackkit.server.errors import ApiError

DEFAULT_ALIASES = {"default": "default_model", "default-embedding": "default_embedding_model"}
Price = tuple[float, float]  # USD per million (input, output) tokens


@dataclass
class Exposed:
    name: str
    target: str  # a client model id, alias or deployment
    description: str = ""
    price: Price | None = None  # the entry's own prices, if it set them
    approval_required: bool = True

    @property
    def alias(self) -> str:
        """The name the gateway's router knows this entry by."""
        return f"gateway:{self.name}"


class Catalog:
    def __init__(self, settings: Settings, router: Router) -> None:
        self.settings = settings
        self.router = router
        config = settings.gateway
        entries = config.model_entries() or discovered_models(settings)
        self.configured = bool(config.models)
        self.models = {name: _exposed(name, entry) for name, entry in entries.items()}
        self.default_model = config.default_model or _first(self.models, embedding=False)
        self.default_embedding_model = config.default_embedding_model or _first(self.models, embedding=True)

    def aliases(self) -> dict[str, str]:
        """``[llm.aliases]`` entries that route each exposed name to its model."""
        return {model.alias: model.target for model in self.models.values()}

    def get(self, name: object, allowed: list[str] | None = None) -> Exposed:
        """The exposed model called ``name``; a 404 that lists what the caller may use otherwise."""
        if isinstance(name, str) and name in DEFAULT_ALIASES:
            name = getattr(self, DEFAULT_ALIASES[name]) or name
        if not isinstance(name, str) or name not in self.models or (allowed is not None and name not in allowed):
            names = self.names(allowed)
            raise ApiError(
                404,
                f"The model {name!r} does not exist on this gateway. Models you may use: {', '.join(names) or 'none'}.",
                code="model_not_found",
                param="model",
            )
        return self.models[name]

    def names(self, allowed: list[str] | None = None) -> list[str]:
        return [name for name in self.models if allowed is None or name in allowed]

    def price(self, model: Exposed, answered: str | None = None) -> Price | None:
        """What one call to ``model`` costs per million tokens: as answered, or at worst before the call."""
        if model.price is not None:
            return model.price
        if answered is not None:
            return price_of(answered)
        prices = [price_of(member) for member in self.router.members(model.alias)]
        if any(p is None for p in prices) or not prices:
            return None
        return max(p[0] for p in prices if p), max(p[1] for p in prices if p)

    def describe(self) -> str:
        """One line for the start-up banner."""
        origin = "from [gateway.models]" if self.configured else "found from the keys set here (no [gateway.models])"
        return f"{len(self.models)} models {origin}: {', '.join(self.models)}; default {self.default_model}"


def _exposed(name: str, entry: GatewayModel) -> Exposed:
    price = None
    if entry.input_price is not None or entry.output_price is not None:
        price = (entry.input_price or 0.0, entry.output_price or 0.0)
    return Exposed(name, entry.model, entry.description, price, entry.approval_required)


def discovered_models(settings: Settings) -> dict[str, GatewayModel]:
    """With no ``[gateway.models]``: each keyed provider's default models, then the local ones."""
    found: dict[str, GatewayModel] = {}
    for key in PROVIDER_KEYS:
        if not settings.env(key.variable):
            continue
        for model_id in (key.chat_model, key.embedding_model):
            if model_id:
                found[model_id.partition("/")[2]] = GatewayModel(model=model_id, description=f"{key.provider}")
    found[OFFLINE_MODEL.partition("/")[2]] = GatewayModel(model=OFFLINE_MODEL, description="offline, on this machine")
    found[OFFLINE_EMBEDDING_MODEL.partition("/")[2]] = GatewayModel(
        model=OFFLINE_EMBEDDING_MODEL, description="offline embeddings"
    )
    return found


def _first(models: dict[str, Exposed], *, embedding: bool) -> str | None:
    for name, model in models.items():
        if ("embed" in model.target.lower() or "minilm" in model.target.lower()) == embedding:
            return name
    return None
