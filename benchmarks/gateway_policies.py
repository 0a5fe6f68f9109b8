"""What guardrails and prompt endpoints cost the workshop gateway, beside its plain chat route.

One mock upstream (``_mock_upstream.py``) and two ``hackkit gateway serve`` processes on SQLite,
one worker each, in one run: the plain gateway, and the same gateway with ``[gateway.policies]``
set (the four redactions and one deny rule, which every request is checked against and none
matches) and a prompt published from its ``prompts/``. The same closed-loop wrk load goes to three
routes in turn, round after round:

- plain: ``POST /v1/chat/completions`` on the plain gateway;
- guardrails: the same request on the gateway with policies, its text holding an email address
  and a phone number, so redaction has work to do on every request;
- prompt endpoint: ``POST /v1/prompts/greet`` with one variable, on the gateway with policies.

Printed: req/s, p50, p99 and server CPU per request for each, and each route's CPU per request
against the plain route's in the same round. Target: at most 1.2x.

    python benchmarks/gateway_policies.py [--rounds 3] [--duration 4] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import verdict
from _gateway_targets import GATEWAY_TOML, create_key, gateway_env, mock_upstream, request_body
from _load import run_load
from _services import cpu_seconds, free_port, started, wait_healthy

TARGET = 1.2
POLICIES = """
[gateway.policies]
deny = [{ pattern = "(?i)ignore (all )?previous instructions", message = "Not here, please." }]
redact = ["email", "phone", "card", "iban"]
"""
PROMPT = """---
name: greet
version: 1
model: bench
description: A greeting for a team
params: {max_tokens: 16}
---
Say hello to the team {{ team }} in five words.
"""
PERSONAL = "Say hello in five words to ada@example.org, or call +44 20 7946 0958."


@dataclass
class Route:
    name: str
    url: str
    key: str
    body: dict[str, Any]
    server: list[int]


@contextlib.contextmanager
def gateway(folder: Path, mock_url: str, extra: str = "") -> Iterator[tuple[str, str, list[int]]]:
    """A one-worker gateway on SQLite: its base URL, a key with a large budget, its processes."""
    folder.mkdir(parents=True)
    (folder / "hackkit.toml").write_text(GATEWAY_TOML.format(mock_url=mock_url) + extra)
    if extra:
        (folder / "prompts").mkdir()
        (folder / "prompts" / "greet.md").write_text(PROMPT)
    db = str(folder / "gateway.sqlite")
    key = create_key(folder, db)
    port = free_port()
    command = [sys.executable, "-m", "hackkit", "gateway", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", "1", "--db", db]
    with started("hackkit gateway", command, folder / "gateway.log", env=gateway_env(), cwd=folder) as service:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(service, base + "/health", timeout=120)
        yield base, key, [service.process.pid]


def check(route: Route) -> None:
    """One request first: the route must answer 200 with the mock's text, or the figures mean nothing."""
    headers = {"Authorization": f"Bearer {route.key}", "Content-Type": "application/json"}
    request = urllib.request.Request(route.url, data=json.dumps(route.body).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=60) as answer:
        body = json.load(answer)
    text = body.get("output") or body["choices"][0]["message"]["content"]
    if not text:
        raise SystemExit(f"{route.name} answered no text: {body}")


def measure(route: Route, concurrency: int, seconds: int) -> dict[str, float]:
    before = cpu_seconds(route.server)
    result = run_load(route.url, route.body, route.key, concurrency, seconds=seconds)
    cpu = cpu_seconds(route.server) - before
    if result.errors:
        raise SystemExit(f"{route.name}: {result.errors} errors under load")
    answers = max(result.requests, 1)
    return {"rps": result.rps, "p50": result.p50_ms, "p99": result.p99_ms, "cpu_ms": cpu / answers * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=4, help="seconds each route runs in each round")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hackkit-bench-policies-") as scratch:
        folder = Path(scratch)
        with (
            mock_upstream(folder) as mock,
            gateway(folder / "plain", mock.url) as (plain_url, plain_key, plain_pids),
            gateway(folder / "policies", mock.url, POLICIES) as (url, key, pids),
        ):
            personal = {**request_body("bench", stream=False)}
            personal["messages"] = [{"role": "user", "content": PERSONAL}]
            routes = [
                Route("plain", plain_url + "/v1/chat/completions", plain_key, request_body("bench", False), plain_pids),
                Route("guardrails", url + "/v1/chat/completions", key, personal, pids),
                Route("prompt endpoint", url + "/v1/prompts/greet", key, {"variables": {"team": "Ducks"}}, pids),
            ]
            for route in routes:
                check(route)
                run_load(route.url, route.body, route.key, args.concurrency, seconds=1)  # warm up
            rounds: list[dict[str, dict[str, float]]] = []
            for _ in range(args.rounds):
                rounds.append({route.name: measure(route, args.concurrency, args.duration) for route in routes})
    report(rounds, args)


def report(rounds: list[dict[str, dict[str, float]]], args: argparse.Namespace) -> None:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"gateway guardrails and prompt endpoints: SQLite, 1 worker, concurrency {args.concurrency}, JSON;")
    print(f"{args.rounds} rounds of {args.duration} s per route; load average at the end {load}")
    print(f"{'route':<16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11} {'vs plain (rounds)':>30}")
    for name in rounds[0]:
        median = {k: statistics.median(r[name][k] for r in rounds) for k in ("rps", "p50", "p99", "cpu_ms")}
        ratios = [r[name]["cpu_ms"] / r["plain"]["cpu_ms"] for r in rounds]
        ratio = statistics.median(ratios)
        spread = " ".join(f"{x:.2f}" for x in ratios)
        shown = f"{ratio:.2f}x ({spread})" if name != "plain" else "-"
        print(
            f"{name:<16} {median['rps']:>8,.0f} {median['p50']:>8.2f} {median['p99']:>8.2f} "
            f"{median['cpu_ms']:>11.3f} {shown:>30}"
        )
    for name in list(rounds[0])[1:]:
        ratio = statistics.median(r[name]["cpu_ms"] / r["plain"]["cpu_ms"] for r in rounds)
        passed = verdict(ratio <= TARGET)
        print(f"{name}: CPU per request {ratio:.2f}x the plain route's (target <= {TARGET}x)  {passed}")


if __name__ == "__main__":
    main()
