"""hackkit `chat()` against a loopback server vs raw httpx posting the same request, same run.

Both talk to one wire server (OpenAI format, no added delay) in a separate process. hackkit runs
with the ledger on, as users run it. Sequential, then concurrent: threads sharing one client, and asyncio tasks.
Target: overhead ratio under 1.15 in both.
    python benchmarks/client_overhead.py [--requests 400] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
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
    raw_rps, hk_rps = [], []
    for _ in range(rounds):
        raw_rps.append(await run(raw_call))
        hk_rps.append(await run(hk_call))
    await raw.aclose()
    client.close()
    return sorted(raw_rps)[rounds // 2], sorted(hk_rps)[rounds // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, wire_server_process("openai") as url:
        project = Path(tmp)
        (project / "hackkit.toml").write_text("schema_version = 1\n")
        raw_client, raw = raw_caller(url)
        hk_client, hk = hackkit_caller(url, project)
        sequential(raw, 50), sequential(hk, 50)  # warm connections, imports, the ledger
        raw_seq, hk_seq, raw_rps, hk_rps = [], [], [], []
        per_round = args.requests // args.rounds
        for _ in range(args.rounds):  # interleaved so drift on a noisy machine hits both
            raw_seq += sequential(raw, per_round)
            hk_seq += sequential(hk, per_round)
            raw_rps.append(concurrent(raw, per_round, args.concurrency))
            hk_rps.append(concurrent(hk, per_round, args.concurrency))
        rows = hk_client.ledger.usage(by="model")[0]["calls"] if hk_client.ledger else 0
        raw_client.close()
        hk_client.close()
        raw_async, hk_async = asyncio.run(async_throughput(url, project, per_round, args.concurrency, args.rounds))
    r, h = summary(raw_seq), summary(hk_seq)
    seq_ratio = h["p50"] / r["p50"]
    raw_tp, hk_tp = sorted(raw_rps)[len(raw_rps) // 2], sorted(hk_rps)[len(hk_rps) // 2]
    conc_ratio = raw_tp / hk_tp
    print(f"sequential, {len(raw_seq)} requests each")
    print(f"  raw httpx       p50 {r['p50'] * 1000:6.2f} ms  p95 {r['p95'] * 1000:6.2f} ms")
    print(f"  hackkit chat()  p50 {h['p50'] * 1000:6.2f} ms  p95 {h['p95'] * 1000:6.2f} ms  (ledger on: {rows} rows)")
    print(f"  overhead ratio {seq_ratio:.3f} (target < {TARGET_RATIO})  {verdict(seq_ratio < TARGET_RATIO)}")
    print(f"concurrent, {args.concurrency} threads")
    print(f"  raw httpx       {raw_tp:7.0f} requests/s")
    print(f"  hackkit chat()  {hk_tp:7.0f} requests/s")
    print(f"  overhead ratio {conc_ratio:.3f} (target < {TARGET_RATIO})  {verdict(conc_ratio < TARGET_RATIO)}")
    async_ratio = raw_async / hk_async
    print(f"asyncio, {args.concurrency} requests in flight")
    print(f"  raw httpx.AsyncClient {raw_async:7.0f} requests/s")
    print(f"  hackkit achat()       {hk_async:7.0f} requests/s")
    print(f"  overhead ratio {async_ratio:.3f} (target < {TARGET_RATIO})  {verdict(async_ratio < TARGET_RATIO)}")


if __name__ == "__main__":
    main()
