"""``[gateway]`` in the gateway folder's ``hackkit.toml``: what the gateway exposes and to whom.

Part of the settings schema (``Settings.gateway``), so a typo is an error that names the key.
Upstreams are the client's providers (``[llm.providers.NAME]``), and their keys come from the
environment, exactly as for the client.

```toml
[gateway]
default_model = "small"
default_embedding_model = "embed"

[gateway.models]
small = "mistral/mistral-small-latest"
big = { model = "openai/gpt-4o", description = "for the final demo" }
house = { model = "vllm/llama-3.1-8b", input_price = 0.05, output_price = 0.1 }  # USD per million tokens
embed = "local/all-MiniLM-L6-v2"

[gateway.keys]            # defaults for new keys
budget = 5.0              # USD per key
rpm = 60
tpm = 100000
max_tokens = 1024         # an answer's cap when a request sets none, and the most a request may ask
```
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class GatewayModel(_Section):
    """One name the gateway exposes: a client model id, alias or deployment, with optional prices."""

    model: str
    input_price: float | None = Field(default=None, ge=0)  # USD per million tokens; default: the price table
    output_price: float | None = Field(default=None, ge=0)
    description: str = ""
    approval_required: bool = True  # False: a key still waiting for approval may already call it


class KeyDefaults(_Section):
    """What a new key gets unless `hackkit gateway keys create` says otherwise."""

    budget: float | None = Field(default=None, ge=0)  # USD; None: no budget
    rpm: int | None = Field(default=None, ge=1)  # requests per minute
    tpm: int | None = Field(default=None, ge=1)  # tokens per minute
    max_tokens: int = Field(default=1024, ge=1, le=1_000_000)
    expires: str | None = None  # "48h", "7d"; None: never


class GatewayConfig(_Section):
    models: dict[str, str | GatewayModel] = Field(default_factory=dict)
    default_model: str | None = None  # what the client's gateway/default reaches
    default_embedding_model: str | None = None  # what gateway/default-embedding reaches
    keys: KeyDefaults = Field(default_factory=KeyDefaults)
    db: str | None = None  # a SQLite path or a postgresql:// URL; default .hackkit/gateway.sqlite
    log_payloads: bool = False  # store prompts and answers in the log (off: numbers only)
    unpriced: Literal["refuse", "allow"] = "refuse"  # may a budgeted key call a model with no known price?
    max_body_mb: float = Field(default=4.0, gt=0, le=1024)
    admin_rpm: int | None = Field(default=600, ge=1)  # the admin key's own limit on /v1 routes; None: none
    key_requests: bool = True  # teams may ask for a key (POST /v1/key-requests); a mentor approves it
    max_pending: int = Field(default=200, ge=0)  # requests waiting at once, so nobody can flood the queue
    prompts: dict[str, Any] = Field(default_factory=dict)  # published prompt endpoints (see docs/gateway.md)
    policies: dict[str, Any] = Field(default_factory=dict)  # guardrails run on every request

    def model_entries(self) -> dict[str, GatewayModel]:
        """Every exposed name as a GatewayModel."""
        return {
            name: entry if isinstance(entry, GatewayModel) else GatewayModel(model=entry)
            for name, entry in self.models.items()
        }
