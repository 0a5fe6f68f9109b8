"""How the gateway relays an SSE stream's events to the client: in order, bursts in one write, bounded.

``_pump`` is driven here with the ASGI ``send`` a server would give it; the HTTP tests in
``test_gateway.py`` cover the same path end to end (streams, disconnects, upstream faults).
"""

from __future__ import annotations

import asyncio

import pytest

from hackkit.server.app import PUMP_BACKLOG, _pump
from hackkit.server.gateway import Streamed


class Client:
    """An ASGI ``send`` that records each body write; ``slow`` makes each write wait for ``release``."""

    def __init__(self, slow: bool = False) -> None:
        self.writes: list[bytes] = []
        self.ended = False
        self.slow = slow
        self.release = asyncio.Event()

    async def send(self, message: dict) -> None:
        if self.slow:
            await self.release.wait()
        if message["more_body"]:
            self.writes.append(message["body"])
        else:
            self.ended = True


def stream(events) -> Streamed:
    return Streamed({}, events)


def test_events_made_together_leave_in_one_write_in_order():
    async def burst():
        for n in range(5):
            yield f"data: {n}\n\n".encode()

    client = Client()
    asyncio.run(_pump(stream(burst()), client.send))
    assert client.writes == [b"".join(f"data: {n}\n\n".encode() for n in range(5))]
    assert client.ended


def test_an_event_that_comes_alone_leaves_before_the_next_is_made():
    seen_by_client: list[int] = []
    client = Client()

    async def trickle():
        for n in range(3):
            seen_by_client.append(len(client.writes))  # what the client had when event n was being made
            yield f"data: {n}\n\n".encode()
            await asyncio.sleep(0.01)  # the upstream's next token is not there yet

    asyncio.run(_pump(stream(trickle()), client.send))
    assert client.writes == [f"data: {n}\n\n".encode() for n in range(3)]
    assert seen_by_client == [0, 1, 2]  # each event was sent before the next one was waited for


def test_a_slow_client_holds_the_upstream_back_instead_of_filling_memory():
    made = 0

    async def endless():
        nonlocal made
        while True:
            made += 1
            yield b"data: x\n\n"
            await asyncio.sleep(0)

    async def main() -> None:
        client = Client(slow=True)
        pump = asyncio.create_task(_pump(stream(endless()), client.send))
        for _ in range(4 * PUMP_BACKLOG):
            await asyncio.sleep(0)
        assert made == 1 + PUMP_BACKLOG  # the write that waits for the client, then the backlog, and no more
        pump.cancel()
        await asyncio.gather(pump, return_exceptions=True)

    asyncio.run(main())


def test_an_error_from_the_events_reaches_the_caller_after_what_was_made_and_closes_them():
    closed = []

    async def failing():
        try:
            yield b"data: 1\n\n"
            raise RuntimeError("upstream broke")
        finally:
            closed.append(True)

    client = Client()
    with pytest.raises(RuntimeError, match="upstream broke"):
        asyncio.run(_pump(stream(failing()), client.send))
    assert client.writes == [b"data: 1\n\n"] and not client.ended and closed == [True]
