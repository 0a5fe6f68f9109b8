"""Save screenshots of the gateway's catalog and dashboard for the docs (needs Debian's Chromium).

Serves a real gateway over the fake provider, fills its store with a simulated workshop day (calls
settled through the store with past timestamps, so spend, budgets and the log agree), makes a few
live calls, logs in as a team and as the organisers, and saves docs/images/catalog.png and
docs/images/dashboard.png. ``python docs/screenshots_gateway.py`` (``make screenshots`` runs it too).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import ARGS, CHROMIUM  # noqa: E402
from gateway_helpers import serve_gateway, write_config  # noqa: E402

CONFIG = """
[gateway]
default_model = "small"
[gateway.models]
small = { model = "fake/echo", input_price = 0.2, output_price = 0.6, description = "fast and cheap: start here" }
big = { model = "fake/echo", input_price = 2.0, output_price = 6.0, description = "for the final demo" }
open = { model = "fake/echo", input_price = 0.1, output_price = 0.3, approval_required = false }
[gateway.prompts.summarise]
versions = { "1" = 0.5, "2" = 0.5 }
[gateway.keys]
budget = 5.0
rpm = 60
tpm = 100000
"""
PROMPTS = {
    "summarise.v1.md": "name: summarise\nversion: 1\nmodel: small\ndescription: Three bullet points for a busy judge",
    "summarise.v2.md": "name: summarise\nversion: 2\nmodel: small\ndescription: Three bullet points for a busy judge",
}
SPLIT = {"versions": {"1": 0.5, "2": 0.5}}
TEAMS = {"Ducks": 3.0, "Llamas": 2.0, "Night Owls": 1.0, "Pandas": 1.0, "Foxes": 0.4}


def simulated_day(store: Any, folder: Path, keys: dict[str, Any], now: float) -> None:
    """About 900 calls over the last 24 hours, busiest in the afternoon, settled through the store."""
    from hackkit.server.prompts import PromptRegistry

    summarise = PromptRegistry(folder / "prompts", {"summarise": SPLIT}).endpoints()["summarise"]
    versions = {key.id: summarise.choose(store.hash_of_key(key.id)).version for key in keys.values()}  # as served
    rng = random.Random(7)
    calls = []
    for hour in range(24):
        busy = 8 + 90 * max(0.0, 1 - abs(hour - 15) / 9)
        for _ in range(int(busy * rng.uniform(0.7, 1.2))):
            team = rng.choices(list(keys), weights=[5, 4, 3, 2, 1])[0]
            calls.append((now - (24 - hour) * 3600 + rng.uniform(0, 3600), team))
    for ts, team in sorted(calls):  # the log in time order, as a real day writes it
        _settle(store, rng, keys[team], ts, versions[keys[team].id])


def _settle(store: Any, rng: random.Random, key: Any, ts: float, served: str) -> None:
    from hackkit.server.store import Settlement

    prompt = rng.random() < 0.15
    model = "small" if prompt or rng.random() < 0.7 else rng.choice(["big", "open"])
    tokens_in, tokens_out = rng.randint(300, 5000), rng.randint(80, 1200)
    price = {"small": (0.2, 0.6), "big": (2.0, 6.0), "open": (0.1, 0.3)}[model]
    failed = rng.random() < 0.03
    cost = 0 if failed else int((tokens_in * price[0] + tokens_out * price[1]) * 1000)
    request_id = "req_" + uuid.uuid4().hex
    version = served if prompt else None
    row = {
        "request_id": request_id,
        "ts": ts,
        "team": key.team,
        "key_id": key.id,
        "route": "prompt" if prompt else "chat",
        "model_asked": model,
        "model_used": "fake/echo",
        "provider": "fake",
        "input_tokens": 0 if failed else tokens_in,
        "output_tokens": 0 if failed else tokens_out,
        "latency_ms": rng.lognormvariate(5.8 if model == "big" else 5.2, 0.45),
        "status": "error" if failed else "ok",
        "error": "Every upstream failed: fake/echo: timed out after 30 s" if failed else None,
        "http_status": 502 if failed else 200,
        "prompt_name": "summarise" if prompt else None,
        "prompt_version": version,
    }
    store.settle(Settlement(request_id, key.id, cost, tokens_in + tokens_out, row))
    if prompt and not failed and rng.random() < 0.5:
        store.add_feedback(request_id, key.id, 1.0 if rng.random() < (0.62 if version == "1" else 0.81) else 0.0, None)


def main() -> None:
    import httpx
    from playwright.sync_api import sync_playwright

    out = ROOT / "docs" / "images"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_config(folder, CONFIG)
        (folder / "prompts").mkdir()
        for name, front in PROMPTS.items():
            (folder / "prompts" / name).write_text(
                f"---\n{front}\n---\nSummarise {{{{ text }}}} for {{{{ audience }}}}\n"
            )
        with serve_gateway(folder) as gateway:
            keys = {
                team: gateway.key_record(team, budget_usd=budget, rpm=60, tpm=100_000) for team, budget in TEAMS.items()
            }
            simulated_day(gateway.store, folder, {team: record for team, (record, _) in keys.items()}, time.time())
            secret = keys["Ducks"][1]
            for text in ("Pitch our app in one line", "Name our mascot", "Three risks of our demo"):
                httpx.post(
                    gateway.v1 + "/chat/completions",
                    headers={"Authorization": f"Bearer {secret}"},
                    json={"model": "small", "messages": [{"role": "user", "content": text}]},
                )
            for team, reason in (("Late Llamas", "we arrived after lunch"), ("Robo Rangers", "our mentor said to ask")):
                httpx.post(
                    gateway.v1 + "/key-requests", json={"team": team, "contact": "team@example.org", "reason": reason}
                )
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                _shoot_catalog(browser, gateway.url, secret, out / "catalog.png")
                _shoot_dashboard(browser, gateway.url, gateway.admin_key, out / "dashboard.png")
                browser.close()


def _shoot_catalog(browser: Any, url: str, secret: str, path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/catalog")
    page.fill("input[name=key]", secret)
    page.click("#login button")
    page.locator("#model-small summary").first.click()
    page.screenshot(path=str(path), full_page=True)
    print(f"saved {path}")
    page.close()


def _shoot_dashboard(browser: Any, url: str, admin_key: str, path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(url + "/dashboard")
    page.fill("input[name=admin_key]", admin_key)
    page.click("#login button")
    page.locator("#spend table").wait_for()
    page.screenshot(path=str(path), full_page=True)
    print(f"saved {path}")
    page.close()


if __name__ == "__main__":
    main()
