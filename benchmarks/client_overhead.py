"""hackkit `chat()` against a loopback server vs raw httpx posting the same request, same run.

Both talk to one wire server (OpenAI format, no added delay) in a separate process. hackkit runs
with the ledger on, as users run it: every row written before the call returns. Sequential, then
concurrent: threads sharing one client, and asyncio tasks. Each mode runs ``--rounds`` times,
raw and hackkit interleaved; the verdict is on the median round's ratio, and the spread of the
rounds is printed beside it, so one lucky run cannot pass.
Target: overhead ratio under 1.15 in each mode.
    python benchmarks/client_overhead.py [--requests 1000] [--concurrency 16] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _common import summary, verdict, wire_server_process

from hackkit.config import load_settings
from hackkit.llm import Client

TARGET_RATIO = 1.15
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Give me three names for a hackathon team that builds LLM apps."},
]


def raw_caller(url: str) -> tuple[httpx.Client, object]:
    client = httpx.Client()
    headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
    payload = {"model": "gpt-4o-mini", "messages": MESSAGES}

    def call() -> str:
        response = client.post(url + "/chat/completions", json=payload, headers=headers, timeout=30)
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]

    return client, call


def hackkit_caller(url: str, project: Path) -> tuple[Client, object]:
    os.environ["OPENAI_API_KEY"] = "bench"
    client = Client(load_settings(project, llm__providers={"openai": {"base_url": url}}))

    def call() -> str:
        return client.chat(MESSAGES, "openai/gpt-4o-mini").text

    return client, call


def sequential(call: object, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return samples


def concurrent(call: object, n: int, workers: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda _: call(), range(n)))  # type: ignore[operator]
    return n / (time.perf_counter() - started)


async def async_throughput(url: str, project: Path, n: int, workers: int, rounds: int) -> tuple[float, float]:
    """Requests/s for raw httpx.AsyncClient and hackkit achat(), ``workers`` in flight, interleaved."""
    client = Client(load_settings(project, llm__providers={"openai": {"base_url": url}}))
    raw = httpx.AsyncClient()
    headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
    payload = {"model": "gpt-4o-mini", "messages": MESSAGES}

    async def raw_call() -> str:
        response = await raw.post(url + "/chat/completions", json=payload, headers=headers, timeout=30)
        return response.json()["choices"][0]["message"]["content"]

    async def hk_call() -> str:
        return (await client.achat(MESSAGES, "openai/gpt-4o-mini")).text

    async def run(call: object) -> float:
        gate = asyncio.Semaphore(workers)

        async def one() -> None:
            async with gate:
                await call()  # type: ignore[operator]

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - started)

    await run(raw_call), await run(hk_call)  # warm up
    ratios = []
    for _ in range(rounds):
        raw_rps, hk_rps = await run(raw_call), await run(hk_call)
        ratios.append((raw_rps, hk_rps))
    await raw.aclose()
    await client.aclose()
    return ratios


def report(label: str, raw: str, hackkit: str, pairs: list[tuple[float, float]], unit: str) -> None:
    """Each round's raw and hackkit figures, their ratio, and the verdict on the median round."""
    ratios = sorted(h / r if unit == "ms" else r / h for r, h in pairs)
    median = statistics.median(ratios)
    raw_mid = statistics.median(r for r, _ in pairs)
    hk_mid = statistics.median(h for _, h in pairs)
    print(label)
    print(f"  {raw:<24}{raw_mid:9.2f} {unit}  (median of {len(pairs)} rounds)")
    print(f"  {hackkit:<24}{hk_mid:9.2f} {unit}")
    spread = " ".join(f"{r:.3f}" for r in ratios)
    print(
        f"  overhead ratio {median:.3f} (rounds: {spread}; target < {TARGET_RATIO})  {verdict(median < TARGET_RATIO)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000, help="per mode and side, over all rounds")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, wire_server_process("openai") as url:
        project = Path(tmp)
        (project / "hackkit.toml").write_text("schema_version = 1\n")
        raw_client, raw = raw_caller(url)
        hk_client, hk = hackkit_caller(url, project)
        sequential(raw, 50), sequential(hk, 50)  # warm connections, imports, the ledger
        seq_pairs, thread_pairs = [], []
        per_round = args.requests // args.rounds
        for _ in range(args.rounds):  # interleaved so drift on a noisy machine hits both
            raw_p50, hk_p50 = summary(sequential(raw, per_round))["p50"], summary(sequential(hk, per_round))["p50"]
            seq_pairs.append((raw_p50 * 1000, hk_p50 * 1000))
            thread_pairs.append(
                (concurrent(raw, per_round, args.concurrency), concurrent(hk, per_round, args.concurrency))
            )
        rows = hk_client.ledger.usage(by="model")[0]["calls"] if hk_client.ledger else 0
        raw_client.close()
        hk_client.close()
        async_pairs = asyncio.run(async_throughput(url, project, per_round, args.concurrency, args.rounds))
    report(
        f"sequential p50, {per_round} requests a round (ledger on: {rows} rows written)",
        "raw httpx",
        "hackkit chat()",
        seq_pairs,
        "ms",
    )
    report(f"concurrent, {args.concurrency} threads", "raw httpx", "hackkit chat()", thread_pairs, "req/s")
    report(
        f"asyncio, {args.concurrency} requests in flight",
        "raw httpx.AsyncClient",
        "hackkit achat()",
        async_pairs,
        "req/s",
    )


if __name__ == "__main__":
    main()
