"""Prompts published as REST endpoints: variables, versions and A/B splits, lifecycle, reload, feedback."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gateway_helpers import RunningGateway, serve_gateway, write_config

CONFIG = """
[gateway]
default_model = "echo"
[gateway.models]
echo = { model = "fake/echo", input_price = 1.0, output_price = 2.0 }
[gateway.prompts.ab]
versions = { "1" = 0.9, "2" = 0.1 }
[gateway.prompts.pinned]
versions = { "1" = 1 }
"""


def prompt_file(folder: Path, filename: str, front: str, body: str) -> None:
    (folder / "prompts").mkdir(exist_ok=True)
    (folder / "prompts" / filename).write_text(f"---\n{textwrap.dedent(front).strip()}\n---\n{body}\n")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[RunningGateway]:
    folder = tmp_path_factory.mktemp("gateway")
    write_config(folder, CONFIG)
    prompt_file(
        folder,
        "summarise.md",
        "name: summarise\nversion: 1\nmodel: echo\ndescription: Three bullets",
        "Summarise {{ text }} for {{ audience }}",
    )
    prompt_file(folder, "ab.v1.md", "name: ab\nversion: 1\nmodel: echo", "A says {{ x }}")
    prompt_file(folder, "ab.v2.md", "name: ab\nversion: 2\nmodel: echo", "B says {{ x }}")
    prompt_file(folder, "pinned.v1.md", "name: pinned\nversion: 1", "old {{ x }}")
    prompt_file(folder, "pinned.v2.md", "name: pinned\nversion: 2", "new {{ x }}")
    prompt_file(folder, "secret.md", "name: secret\nversion: 1\nstatus: draft", "draft {{ x }}")
    prompt_file(
        folder, "legacy.md", "name: legacy\nversion: 3\nstatus: deprecated\nreplaced_by: summarise", "legacy {{ x }}"
    )
    prompt_file(folder, "gone.md", "name: gone\nversion: 1\nstatus: retired\nreplaced_by: summarise", "gone {{ x }}")
    with serve_gateway(folder) as running:
        yield running


HTTP = httpx.Client(timeout=30)  # kept-alive connections: a new one per call costs tens of milliseconds here


def call(gateway: RunningGateway, key: str, name: str, variables: dict | None = None, **extra) -> httpx.Response:
    body = {"variables": variables if variables is not None else {"x": "hi"}, **extra}
    return HTTP.post(f"{gateway.v1}/prompts/{name}", headers={"Authorization": f"Bearer {key}"}, json=body)


def test_a_prompt_endpoint_answers_and_its_version_is_logged_and_charged(gateway):
    record, key = gateway.key_record(team="Writers", budget_usd=1.0)
    response = call(gateway, key, "summarise", {"text": "the hackathon", "audience": "judges"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["output"] == "Echo: Summarise the hackathon for judges"
    assert body["prompt_version"] == "1" and body["request_id"] == response.headers["x-request-id"]
    assert body["usage"]["total_tokens"] > 0
    row = gateway.store.logs(team="Writers")[-1]
    assert (row["route"], row["prompt_name"], row["prompt_version"], row["status"]) == (
        "prompt",
        "summarise",
        "1",
        "ok",
    )
    assert gateway.store.find_key(record.id).spent_nano == row["cost_nano"] > 0


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"text": "x"}, "missing audience"),
        ({"text": "x", "audience": "y", "tone": "z"}, "unknown tone"),
        ({}, "missing audience, text"),
    ],
)
def test_missing_or_extra_variables_are_a_400_naming_them(gateway, variables, named):
    response = call(gateway, gateway.key(), "summarise", variables)
    assert response.status_code == 400 and named in response.json()["error"]["message"]


def test_only_the_gateways_own_prompts_are_published(gateway):
    response = call(gateway, gateway.key(), "rag-answer", {"sources": "s", "question": "q"})  # a built-in prompt
    assert response.status_code == 404 and "Published here:" in response.json()["error"]["message"]


def test_an_ab_split_follows_the_weights_and_sticks_to_each_key(gateway):
    from concurrent.futures import ThreadPoolExecutor

    keys = [gateway.key(team=f"ab-{n}") for n in range(500)]

    def twice(key: str) -> tuple[dict, dict]:
        return call(gateway, key, "ab").json(), call(gateway, key, "ab").json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        pairs = list(pool.map(twice, keys))
    seen: Counter[str] = Counter()
    for first, second in pairs:
        assert first["prompt_version"] == second["prompt_version"]  # sticky
        assert first["output"].startswith("Echo: A says" if first["prompt_version"] == "1" else "Echo: B says")
        seen[first["prompt_version"]] += 2
    assert sum(seen.values()) == 1000
    assert abs(seen["2"] / 1000 - 0.1) < 0.05  # within a few points of the 10 % weight
    versions = {(r["prompt"], r["version"]): r["calls"] for r in gateway.store.prompt_versions()}
    assert versions[("ab", "1")] + versions[("ab", "2")] == 1000


def test_pinning_one_version_is_the_rollback(gateway):
    assert call(gateway, gateway.key(), "pinned").json()["output"] == "Echo: old hi"


def test_lifecycle_draft_deprecated_retired(gateway):
    team = gateway.key()
    assert call(gateway, team, "secret").status_code == 404  # a draft is for the admin key only
    assert call(gateway, gateway.admin_key, "secret").json()["output"] == "Echo: draft hi"
    legacy = call(gateway, team, "legacy")
    assert legacy.status_code == 200 and legacy.headers["deprecation"] == "true"
    assert "/v1/prompts/summarise" in legacy.headers["link"]
    gone = call(gateway, team, "gone")
    assert gone.status_code == 410 and "replaced by 'summarise'" in gone.json()["error"]["message"]


def test_a_file_edit_is_picked_up_without_a_restart(gateway):
    key = gateway.key()
    prompt_file(gateway.folder, "fresh.md", "name: fresh\nversion: 1", "first {{ x }}")
    assert call(gateway, key, "fresh").json()["output"] == "Echo: first hi"
    prompt_file(gateway.folder, "fresh.md", "name: fresh\nversion: 1", "edited {{ x }}")
    path = gateway.folder / "prompts" / "fresh.md"
    stat = path.stat()
    import os

    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # coarse file clocks: make the change visible
    assert call(gateway, key, "fresh").json()["output"] == "Echo: edited hi"


def test_a_streamed_prompt_call_ends_with_the_whole_answer(gateway):
    body = {"variables": {"text": "t", "audience": "a"}, "stream": True}
    headers = {"Authorization": f"Bearer {gateway.key()}"}
    with httpx.stream("POST", f"{gateway.v1}/prompts/summarise", headers=headers, json=body) as response:
        events = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    final = json.loads(events[-2])
    deltas = "".join(json.loads(e)["delta"] for e in events[:-2])
    assert deltas == final["output"] == "Echo: Summarise t for a" and final["prompt_version"] == "1"


def test_feedback_scores_a_keys_own_calls_and_shows_per_version(gateway):
    key, other = gateway.key(team="Raters"), gateway.key(team="Others")
    request_id = call(gateway, key, "pinned").json()["request_id"]
    headers = {"Authorization": f"Bearer {key}"}
    saved = httpx.post(
        f"{gateway.v1}/feedback", headers=headers, json={"request_id": request_id, "score": 1, "comment": "good"}
    )
    assert saved.status_code == 201
    stranger = httpx.post(
        f"{gateway.v1}/feedback",
        headers={"Authorization": f"Bearer {other}"},
        json={"request_id": request_id, "score": 0},
    )
    assert stranger.status_code == 404  # a team rates only its own calls
    bad = httpx.post(f"{gateway.v1}/feedback", headers=headers, json={"request_id": request_id, "score": "great"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "score"
    pinned = [r for r in gateway.store.prompt_versions() if r["prompt"] == "pinned"]
    assert pinned[0]["feedback"] == 1 and pinned[0]["mean_score"] == 1.0


def test_a_bad_key_is_401_before_any_prompt_check(gateway):
    assert call(gateway, "hk-nope", "does-not-exist").status_code == 401
    assert call(gateway, "hk-nope", "summarise", {}).status_code == 401
