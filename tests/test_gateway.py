"""The workshop gateway, as teams reach it: the official SDKs over real HTTP to `hackkit gateway serve`.

One gateway process serves the whole module; upstreams are wire-format servers on loopback (in
this process, so tests can script them) and the fake provider. Keys are made in the store while the
gateway runs, so a key cache could not hide a change.
"""

from __future__ import annotations

import base64
import json
import struct
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from gateway_helpers import RunningGateway, serve_gateway, write_config

from hackkit.testing.wire import Reply, WireServer

UPSTREAM_KEY = "upstream-secret-key-123"
CONFIG = """
[llm.providers.up]
kind = "openai"
base_url = "{openai}"
api_key_env = "UP_KEY"
[llm.providers.claude]
kind = "anthropic"
base_url = "{anthropic}"
api_key_env = "UP_KEY"
[llm.router]
timeout = 1.0
max_retries = 1
backoff = 0.01
[llm.router.fallbacks]
"up/with-fallback" = ["fake/echo"]
[gateway]
default_model = "small"
default_embedding_model = "embed"
max_body_mb = 0.5
[gateway.models]
small = {{ model = "up/gpt-4o-mini", input_price = 1.0, output_price = 2.0, description = "the everyday model" }}
safe = {{ model = "up/with-fallback", input_price = 1.0, output_price = 2.0 }}
claude = {{ model = "claude/claude-haiku-4-5", input_price = 1.0, output_price = 5.0 }}
slow = {{ model = "fake/slow", input_price = 1.0, output_price = 2.0 }}
embed = {{ model = "up/text-embedding-3-small", input_price = 0.02, output_price = 0 }}
mystery = "up/a-model-with-no-price"
open = {{ model = "fake/echo", input_price = 1.0, output_price = 2.0, approval_required = false }}
[gateway.keys]
max_tokens = 256
"""


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, WireServer]]:
    servers = {"openai": WireServer("openai", UPSTREAM_KEY).start(), "anthropic": WireServer("anthropic").start()}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="module")
def gateway(upstreams, tmp_path_factory) -> Iterator[RunningGateway]:
    folder = tmp_path_factory.mktemp("gateway")
    write_config(folder, CONFIG.format(openai=upstreams["openai"].url, anthropic=upstreams["anthropic"].url))
    with serve_gateway(folder, env={"UP_KEY": UPSTREAM_KEY}) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh_upstreams(upstreams) -> None:
    for server in upstreams.values():
        server._queue.clear()
        server.requests.clear()


def sdk(gateway: RunningGateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=key, max_retries=0)


def test_chat_answers_through_the_official_sdk(gateway, upstreams):
    key = gateway.key()
    raw = sdk(gateway, key).chat.completions.with_raw_response.create(
        model="small", messages=[{"role": "user", "content": "hello gateway"}]
    )
    response = raw.parse()
    assert response.choices[0].message.content == "Echo: hello gateway"
    assert response.model == "small" and response.usage.total_tokens > 0
    assert raw.headers["content-type"] == "application/json" and raw.headers["x-request-id"].startswith("req_")
    sent = upstreams["openai"].requests[-1]
    assert sent.body["model"] == "gpt-4o-mini" and sent.headers["Authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert sent.body["max_tokens"] == 256  # the key's cap, as the request set none


def test_streaming_with_usage(gateway):
    stream = sdk(gateway, gateway.key()).chat.completions.create(
        model="small",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: one two three"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_tool_calls_both_ways(gateway, upstreams):
    upstreams["openai"].enqueue(Reply.tools(("get_weather", {"city": "Paris"})), Reply.tools(("get_weather", {})))
    client = sdk(gateway, gateway.key())
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    response = client.chat.completions.create(
        model="small", messages=[{"role": "user", "content": "weather?"}], tools=tools
    )
    call = response.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})
    assert response.choices[0].finish_reason == "tool_calls"
    assert upstreams["openai"].requests[-1].body["tools"] == tools
    streamed = client.chat.completions.create(
        model="small", messages=[{"role": "user", "content": "weather?"}], tools=tools, stream=True
    )
    deltas = [c.choices[0].delta.tool_calls for c in streamed if c.choices and c.choices[0].delta.tool_calls]
    assert deltas and deltas[0][0].function.name == "get_weather"


def test_an_anthropic_upstream_is_translated_to_openai_format(gateway, upstreams):
    upstreams["anthropic"].enqueue(Reply.ok("bonjour from claude"))
    response = sdk(gateway, gateway.key()).chat.completions.create(
        model="claude", messages=[{"role": "system", "content": "Be French."}, {"role": "user", "content": "hi"}]
    )
    assert response.choices[0].message.content == "bonjour from claude"
    assert upstreams["anthropic"].requests[-1].body["system"] == "Be French."


def test_embeddings_in_the_sdks_default_base64(gateway, upstreams):
    client = sdk(gateway, gateway.key())
    result = client.embeddings.create(model="embed", input=["a cat", "a longer sentence"])
    expected = [[(hash(t) % 1000) / 1000, len(t) / 100, 1.0] for t in ("a cat", "a longer sentence")]
    assert upstreams["openai"].requests[-1].body["input"] == ["a cat", "a longer sentence"]
    for got, want in zip((d.embedding for d in result.data), expected, strict=True):
        assert got == pytest.approx(want, rel=1e-6)
    raw = httpx.post(
        gateway.v1 + "/embeddings",
        headers={"Authorization": f"Bearer {gateway.key()}"},
        json={"model": "embed", "input": "a cat", "encoding_format": "base64"},
    ).json()
    decoded = struct.unpack("<3f", base64.b64decode(raw["data"][0]["embedding"]))
    assert list(decoded) == pytest.approx(expected[0], rel=1e-6)


def test_models_lists_what_the_key_may_use_with_prices(gateway):
    everything = sdk(gateway, gateway.key()).models.list()
    assert {m.id for m in everything} >= {"small", "safe", "claude", "embed"}
    limited = sdk(gateway, gateway.key(models=["small"])).models.list()
    only = [m.model_dump() for m in limited]
    assert [m["id"] for m in only] == ["small"]
    assert only[0]["pricing"] == {"input": 1.0, "output": 2.0, "unit": "USD per million tokens"}


def test_each_refusal_is_the_sdks_own_exception(gateway):
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.AuthenticationError, match="Invalid API key"):
        sdk(gateway, "hk-not-a-real-key").chat.completions.create(model="small", messages=messages)
    limited = sdk(gateway, gateway.key(models=["small"]))
    with pytest.raises(openai.PermissionDeniedError, match="may not use the model 'claude'"):
        limited.chat.completions.create(model="claude", messages=messages)
    with pytest.raises(openai.NotFoundError) as caught:
        limited.chat.completions.create(model="gpt-7", messages=messages)
    assert "Models you may use: small." in str(caught.value) and caught.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError, match="messages"):
        limited.chat.completions.create(model="small", messages="not a list")  # type: ignore[arg-type]
    record, secret = gateway.key_record()
    gateway.store.revoke_key(record.id)
    with pytest.raises(openai.AuthenticationError, match="revoked"):
        sdk(gateway, secret).chat.completions.create(model="small", messages=messages)
    expired = gateway.key(expires_at=time.time() - 1)
    with pytest.raises(openai.AuthenticationError, match="expired"):
        sdk(gateway, expired).chat.completions.create(model="small", messages=messages)


def test_a_bad_key_is_401_even_with_a_bad_body(gateway):
    response = httpx.post(gateway.v1 + "/chat/completions", headers={"Authorization": "Bearer hk-nope"}, content=b"{")
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"model": "small"}',
        b'{"model": 7, "messages": []}',
        b'{"model": "small", "messages": [1]}',
    ],
)
def test_malformed_bodies_are_400_in_openais_shape(gateway, body):
    response = httpx.post(
        gateway.v1 + "/chat/completions", headers={"Authorization": f"Bearer {gateway.key()}"}, content=body
    )
    error = response.json()["error"]
    assert response.status_code == 400 and error["type"] == "invalid_request_error" and error["message"]


def test_fields_openai_accepts_and_hackkit_does_not_use_are_never_a_500(gateway, upstreams):
    response = httpx.post(
        gateway.v1 + "/chat/completions",
        headers={"Authorization": f"Bearer {gateway.key()}"},
        json={
            "model": "small",
            "messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"}],
            "logprobs": True,
            "top_logprobs": 2,
            "store": False,
            "metadata": {"team": "x"},
            "user": "someone",
            "prediction": {"type": "content", "content": "x"},
            "modalities": ["text"],
        },
    )
    assert response.status_code == 200, response.text
    sent = upstreams["openai"].requests[-1].body
    assert sent["user"] == "someone" and "logprobs" not in sent and sent["messages"][0]["role"] == "system"


def test_a_huge_body_is_413_before_it_is_read(gateway):
    big = {"model": "small", "messages": [{"role": "user", "content": "x" * 600_000}]}
    response = httpx.post(
        gateway.v1 + "/chat/completions", headers={"Authorization": f"Bearer {gateway.key()}"}, json=big
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"


def test_rate_limits_answer_429_with_retry_after(gateway):
    client = sdk(gateway, gateway.key(rpm=2))
    for _ in range(2):
        client.chat.completions.create(model="small", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="small", messages=[{"role": "user", "content": "hi"}])
    assert 1 <= int(caught.value.response.headers["retry-after"]) <= 60
    assert caught.value.code == "rate_limit_exceeded"


def test_a_spent_budget_is_429_insufficient_quota_and_spend_is_charged(gateway):
    record, secret = gateway.key_record(budget_usd=0.002)
    client = sdk(gateway, secret)
    client.chat.completions.create(model="small", messages=[{"role": "user", "content": "hi"}], max_tokens=10)
    spent = gateway.store.find_key(record.id).spent_usd
    assert 0 < spent < 0.002
    with pytest.raises(openai.RateLimitError) as caught:  # the worst case of 256 tokens no longer fits
        client.chat.completions.create(model="small", messages=[{"role": "user", "content": "x" * 2000}])
    assert caught.value.code == "insufficient_quota"


def test_a_budgeted_key_may_not_call_a_model_with_no_price(gateway):
    with pytest.raises(openai.PermissionDeniedError, match="no known price"):
        sdk(gateway, gateway.key(budget_usd=1.0)).chat.completions.create(
            model="mystery", messages=[{"role": "user", "content": "hi"}]
        )
    answer = sdk(gateway, gateway.key()).chat.completions.create(
        model="mystery", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "Echo: hi"  # no budget, no price needed


@pytest.mark.parametrize(
    ("replies", "status", "error"),
    [
        ([Reply.error(500), Reply.error(500)], 502, openai.InternalServerError),
        ([Reply.slow(3), Reply.slow(3)], 504, openai.InternalServerError),
        ([Reply.connection_reset(), Reply.connection_reset()], 503, openai.InternalServerError),
        ([Reply.malformed_stream(), Reply.malformed_stream()], 502, openai.InternalServerError),
    ],
    ids=["500", "timeout", "reset", "malformed-sse"],
)
def test_upstream_faults_without_a_fallback_are_5xx_saying_why(gateway, upstreams, replies, status, error):
    upstreams["openai"].enqueue(*replies)
    stream = replies[0].malformed
    with pytest.raises(error) as caught:
        result = sdk(gateway, gateway.key()).chat.completions.create(
            model="small", messages=[{"role": "user", "content": "hi"}], stream=stream
        )
        if stream:
            list(result)
    assert caught.value.status_code == status and "up/gpt-4o-mini" in caught.value.message
    assert UPSTREAM_KEY not in caught.value.response.text


def test_upstream_faults_with_a_fallback_are_answered(gateway, upstreams):
    upstreams["openai"].enqueue(Reply.error(500), Reply.error(500))
    response = sdk(gateway, gateway.key()).chat.completions.create(
        model="safe", messages=[{"role": "user", "content": "still there?"}]
    )
    assert response.choices[0].message.content == "Echo: still there?"
    row = gateway.store.logs(limit=1)[-1]
    assert (row["model_asked"], row["model_used"], row["fallback"]) == ("safe", "fake/echo", 1)


def test_a_429_upstream_with_retry_after_is_retried(gateway, upstreams):
    upstreams["openai"].enqueue(Reply.error(429, "slow down", retry_after=0.2), Reply.ok("after waiting"))
    answer = sdk(gateway, gateway.key()).chat.completions.create(
        model="small", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "after waiting" and len(upstreams["openai"].requests) == 2


def test_a_rejected_provider_key_never_reaches_the_team(gateway, upstreams, tmp_path):
    upstreams["openai"].enqueue(Reply.error(401, f"invalid api key {UPSTREAM_KEY}"), Reply.error(401))
    with pytest.raises(openai.InternalServerError) as caught:
        sdk(gateway, gateway.key()).chat.completions.create(model="small", messages=[{"role": "user", "content": "x"}])
    assert "key rejected" in caught.value.message
    assert UPSTREAM_KEY not in caught.value.response.text and UPSTREAM_KEY not in gateway.log_text()


def test_a_client_that_leaves_mid_stream_cancels_the_upstream_and_is_charged(gateway, upstreams):
    upstreams["openai"].enqueue(Reply.slow_stream(" ".join(f"word{i}" for i in range(60)), chunk_delay=0.1))
    record, secret = gateway.key_record(team="Leavers", budget_usd=1.0)
    body = {"model": "small", "stream": True, "messages": [{"role": "user", "content": "tell me a long story"}]}
    with httpx.stream(
        "POST", gateway.v1 + "/chat/completions", headers={"Authorization": f"Bearer {secret}"}, json=body
    ) as response:
        events = response.iter_lines()
        seen = [line for line in (next(events) for _ in range(6)) if line.startswith("data:")]
    assert len(seen) >= 2  # then the client hung up
    deadline = time.time() + 10
    while upstreams["openai"].abandoned == 0 and time.time() < deadline:
        time.sleep(0.05)
    assert upstreams["openai"].abandoned == 1  # the gateway closed its upstream request
    while time.time() < deadline and not gateway.store.logs(team="Leavers"):
        time.sleep(0.05)
    row = gateway.store.logs(team="Leavers")[-1]
    assert row["status"] == "cancelled" and 0 < row["output_tokens"] < 60 and row["cost_nano"] > 0
    assert gateway.store.find_key(record.id).spent_nano == row["cost_nano"]


def test_logs_and_usage_show_each_call(gateway):
    from click.testing import CliRunner

    from hackkit.cli import cli

    secret = gateway.key(team="Loggers")
    sdk(gateway, secret).chat.completions.create(model="small", messages=[{"role": "user", "content": "log me"}])
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(gateway.folder)
        lines = CliRunner().invoke(cli, ["gateway", "logs", "--team", "Loggers", "--json"]).stdout.splitlines()
        usage = json.loads(CliRunner().invoke(cli, ["gateway", "usage", "--by", "team", "--json"]).stdout)
        text = CliRunner().invoke(cli, ["gateway", "logs", "--team", "Loggers"]).stdout
    row = json.loads(lines[-1])
    assert (row["team"], row["model_asked"], row["model_used"], row["status"]) == (
        "Loggers",
        "small",
        "up/gpt-4o-mini",
        "ok",
    )
    assert row["input_tokens"] > 0 and row["cost_nano"] > 0 and row["latency_ms"] > 0 and row.get("payload") is None
    assert "Loggers" in text and "small" in text and "ok 200" in text
    assert any(r["team"] == "Loggers" and r["requests"] == 1 for r in usage)


def test_metrics_in_prometheus_format_for_the_admin_only(gateway):
    sdk(gateway, gateway.key(team="Metered")).chat.completions.create(
        model="small", messages=[{"role": "user", "content": "hi"}]
    )
    assert httpx.get(gateway.url + "/metrics", headers={"Authorization": f"Bearer {gateway.key()}"}).status_code == 403
    text = httpx.get(gateway.url + "/metrics", headers={"Authorization": f"Bearer {gateway.admin_key}"}).text
    assert 'hackkit_gateway_requests_total{model="small",status="ok",team="Metered"} 1.0' in text
    assert "hackkit_gateway_request_seconds_bucket" in text and "hackkit_gateway_spend_usd_total" in text


def test_health_needs_nothing_and_teams_cannot_reach_admin_routes(gateway):
    assert httpx.get(gateway.url + "/health").json() == {"status": "ok"}
    assert httpx.get(gateway.url + "/ready").status_code == 200
    team = {"Authorization": f"Bearer {gateway.key()}"}
    assert httpx.get(gateway.url + "/admin/keys", headers=team).status_code == 403
    assert httpx.get(gateway.url + "/admin/logs", headers=team).status_code == 403
    listed = httpx.get(gateway.url + "/admin/keys", headers={"Authorization": f"Bearer {gateway.admin_key}"}).json()
    assert all("hash" not in key and "key" not in key for key in listed["data"])


@pytest.mark.anyio
async def test_the_async_sdk_chats_and_streams(gateway):
    client = openai.AsyncOpenAI(base_url=gateway.v1, api_key=gateway.key(), max_retries=0)
    answer = await client.chat.completions.create(model="small", messages=[{"role": "user", "content": "async hi"}])
    assert answer.choices[0].message.content == "Echo: async hi"
    stream = await client.chat.completions.create(
        model="small", messages=[{"role": "user", "content": "async stream"}], stream=True
    )
    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == "Echo: async stream"
    await client.close()


def test_langchain_chat_openai_against_the_gateway(gateway):
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="small", base_url=gateway.v1, api_key=gateway.key(), max_retries=0)
    assert model.invoke("from langchain").content == "Echo: from langchain"
    assert "".join(chunk.content for chunk in model.stream("streamed")) == "Echo: streamed"


def test_the_mistralai_sdk_against_the_gateway(gateway):
    from mistralai.client import Mistral

    client = Mistral(api_key=gateway.key(), server_url=gateway.url)
    answer = client.chat.complete(model="small", messages=[{"role": "user", "content": "bonjour"}])
    assert answer.choices[0].message.content == "Echo: bonjour"
    pieces = [
        event.data.choices[0].delta.content or ""
        for event in client.chat.stream(model="small", messages=[{"role": "user", "content": "salut"}])
    ]
    assert "".join(pieces) == "Echo: salut"


def test_keys_act_on_a_running_gateway_through_admin_routes(gateway, monkeypatch):
    from click.testing import CliRunner

    from hackkit.cli import cli

    monkeypatch.setenv("HACKKIT_GATEWAY_ADMIN_KEY", gateway.admin_key)
    runner = CliRunner()
    created = json.loads(
        runner.invoke(
            cli, ["gateway", "keys", "create", "--team", "Remote", "--rpm", "5", "--json", "--url", gateway.v1]
        ).stdout
    )
    assert created["key"].startswith("hk-") and created["team"] == "Remote" and created["rpm"] == 5
    client = sdk(gateway, created["key"])
    assert client.chat.completions.create(model="small", messages=[{"role": "user", "content": "hi"}]).choices
    rotated = json.loads(
        runner.invoke(cli, ["gateway", "keys", "rotate", created["id"], "--json", "--url", gateway.v1]).stdout
    )
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="small", messages=[{"role": "user", "content": "hi"}])
    assert sdk(gateway, rotated["key"]).chat.completions.create(
        model="small", messages=[{"role": "user", "content": "hi"}]
    )
    listed = runner.invoke(cli, ["gateway", "keys", "list", "--url", gateway.v1]).stdout
    assert "Remote" in listed and created["id"] in listed
    assert "Revoked" in runner.invoke(cli, ["gateway", "keys", "revoke", created["id"], "--url", gateway.v1]).stdout
    with pytest.raises(openai.AuthenticationError, match="revoked"):
        sdk(gateway, rotated["key"]).chat.completions.create(
            model="small", messages=[{"role": "user", "content": "hi"}]
        )


def test_a_rooms_keys_from_a_csv_with_printable_handouts(tmp_path, monkeypatch):
    import stat

    import numpy as np
    import segno
    import zxingcpp
    from click.testing import CliRunner

    from hackkit.cli import cli
    from hackkit.server.handout import qr_svg

    write_config(tmp_path, "[gateway.keys]\nbudget = 2.0\nrpm = 30\n")
    (tmp_path / "teams.csv").write_text("team,budget,models\nDucks,5,small;big\n<script>alert(1)</script>,,\nOwls,,\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["gateway", "keys", "create", "--from", "teams.csv", "--gateway-url", "http://10.0.0.5:8787", "--json"]
    )
    assert result.exit_code == 0, result.output
    keys = [json.loads(line) for line in result.stdout.splitlines()]
    assert [k["team"] for k in keys] == ["Ducks", "<script>alert(1)</script>", "Owls"]
    assert (keys[0]["budget_usd"], keys[0]["models"], keys[1]["budget_usd"], keys[1]["rpm"]) == (
        5.0,
        ["small", "big"],
        2.0,
        30,
    )
    markdown, page = (tmp_path / "handouts" / "handouts.md"), (tmp_path / "handouts" / "handouts.html")
    for path in (markdown, page):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert all(k["key"] in path.read_text() for k in keys)
    html_text = page.read_text()
    assert "<script>alert(1)</script>" not in html_text and "&lt;script&gt;" in html_text
    assert "HACKKIT_GATEWAY_URL=http://10.0.0.5:8787/v1" in markdown.read_text()
    assert "http" not in html_text.split("<style>")[1].split("</style>")[0] and "<script" not in html_text
    assert qr_svg("http://10.0.0.5:8787/v1") in html_text
    image = segno.make("http://10.0.0.5:8787/v1", error="m").matrix  # the same code, as pixels
    pixels = np.kron(1 - np.array(image, dtype=np.uint8), np.ones((8, 8), dtype=np.uint8)) * 255
    pixels = np.pad(pixels, 32, constant_values=255)
    assert [b.text for b in zxingcpp.read_barcodes(pixels)] == ["http://10.0.0.5:8787/v1"]


def test_a_project_made_for_a_gateway_answers_through_it_and_prices_its_calls(gateway, tmp_path, monkeypatch):
    from hackkit import project
    from hackkit.config import load_settings
    from hackkit.llm import Client

    created = project.create(
        {"project_name": "Via Gateway", "ui": "gradio", "rag": False, "provider": "gateway", "license": "mit"},
        tmp_path,
        git=False,
    )
    monkeypatch.setenv("HACKKIT_GATEWAY_URL", gateway.v1)
    monkeypatch.setenv("HACKKIT_GATEWAY_KEY", gateway.key(team="Project"))
    settings = load_settings(created.path)
    with Client(settings) as client:
        response = client.chat("hello from a generated project")
        assert response.model_id == "gateway/default" and response.text == "Echo: hello from a generated project"
        assert response.cost_usd == pytest.approx(
            (response.usage.input_tokens * 1.0 + response.usage.output_tokens * 2.0) / 1_000_000
        )
    assert gateway.store.logs(team="Project")[-1]["model_asked"] == "small"


def test_a_requested_key_waits_for_approval_then_answers_and_a_denial_says_why(gateway, monkeypatch):
    from click.testing import CliRunner

    from hackkit.cli import cli

    asked = httpx.post(
        gateway.v1 + "/key-requests",
        json={
            "team": "Late <b>Team</b>",
            "contact": "late@example.org",
            "reason": "we arrived late",
            "models": ["small", "open"],
        },
    )
    assert asked.status_code == 201
    request = asked.json()
    assert request["status"] == "pending" and request["key"].startswith("hk-")
    client = sdk(gateway, request["key"])
    with pytest.raises(openai.PermissionDeniedError, match="waiting for approval by the organisers"):
        client.chat.completions.create(model="small", messages=[{"role": "user", "content": "hi"}])
    opened = client.chat.completions.create(model="open", messages=[{"role": "user", "content": "open already"}])
    assert opened.choices[0].message.content == "Echo: open already"  # an open model needs no approval
    runner = CliRunner()
    with monkeypatch.context() as patch:
        patch.chdir(gateway.folder)
        pending = runner.invoke(cli, ["gateway", "keys", "pending"]).stdout
        assert "Late <b>Team</b>" in pending and "late@example.org" in pending
        approved = runner.invoke(cli, ["gateway", "keys", "approve", request["id"], "--budget", "3", "--rpm", "20"])
        assert approved.exit_code == 0, approved.output
    answer = client.chat.completions.create(model="small", messages=[{"role": "user", "content": "approved?"}])
    assert answer.choices[0].message.content == "Echo: approved?"
    key = gateway.store.find_key(request["id"])
    assert (key.status, key.budget_usd, key.rpm, key.models) == ("active", 3.0, 20, None)  # no --models: every model

    denied = httpx.post(gateway.v1 + "/key-requests", json={"team": "Spam", "contact": "x@y.z"}).json()
    admin = {"Authorization": f"Bearer {gateway.admin_key}"}
    answer = httpx.post(
        f"{gateway.url}/admin/keys/{denied['id']}/deny", headers=admin, json={"reason": "not registered"}
    )
    assert answer.status_code == 200
    with pytest.raises(openai.PermissionDeniedError, match="denied this key's request: not registered"):
        sdk(gateway, denied["key"]).chat.completions.create(model="small", messages=[{"role": "user", "content": "hi"}])
    audit = httpx.get(gateway.url + "/admin/audit", headers=admin).json()["data"]
    assert {"key.approve", "key.deny"} <= {row["action"] for row in audit}


@pytest.mark.parametrize(
    "body",
    [{}, {"team": "x"}, {"team": "", "contact": "a"}, {"team": "x", "contact": "a", "models": ["nope"]}, [1]],
)
def test_a_bad_key_request_is_400_naming_the_field(gateway, body):
    response = httpx.post(gateway.v1 + "/key-requests", json=body)
    assert response.status_code == 400 and response.json()["error"]["message"]
