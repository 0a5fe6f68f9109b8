"""`hackkit gateway report`: the dashboard's figures from the store, printed, as CSV and as JSON.

A store in a temp folder is filled with a known log (calls settled through the store, so spend and
the log agree); the figures are checked against numbers worked out by hand. Then a real gateway
answers real calls, and the CLI (local and --url) and the dashboard show the same numbers.
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from gateway_helpers import serve_gateway, write_config

from hackkit.cli import cli
from hackkit.server import report
from hackkit.server.store import Settlement, open_store

HOUR = 3600.0


def settle(store, key, ts: float, latency: float, cost_usd: float = 0.001, **row) -> str:
    """One call in the log at ``ts``, charged ``cost_usd`` to ``key``, as the gateway settles it."""
    request_id = "req_" + uuid.uuid4().hex
    log = {"request_id": request_id, "ts": ts, "team": key.team, "key_id": key.id, "route": "chat"}
    log |= {"model_asked": "small", "input_tokens": 10, "output_tokens": 5, "latency_ms": latency}
    log |= {"status": "ok", "http_status": 200, **row}
    store.settle(Settlement(request_id, key.id, round(cost_usd * 1e9), 15, log))
    return request_id


@pytest.fixture
def known(tmp_path):
    """A gateway folder whose store holds a known hour of calls, two hours ago, and a few just now."""
    write_config(tmp_path, "[gateway]\n")
    store = open_store(None, tmp_path)
    now = time.time()
    ducks, _ = store.create_key("Ducks", budget_usd=2.0)
    owls, _ = store.create_key("Owls", budget_usd=1.0)
    store.create_key("Owls", budget_usd=None)  # a second Owls key without a budget: the team has none
    store.request_key("Waiting", contact="w@x.y", reason=None, models=None, limits={"budget_usd": 5.0})
    earlier = (now - 2 * HOUR) // 300 * 300 + 10  # the ten calls fall in one 5-minute bucket
    for n, latency in enumerate(range(10, 110, 10)):  # ten calls: p50 50 ms, p95 100 ms
        settle(store, ducks, earlier + n, float(latency))
    settle(store, owls, earlier + 900, 400.0, 0.0, status="error", http_status=502, model_asked="big")
    first = settle(store, ducks, now - 60, 30.0, 0.002, prompt_name="pitch", prompt_version="1")
    second = settle(store, owls, now - 30, 70.0, 0.002, prompt_name="pitch", prompt_version="2")
    store.add_feedback(first, ducks.id, 1.0, None)
    store.add_feedback(second, owls.id, 0.0, None)
    store.add_feedback(second, owls.id, 0.5, None)
    yield tmp_path, store, now
    store.close()


def test_the_figures_of_a_known_log(known):
    _, store, now = known
    figures = report.build(store, 3 * HOUR, now=now)
    t = figures.totals
    assert (t.requests, t.errors, t.spend_usd) == (13, 1, pytest.approx(0.014))
    assert (t.input_tokens, t.output_tokens) == (130, 65)
    latencies = sorted([*range(10, 110, 10), 400, 30, 70])
    assert t.p50_ms == latencies[6] and t.p95_ms == 400.0  # nearest rank over all 13 calls
    assert figures.bucket_s == 300  # 3 hours in 5-minute buckets: 36 of them
    busy = next(b for b in figures.series if b.requests == 10)
    assert (busy.errors, busy.p50_ms, busy.p95_ms) == (0, 50.0, 100.0)
    assert sum(b.requests for b in figures.series) == 13 and sum(b.errors for b in figures.series) == 1
    teams = {row.team: row for row in figures.teams}
    assert set(teams) == {"Ducks", "Owls"}  # a pending request with no spend is not a team's spend yet
    assert (teams["Ducks"].spent_usd, teams["Ducks"].budget_usd, teams["Ducks"].requests) == (
        pytest.approx(0.012),
        2.0,
        11,
    )
    assert teams["Ducks"].used == pytest.approx(0.006)
    assert (teams["Owls"].keys, teams["Owls"].budget_usd, teams["Owls"].errors) == (2, None, 1)
    assert [(m.model, m.requests, m.errors) for m in figures.models] == [("small", 12, 0), ("big", 1, 1)]
    pitch = {p.version: p for p in figures.prompts}
    assert (pitch["1"].feedback, pitch["1"].mean_score) == (1, 1.0)
    assert (pitch["2"].feedback, pitch["2"].mean_score) == (2, 0.25)  # side by side, for an A/B test


def test_a_shorter_window_leaves_the_older_calls_out(known):
    _, store, now = known
    figures = report.build(store, HOUR, now=now)
    assert figures.totals.requests == 2 and figures.bucket_s == 300  # twelve 5-minute buckets
    assert {row.team: row.requests for row in figures.teams} == {"Ducks": 1, "Owls": 1}
    assert {row.team: row.spent_usd for row in figures.teams}["Ducks"] == pytest.approx(0.012)  # spend is lifetime


def test_percentiles_are_nearest_rank():
    assert report.percentile([], 50) is None
    assert report.percentile([7.0], 95) == 7.0
    values = [float(v) for v in range(1, 101)]
    assert (report.percentile(values, 50), report.percentile(values, 95)) == (50.0, 95.0)
    assert report.bucket_size(24 * HOUR) == 1800 and report.bucket_size(7 * 24 * HOUR) == 6 * HOUR


def run(folder: Path, monkeypatch, *args: str):
    monkeypatch.chdir(folder)
    return CliRunner().invoke(cli, ["gateway", "report", *args])


def test_the_cli_prints_and_exports_the_same_figures(known, monkeypatch):
    folder, _, _ = known
    text = run(folder, monkeypatch, "--since", "3h")
    assert text.exit_code == 0, text.output
    assert "Last 3h" in text.stdout and "13 requests, 1 error (7.7%)" in text.stdout and "$0.014 spent" in text.stdout
    assert "Ducks" in text.stdout and "Prompt versions" in text.stdout and "pitch" in text.stdout
    exported = json.loads(run(folder, monkeypatch, "--since", "3h", "--json").stdout)
    rows = list(csv.DictReader(io.StringIO(run(folder, monkeypatch, "--since", "3h", "--csv").stdout)))
    total = next(r for r in rows if r["section"] == "total")
    assert (int(total["requests"]), int(total["errors"])) == (exported["totals"]["requests"], 1)
    assert float(total["spend_usd"]) == pytest.approx(exported["totals"]["spend_usd"])
    assert float(total["p95_ms"]) == exported["totals"]["p95_ms"] == 400.0
    ducks = next(r for r in rows if r["section"] == "team" and r["name"] == "Ducks")
    assert (float(ducks["spend_usd"]), float(ducks["budget_usd"]), int(ducks["requests"])) == (
        pytest.approx(0.012),
        2.0,
        11,
    )
    owls = next(r for r in rows if r["section"] == "team" and r["name"] == "Owls")
    assert owls["budget_usd"] == ""  # no budget is an empty cell, not 0
    assert [r["version"] for r in rows if r["section"] == "prompt"] == ["1", "2"]
    buckets = [r for r in rows if r["section"] == "bucket"]
    assert len(buckets) == len(exported["series"]) and sum(int(b["requests"]) for b in buckets) == 13
    assert list(rows[0]) == list(report.CSV_COLUMNS)


def test_a_bad_window_is_a_clear_error(known, monkeypatch):
    folder, _, _ = known
    answer = run(folder, monkeypatch, "--since", "yesterday")
    assert (
        answer.exit_code != 0
        and "'yesterday' is not a duration" in answer.output
        and "fix: write a number and a unit" in answer.output
    )
    monkeypatch.delenv("HACKKIT_GATEWAY_ADMIN_KEY", raising=False)
    remote = run(folder, monkeypatch, "--url", "http://127.0.0.1:9")
    assert remote.exit_code != 0 and "HACKKIT_GATEWAY_ADMIN_KEY" in remote.output


CONFIG = """
[gateway]
default_model = "echo"
[gateway.models]
echo = { model = "fake/echo", input_price = 1.0, output_price = 2.0 }
"""


def test_the_dashboard_and_the_cli_show_the_same_numbers(tmp_path, monkeypatch):
    write_config(tmp_path, CONFIG)
    with serve_gateway(tmp_path) as gateway:
        key = gateway.key("Ducks", budget_usd=1.0)
        for text in ("one", "two three", "four five six"):
            answer = httpx.post(
                gateway.v1 + "/chat/completions",
                headers={"Authorization": f"Bearer {key}"},
                json={"model": "echo", "messages": [{"role": "user", "content": text}]},
            )
            assert answer.status_code == 200
        httpx.post(gateway.v1 + "/chat/completions", headers={"Authorization": "Bearer hk-wrong"}, json={})
        admin = {"Authorization": f"Bearer {gateway.admin_key}"}
        served = httpx.get(gateway.url + "/dashboard/report.json", headers=admin).json()
        local = json.loads(run(tmp_path, monkeypatch, "--json").stdout)
        monkeypatch.setenv("HACKKIT_GATEWAY_ADMIN_KEY", gateway.admin_key)
        remote = json.loads(run(tmp_path, monkeypatch, "--json", "--url", gateway.v1).stdout)
        page = httpx.get(gateway.url + "/dashboard", headers=admin).text
        csv_export = httpx.get(gateway.url + "/dashboard/report.csv", headers=admin)
    for figures in (local, remote):
        assert {k: figures[k] for k in ("totals", "teams", "models", "prompts")} == {
            k: served[k] for k in ("totals", "teams", "models", "prompts")
        }
        assert _busy(figures) == _busy(served)
    t = served["totals"]
    assert (t["requests"], t["errors"]) == (4, 1)  # the refused call counts as an error
    assert served["teams"][0]["team"] == "Ducks" and served["teams"][0]["spent_usd"] == pytest.approx(t["spend_usd"])
    for shown in (f"{t['requests']:,}", report.money(t["spend_usd"]), report.millis(t["p95_ms"])):
        assert f"<b>{shown}</b>" in page
    assert csv_export.headers["content-type"].startswith("text/csv")
    assert csv_export.text.splitlines()[0] == ",".join(report.CSV_COLUMNS)


def _busy(figures: dict) -> dict:
    """The non-empty buckets (the window's edges move between two calls; its calls do not)."""
    return {b["start"]: b for b in figures["series"] if b["requests"]}
