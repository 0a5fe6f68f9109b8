"""What ``hackkit gateway keys|logs|usage`` act on: the store in this folder, or a gateway's ``/admin`` routes.

Both give the same answers, so the CLI does not care which: run in the gateway's folder, commands
open its store directly; with ``--url`` (and the admin key in ``HACKKIT_GATEWAY_ADMIN_KEY``) they go
through a running gateway. Either way a change takes effect on every worker at once.
"""

from __future__ import annotations

from typing import Any, Protocol

from hackkit.config import Settings
from hackkit.errors import ConfigError, HackkitError
from hackkit.server.keys import KeySpec


class Control(Protocol):
    def create_key(self, spec: KeySpec) -> dict[str, Any]: ...

    def list_keys(self) -> list[dict[str, Any]]: ...

    def revoke(self, key_id: str) -> dict[str, Any]: ...

    def rotate(self, key_id: str) -> dict[str, Any]: ...

    def logs(self, after: int = 0, team: str | None = None, limit: int = 100) -> list[dict[str, Any]]: ...

    def usage(self, by: str) -> list[dict[str, Any]]: ...

    def request_key(self, team: str, contact: str, reason: str | None, models: list[str] | None) -> dict[str, Any]: ...

    def pending(self) -> list[dict[str, Any]]: ...

    def approve(self, key_id: str, limits: dict[str, Any]) -> dict[str, Any]: ...

    def deny(self, key_id: str, reason: str) -> dict[str, Any]: ...

    def close(self) -> None: ...


class LocalControl:
    def __init__(self, settings: Settings, db: str | None = None) -> None:
        from hackkit.server.serve import open_gateway_store

        self.settings = settings
        self.store = open_gateway_store(settings, db)

    def create_key(self, spec: KeySpec) -> dict[str, Any]:
        from hackkit.server.keys import create

        key, secret = create(self.store, spec, actor="cli")
        return {**key.public(), "key": secret}

    def list_keys(self) -> list[dict[str, Any]]:
        return [key.public() for key in self.store.list_keys()]

    def revoke(self, key_id: str) -> dict[str, Any]:
        return self.store.revoke_key(key_id, actor="cli").public()

    def rotate(self, key_id: str) -> dict[str, Any]:
        key, secret = self.store.rotate_key(key_id, actor="cli")
        return {**key.public(), "key": secret}

    def logs(self, after: int = 0, team: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return self.store.logs(after=after, team=team, limit=limit)

    def usage(self, by: str) -> list[dict[str, Any]]:
        return self.store.usage(by)

    def request_key(self, team: str, contact: str, reason: str | None, models: list[str] | None) -> dict[str, Any]:
        defaults = self.settings.gateway.keys
        limits = {"budget_usd": defaults.budget, "rpm": defaults.rpm, "tpm": defaults.tpm}
        key, secret = self.store.request_key(
            team, contact=contact, reason=reason, models=models, limits={**limits, "max_tokens": defaults.max_tokens}
        )
        return {**key.public(), "key": secret}

    def pending(self) -> list[dict[str, Any]]:
        return [key.public() for key in self.store.pending_keys()]

    def approve(self, key_id: str, limits: dict[str, Any]) -> dict[str, Any]:
        return self.store.approve_key(key_id, "cli", **limits).public()

    def deny(self, key_id: str, reason: str) -> dict[str, Any]:
        return self.store.deny_key(key_id, reason, "cli").public()

    def close(self) -> None:
        self.store.close()


class RemoteControl:
    """The same operations through a running gateway's ``/admin`` routes."""

    def __init__(self, url: str, admin_key: str | None, *, anonymous: bool = False) -> None:
        """``anonymous``: for the one route a team may call without a key (asking for one)."""
        import httpx

        if not admin_key and not anonymous:
            raise ConfigError(
                "--url needs the gateway's admin key.",
                hint="export HACKKIT_GATEWAY_ADMIN_KEY=... (it is in .hackkit/gateway-admin-key on the gateway)",
            )
        self.url = url.rstrip("/").removesuffix("/v1")
        headers = {"Authorization": f"Bearer {admin_key}"} if admin_key else {}
        self.http = httpx.Client(headers=headers, timeout=30)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self.http.request(method, self.url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise HackkitError(f"Could not reach the gateway at {self.url}: {exc}", hint="check --url") from None
        body = response.json() if response.content else {}
        if response.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise HackkitError(f"The gateway said HTTP {response.status_code}: {error.get('message', body)}")
        return body

    def create_key(self, spec: KeySpec) -> dict[str, Any]:
        body = {k: v for k, v in vars(spec).items() if v is not None}
        result: dict[str, Any] = self._call("POST", "/admin/keys", json=body)
        return result

    def list_keys(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/admin/keys")["data"])

    def revoke(self, key_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/admin/keys/{key_id}/revoke"))

    def rotate(self, key_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/admin/keys/{key_id}/rotate"))

    def logs(self, after: int = 0, team: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"after": after, "limit": limit, **({"team": team} if team else {})}
        return list(self._call("GET", "/admin/logs", params=params)["data"])

    def usage(self, by: str) -> list[dict[str, Any]]:
        return list(self._call("GET", "/admin/usage", params={"by": by})["data"])

    def request_key(self, team: str, contact: str, reason: str | None, models: list[str] | None) -> dict[str, Any]:
        body = {"team": team, "contact": contact, "reason": reason, "models": models}
        return dict(self._call("POST", "/v1/key-requests", json=body))

    def pending(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/admin/keys", params={"status": "pending"})["data"])

    def approve(self, key_id: str, limits: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in {**limits, "budget": limits.get("budget_usd")}.items() if k != "budget_usd"}
        return dict(self._call("POST", f"/admin/keys/{key_id}/approve", json=body))

    def deny(self, key_id: str, reason: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/admin/keys/{key_id}/deny", json={"reason": reason}))

    def close(self) -> None:
        self.http.close()


def control(settings: Settings, url: str | None, db: str | None, *, anonymous: bool = False) -> Control:
    if url:
        from hackkit.server.serve import ADMIN_KEY_VARIABLE

        return RemoteControl(url, settings.env(ADMIN_KEY_VARIABLE), anonymous=anonymous)
    return LocalControl(settings, db)
