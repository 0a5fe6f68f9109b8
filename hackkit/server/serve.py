"""``hackkit gateway serve``: the admin key, the store, the start-up banner, and uvicorn.

The admin key is ``HACKKIT_GATEWAY_ADMIN_KEY``, or one generated at first start into
``.hackkit/gateway-admin-key`` (mode 0600) in the gateway folder. Several workers share one
store: SQLite on one machine; PostgreSQL (``--db postgresql://...``) across machines.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from hackkit.config import Settings
from hackkit.errors import ConfigError, MissingDependencyError
from hackkit.server.store import SQLStore, open_store

ADMIN_KEY_VARIABLE = "HACKKIT_GATEWAY_ADMIN_KEY"
ADMIN_KEY_FILE = "gateway-admin-key"
INSTALL_GATEWAY = "pip install 'hackkit-llm[gateway]'"


def gateway_root(settings: Settings) -> Path:
    return settings.root or Path.cwd()


def admin_key(settings: Settings) -> tuple[str, str]:
    """(the admin key, where it is kept), creating the key file on first use."""
    from_env = settings.env(ADMIN_KEY_VARIABLE)
    if from_env:
        return from_env, f"${ADMIN_KEY_VARIABLE}"
    path = gateway_root(settings) / ".hackkit" / ADMIN_KEY_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker made it first
        else:
            with os.fdopen(handle, "w") as file:
                file.write("hk-admin-" + secrets.token_urlsafe(24) + "\n")
    return path.read_text().strip(), str(path)


def open_gateway_store(settings: Settings, db: str | None = None) -> SQLStore:
    """The store from ``db`` (``--db``), else ``HACKKIT_GATEWAY_DB`` / ``[gateway] db``, else SQLite in the folder."""
    return open_store(db or settings.gateway.db, gateway_root(settings))


@dataclass
class Banner:
    url: str
    models: str
    store: str
    admin: str
    workers: int

    def lines(self) -> list[str]:
        return [
            f"hackkit gateway on {self.url} ({self.workers} worker{'s' if self.workers > 1 else ''})",
            f"  models: {self.models}",
            f"  store:  {self.store}",
            f"  admin key: {self.admin}",
            "  a team's key: hackkit gateway keys create --team NAME",
            f'  try it: curl -s {self.url}/v1/chat/completions -H "Authorization: Bearer $(cat '
            f".hackkit/{ADMIN_KEY_FILE})\" -H 'content-type: application/json' "
            '-d \'{"model": "default", "messages": [{"role": "user", "content": "hi"}]}\'',
        ]


def prepare(settings: Settings, host: str, port: int, workers: int, db: str | None) -> Banner:
    """Everything the workers need before they start: the admin key, a migrated store, the catalog."""
    for module, what in (("uvicorn", "uvicorn"), ("httptools", "httptools"), ("aiohttp", "aiohttp")):
        import importlib.util

        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(f"{what} (the gateway's web server and upstream client)", INSTALL_GATEWAY)
    if workers < 1:
        raise ConfigError("--workers must be at least 1.")
    from hackkit.server.policies import Guardrails

    Guardrails(settings.gateway.policies)  # a bad rule stops serve here, with its message
    store = open_gateway_store(settings, db)
    store.close()
    _, where = admin_key(settings)
    from hackkit.llm.client import Client
    from hackkit.server.catalog import Catalog

    catalog = Catalog(settings, Client(settings).router)
    from hackkit.server.prompts import PromptRegistry

    published = PromptRegistry(gateway_root(settings) / "prompts", settings.gateway.prompts).endpoints()
    for endpoint in published.values():  # every prompt names a model the gateway exposes
        for prompt in endpoint.versions.values():
            if prompt.model and prompt.model not in catalog.models:
                raise ConfigError(
                    f"{prompt.source} uses the model {prompt.model!r}, which [gateway.models] does not have.",
                    hint=f"name one of {', '.join(catalog.models)} in its front matter",
                )
    from hackkit.server.store.postgres import masked

    models = catalog.describe() + (f"; prompt endpoints: {', '.join(published)}" if published else "")
    return Banner(f"http://{host}:{port}", models, masked(store.url), where, workers)


def run(root: Path, host: str, port: int, workers: int, db: str | None, log_level: str = "warning") -> None:
    """Serve until stopped; workers are restarted by uvicorn's supervisor if one dies."""
    import uvicorn

    os.environ["HACKKIT_GATEWAY_ROOT"] = str(root)
    if db:
        os.environ["HACKKIT_GATEWAY_DB"] = db
    uvicorn.run(
        "hackkit.server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop" if _has("uvloop") else "asyncio",
        http="httptools" if _has("httptools") else "h11",
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
