"""How HTTP providers send async requests: httpx (the default), aiohttp, or plainhttp (the gateway's).

A transport knows nothing of wire formats: a URL, headers and a JSON body go in; a status,
headers and the body (or its lines, for a stream) come out, and transport failures come out as
hackkit's ``ProviderTimeout`` and ``ProviderConnectionError``. httpx is the default because it is
already a dependency; aiohttp costs several times less CPU per request (its connection pool is
not scanned on every request); ``plainhttp`` (``_plainhttp.py``) is aiohttp for HTTPS and a smaller
client of its own for plain HTTP, where a fast upstream makes the client's cost count most: what a
gateway serving a room needs.

Each transport keeps one connection pool per event loop: a pool cannot move between loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from hackkit.errors import ProviderConnectionError, ProviderTimeout

CONNECT_TIMEOUT = 10.0


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]  # case-insensitive in both implementations
    body: bytes


class StreamReply(Protocol):
    status: int
    headers: Mapping[str, str]

    async def read(self) -> bytes: ...

    def lines(self) -> AsyncIterator[str]: ...


class AsyncTransport(Protocol):
    name: str

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float, provider: str) -> Reply: ...

    def stream(
        self, url: str, body: bytes, headers: dict[str, str], timeout: float, provider: str
    ) -> contextlib.AbstractAsyncContextManager[StreamReply]: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...


def timeout_error(provider: str, what: str) -> ProviderTimeout:
    return ProviderTimeout(
        f"{provider} did not answer in time ({what}).",
        provider=provider,
        hint="raise [llm.router] timeout in hackkit.toml, or add a fallback model",
    )


def connection_error(provider: str, exc: BaseException) -> ProviderConnectionError:
    return ProviderConnectionError(
        f"Could not talk to {provider}: {str(exc) or type(exc).__name__}",
        provider=provider,
        hint="check the provider's base_url and that it is running (`hackkit doctor`)",
    )


class _PerLoop:
    """One pool per event loop, created on first use in that loop."""

    def __init__(self) -> None:
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    def pool(self) -> Any:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = self.new_pool()
        return pool

    def new_pool(self) -> Any:
        raise NotImplementedError

    async def close_pool(self, pool: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Close every loop's pool from sync code: on its loop if that loop still runs, else at once."""
        pools, self._pools = list(self._pools.items()), weakref.WeakKeyDictionary()
        for loop, pool in pools:
            _run_on(loop, self.close_pool(pool))

    async def aclose(self) -> None:
        mine = self._pools.pop(asyncio.get_running_loop(), None)
        self.close()
        if mine is not None:
            await self.close_pool(mine)


def _run_on(loop: asyncio.AbstractEventLoop, coroutine: Any) -> None:
    if loop.is_closed():
        coroutine.close()  # its connections died with their loop
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        loop.create_task(coroutine)  # close() called from a coroutine without await
    elif loop.is_running():
        asyncio.run_coroutine_threadsafe(coroutine, loop)
    else:
        loop.run_until_complete(coroutine)


class HttpxTransport(_PerLoop):
    name = "httpx"

    def new_pool(self) -> Any:
        import httpx

        return httpx.AsyncClient(limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))

    async def close_pool(self, pool: Any) -> None:
        await pool.aclose()

    @staticmethod
    def _timeout(seconds: float) -> Any:
        import httpx

        return httpx.Timeout(seconds, connect=min(CONNECT_TIMEOUT, seconds))

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float, provider: str) -> Reply:
        with _httpx_errors(provider):
            response = await self.pool().post(url, content=body, headers=headers, timeout=self._timeout(timeout))
            return Reply(response.status_code, response.headers, response.content)

    @contextlib.asynccontextmanager
    async def stream(
        self, url: str, body: bytes, headers: dict[str, str], timeout: float, provider: str
    ) -> AsyncIterator[StreamReply]:
        with _httpx_errors(provider):
            request = self.pool().stream("POST", url, content=body, headers=headers, timeout=self._timeout(timeout))
            async with request as response:
                yield _HttpxStream(response, provider)


class _HttpxStream:
    def __init__(self, response: Any, provider: str) -> None:
        self.response = response
        self.status = response.status_code
        self.headers = response.headers
        self.provider = provider

    async def read(self) -> bytes:
        with _httpx_errors(self.provider):
            return bytes(await self.response.aread())

    async def lines(self) -> AsyncIterator[str]:
        with _httpx_errors(self.provider):
            async for line in self.response.aiter_lines():
                yield line


@contextlib.contextmanager
def _httpx_errors(provider: str) -> Any:
    import httpx

    try:
        yield
    except httpx.TimeoutException as exc:
        raise timeout_error(provider, type(exc).__name__) from exc
    except (httpx.TransportError, httpx.StreamError) as exc:
        raise connection_error(provider, exc) from exc


class AiohttpTransport(_PerLoop):
    """aiohttp's client: the gateway's upstream transport (``pip install 'hackkit-llm[gateway]'``)."""

    name = "aiohttp"

    def new_pool(self) -> Any:
        try:
            import aiohttp
        except ImportError:
            from hackkit.errors import MissingDependencyError

            raise MissingDependencyError(
                "aiohttp (the gateway's upstream client)", "pip install 'hackkit-llm[gateway]'"
            ) from None

        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=30, ttl_dns_cache=300)
        return aiohttp.ClientSession(connector=connector, auto_decompress=True, trust_env=False)

    async def close_pool(self, pool: Any) -> None:
        await pool.close()

    @staticmethod
    def _timeout(seconds: float) -> Any:
        import aiohttp

        return aiohttp.ClientTimeout(total=None, connect=min(CONNECT_TIMEOUT, seconds), sock_read=seconds)

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float, provider: str) -> Reply:
        async with (
            _aiohttp_errors(provider),
            self.pool().post(url, data=body, headers=headers, timeout=self._timeout(timeout)) as response,
        ):
            return Reply(response.status, response.headers, await response.read())

    @contextlib.asynccontextmanager
    async def stream(
        self, url: str, body: bytes, headers: dict[str, str], timeout: float, provider: str
    ) -> AsyncIterator[StreamReply]:
        async with (
            _aiohttp_errors(provider),
            self.pool().post(url, data=body, headers=headers, timeout=self._timeout(timeout)) as response,
        ):
            yield _AiohttpStream(response, provider)


class _AiohttpStream:
    def __init__(self, response: Any, provider: str) -> None:
        self.response = response
        self.status = response.status
        self.headers = response.headers
        self.provider = provider

    async def read(self) -> bytes:
        async with _aiohttp_errors(self.provider):
            return bytes(await self.response.read())

    async def lines(self) -> AsyncIterator[str]:
        async with _aiohttp_errors(self.provider):
            async for raw in self.response.content:
                yield raw.decode("utf-8", "replace").rstrip("\r\n")


@contextlib.asynccontextmanager
async def _aiohttp_errors(provider: str) -> AsyncIterator[None]:
    import aiohttp

    try:
        yield
    except asyncio.TimeoutError as exc:
        raise timeout_error(provider, "timed out") from exc
    except aiohttp.ClientError as exc:
        raise connection_error(provider, exc) from exc


def make_transport(name: str) -> AsyncTransport:
    """``httpx``, ``aiohttp``, or ``plainhttp`` (the gateway's: plain HTTP on its own client, HTTPS on aiohttp)."""
    from hackkit.errors import ConfigError

    if name == "httpx":
        return HttpxTransport()
    if name == "aiohttp":
        return AiohttpTransport()
    if name == "plainhttp":
        from hackkit.llm.providers._plainhttp import PlainHttpTransport

        return PlainHttpTransport()
    raise ConfigError(f"No async transport is called {name!r}.", hint="use httpx, aiohttp or plainhttp")
