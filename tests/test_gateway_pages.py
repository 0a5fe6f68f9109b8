"""The gateway's catalog and dashboard, as teams and mentors use them: in Chromium, and over HTTP.

One gateway (two workers, so sessions must work on both) serves the module over the fake provider.
Every page a browser opens is recorded: each request must go to the gateway itself.
"""

from __future__ import annotations

import html
import re
import runpy
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from gateway_helpers import RunningGateway, serve_gateway, write_config

from hackkit.server.store import hash_key

pytestmark = pytest.mark.browser

CONFIG = """
[gateway]
default_model = "echo"
default_embedding_model = "embed"
[gateway.models]
echo = { model = "fake/echo", input_price = 1.0, output_price = 2.0, description = "answers with what you said" }
embed = { model = "fake/embed", input_price = 0.1, output_price = 0 }
open = { model = "fake/echo", input_price = 1.0, output_price = 2.0, approval_required = false }
[gateway.keys]
budget = 1.0
rpm = 600
"""
PITCH = "---\nname: pitch\nversion: 1\nmodel: echo\ndescription: A one-line pitch\n---\n"
PITCH += "Pitch {{ idea }} to {{ audience }}\n"
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[RunningGateway]:
    folder = tmp_path_factory.mktemp("gateway")
    write_config(folder, CONFIG)
    (folder / "prompts").mkdir()
    (folder / "prompts" / "pitch.md").write_text(PITCH)
    with serve_gateway(folder, workers=2) as running:
        yield running


class Pages:
    """Browser contexts on the gateway, each recording every URL its pages request."""

    def __init__(self, browser: Any, gateway: RunningGateway) -> None:
        self.browser, self.gateway = browser, gateway
        self.requested: list[str] = []
        self.contexts: list[Any] = []

    def open(self, path: str) -> Any:
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        context.on("request", lambda request: self.requested.append(request.url))
        self.contexts.append(context)
        page = context.new_page()
        page.goto(self.gateway.url + path)
        return page

    def as_admin(self) -> Any:
        page = self.open("/dashboard")
        page.fill("input[name=admin_key]", self.gateway.admin_key)
        page.click("#login button")
        page.locator("#keys").wait_for()
        return page

    def as_team(self, key: str) -> Any:
        page = self.open("/catalog")
        page.fill("input[name=key]", key)
        page.click("#login button")
        page.locator("#models").wait_for()
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, gateway) -> Iterator[Pages]:
    opened = Pages(browser, gateway)
    yield opened
    opened.close()
    outside = [url for url in opened.requested if not url.startswith(gateway.url + "/")]
    assert opened.requested and not outside, outside  # no CDN, font or tracker: nothing but the gateway
    assert not [url for url in opened.requested if gateway.admin_key in url]  # the admin key is never in a URL


def sdk(gateway: RunningGateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=key, max_retries=0)


def hello(gateway: RunningGateway, key: str, text: str = "hello", model: str = "echo") -> str:
    answer = sdk(gateway, key).chat.completions.create(model=model, messages=[{"role": "user", "content": text}])
    return str(answer.choices[0].message.content)


def test_a_key_asked_for_in_the_catalog_answers_once_approved_in_the_dashboard(pages, gateway):
    team = pages.open("/catalog")
    team.fill("#ask input[name=team]", "Night Owls")
    team.fill("#ask input[name=contact]", "owls@example.org")
    team.fill("#ask textarea[name=reason]", "we arrived late")
    team.click("#ask button")
    key = team.locator(".secret").inner_text().strip()
    assert key.startswith("hk-") and "waiting for approval" in team.locator("main").inner_text()
    with pytest.raises(openai.PermissionDeniedError, match="waiting for approval"):
        hello(gateway, key)
    assert hello(gateway, key, "already", model="open") == "Echo: already"  # an open model answers meanwhile

    admin = pages.as_admin()
    cookie = next(c for c in admin.context.cookies() if c["name"] == "hk_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and "hk-" not in cookie["value"]
    row = admin.locator("#pending tr", has_text="Night Owls")
    assert "we arrived late" in row.inner_text()
    row.get_by_role("button", name="Approve").click()
    assert "Approved key" in admin.locator(".notice").inner_text()
    assert hello(gateway, key, "approved?") == "Echo: approved?"
    team.goto(gateway.url + "/catalog")  # the team was logged in by its request
    assert team.locator("#spend").is_visible() and "active" in team.locator(".stats").inner_text()

    denied = httpx.post(gateway.v1 + "/key-requests", json={"team": "Spammers", "contact": "x@y.z"}).json()
    admin.goto(gateway.url + "/dashboard")
    spam = admin.locator("#pending tr", has_text="Spammers")
    spam.locator("input[name=reason]").fill("not registered for the event")
    spam.get_by_role("button", name="Deny").click()
    with pytest.raises(openai.PermissionDeniedError, match="denied this key's request: not registered for the event"):
        hello(gateway, denied["key"])
    login = pages.open("/catalog")
    login.fill("input[name=key]", denied["key"])
    login.click("#login button")
    assert "not registered for the event" in login.locator(".notice").inner_text()
    actions = {(r["action"], r["actor"]) for r in gateway.store.audit_log() if r["target"] in (denied["id"],)}
    assert ("key.deny", "dashboard") in actions


def test_a_team_sees_its_spend_move_and_a_revoked_key_is_logged_out(pages, gateway):
    record, key = gateway.key_record("Spenders", budget_usd=2.0)
    team = pages.as_team(key)
    assert team.locator("#spend b").inner_text() == "$0"
    admin = pages.as_admin()
    tail = admin.locator("#tail-rows")
    for text in ("one", "two words"):
        hello(gateway, key, text)
    tail.locator("tr", has_text="Spenders").first.wait_for(timeout=10_000)  # the live tail, without a reload
    assert admin.locator("#tail-state").inner_text() == "live"
    team.reload()
    spent = gateway.store.find_key(record.id).spent_usd
    assert spent > 0 and team.locator("#spend b").inner_text() == f"${spent:.6f}".rstrip("0")
    assert team.locator("#calls tbody tr").count() == 2
    admin.reload()
    row = admin.locator("#spend tr", has_text="Spenders")
    assert row.locator("td").nth(1).inner_text() == f"${spent:.6f}".rstrip("0") and "$2" in row.inner_text()

    admin.locator("#keys tr", has_text=record.id).get_by_role("button", name="Revoke").click()
    assert "Revoked key" in admin.locator(".notice").inner_text()
    with pytest.raises(openai.AuthenticationError, match="revoked"):
        hello(gateway, key)
    team.reload()
    assert "was revoked" in team.locator(".notice").inner_text() and team.locator("#login").is_visible()


def test_a_hostile_team_name_is_shown_as_text(pages, gateway):
    asking = pages.open("/catalog")
    asking.fill("#ask input[name=team]", HOSTILE)
    asking.fill("#ask input[name=contact]", "<script>document.title='pwned'</script>")
    asking.click("#ask button")
    assert HOSTILE in asking.locator("main").inner_text() and asking.locator("main img").count() == 0
    admin = pages.as_admin()
    assert HOSTILE in admin.locator("#pending").inner_text() and "<img src=x" in admin.locator("#audit").inner_text()
    assert admin.locator("img").count() == 0 and admin.locator("main script").count() == 0
    assert admin.title() != "pwned" and asking.title() != "pwned"


def test_a_form_posted_without_its_csrf_token_is_refused(pages, gateway):
    waiting = httpx.post(gateway.v1 + "/key-requests", json={"team": "Forged", "contact": "f@x.y"}).json()
    admin = pages.as_admin()
    row = admin.locator("#pending tr", has_text="Forged")
    row.locator("input[name=csrf]").first.evaluate("field => field.remove()")
    row.get_by_role("button", name="Approve").click()
    assert "did not carry this page's security token" in admin.locator(".notice").inner_text()
    assert gateway.store.find_key(waiting["id"]).status == "pending"

    client = httpx.Client(base_url=gateway.url)
    form = _login_admin(client, gateway)
    for token in ({}, {"csrf": "0" * 64}, {"csrf": form}):
        answer = client.post(f"/dashboard/keys/{waiting['id']}/revoke", data=token)
        assert answer.status_code == (303 if token.get("csrf") == form else 403)
        assert gateway.store.find_key(waiting["id"]).status == ("revoked" if answer.status_code == 303 else "pending")
    outsider = httpx.post(gateway.url + "/catalog/login", data={"key": "hk-anything"})
    assert outsider.status_code == 403  # no session, no token: refused before the key is even looked at


def _csrf(page_html: str) -> str:
    return re.search(r"name='csrf' value='([0-9a-f]+)'", page_html).group(1)


def _login_admin(client: httpx.Client, gateway: RunningGateway) -> str:
    """Log ``client`` in as the admin through the form; the CSRF token of its new session."""
    token = _csrf(client.get("/dashboard").text)
    answer = client.post("/dashboard/login", data={"admin_key": gateway.admin_key, "csrf": token})
    assert answer.status_code == 303 and "hk_session" in answer.headers["set-cookie"]
    assert gateway.admin_key not in answer.headers["set-cookie"]
    return _csrf(client.get("/dashboard").text)


def _login_team(client: httpx.Client, key: str) -> httpx.Response:
    token = _csrf(client.get("/catalog").text)
    return client.post("/catalog/login", data={"key": key, "csrf": token})


def test_sessions_hold_on_both_workers_and_scripts_use_the_bearer_key(gateway):
    client = httpx.Client(base_url=gateway.url)
    _login_admin(client, gateway)
    cookie = client.cookies["hk_session"]
    for _ in range(12):  # a new connection each time: the two workers share nothing but the store
        with httpx.Client(base_url=gateway.url, cookies={"hk_session": cookie}) as fresh:
            assert "id='keys'" in fresh.get("/dashboard").text
    bearer = {"Authorization": f"Bearer {gateway.admin_key}"}
    assert "id='keys'" in httpx.get(gateway.url + "/dashboard", headers=bearer).text
    assert "id='keys'" not in httpx.get(gateway.url + "/dashboard").text  # the login form instead
    assert httpx.get(gateway.url + "/dashboard/tail.json").status_code == 401
    waiting = httpx.post(gateway.v1 + "/key-requests", json={"team": "Scripted", "contact": "s@x.y"}).json()
    scripted = httpx.post(f"{gateway.url}/dashboard/keys/{waiting['id']}/approve", headers=bearer, data={"rpm": "9"})
    assert scripted.status_code == 303 and gateway.store.find_key(waiting["id"]).rpm == 9
    wrong = client.post(
        "/dashboard/login", data={"admin_key": "hk-admin-guess", "csrf": _csrf(client.get("/dashboard").text)}
    )
    assert wrong.status_code == 401 and "not this gateway's admin key" in html.unescape(wrong.text)


def test_the_pages_send_a_policy_that_forbids_other_origins(gateway):
    for path in ("/catalog", "/dashboard"):
        answer = httpx.get(gateway.url + path)
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "form-action 'self'" in policy and "frame-ancestors 'none'" in policy
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        assert f"<style nonce='{nonce}'>" in answer.text and "http" not in policy
        assert (
            answer.headers["content-type"] == "text/html; charset=utf-8" and "hk-" not in answer.headers["set-cookie"]
        )


def test_a_rotated_key_ends_its_session(gateway):
    record, key = gateway.key_record("Rotators")
    client = httpx.Client(base_url=gateway.url)
    assert _login_team(client, key).status_code == 303
    assert "Rotators" in client.get("/catalog").text
    gateway.store.rotate_key(record.id)
    assert "id='login'" in client.get("/catalog").text and "Rotators" not in client.get("/catalog").text


def code_blocks(page_html: str, section: str) -> dict[str, str]:
    """label: code, for the examples of one model or prompt on the catalog page."""
    found = re.search(rf"<div class='model' id='{section}'>(.*?)</div></div>", page_html, re.S)
    assert found, section
    pairs = re.findall(r"<summary>(.*?)</summary><pre><code>(.*?)</code></pre>", found.group(1), re.S)
    return {html.unescape(label): html.unescape(text) for label, text in pairs}


def run_example(label: str, code: str, key: str, monkeypatch, capsys, tmp_path: Path) -> str:
    if label == "curl":
        done = subprocess.run(
            ["bash", "-c", code],
            env={"HACKKIT_GATEWAY_KEY": key, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done.stdout
    monkeypatch.setenv("HACKKIT_GATEWAY_KEY", key)
    if label == "hackkit.llm":  # what its first line says to put in .env
        monkeypatch.setenv("HACKKIT_GATEWAY_URL", re.search(r"HACKKIT_GATEWAY_URL=(\S+)", code).group(1))
    script = tmp_path / "example.py"
    script.write_text(code)
    runpy.run_path(str(script), run_name="__main__")
    return capsys.readouterr().out


def test_every_example_in_the_catalog_runs_against_this_gateway(gateway, monkeypatch, capsys, tmp_path):
    key = gateway.key("Copiers")
    client = httpx.Client(base_url=gateway.url)
    _login_team(client, key)
    catalog = client.get("/catalog").text
    expected = {
        "model-echo": "Echo: Hello!",
        "model-embed": "16",
        "prompt-pitch": "Echo: Pitch your idea to your audience",
    }
    for section, answer in expected.items():
        examples = code_blocks(catalog, section)
        assert len(examples) == 4 and f"{gateway.v1}" in examples["curl"], examples
        for label, code in examples.items():
            printed = run_example(label, code, key, monkeypatch, capsys, tmp_path)
            assert (answer if label != "curl" or section != "model-embed" else '"embedding"') in printed, (
                label,
                printed,
            )
    record = gateway.store.key_by_hash(hash_key(key))
    assert len(gateway.store.key_logs(record.id, 50)) == 12  # each example made one call, under this key


@pytest.mark.parametrize("setting", ["key_requests = false", "max_pending = 1"])
def test_the_catalog_asks_for_keys_exactly_as_post_v1_key_requests_does(tmp_path, setting):
    write_config(tmp_path, CONFIG.replace("[gateway]\n", f"[gateway]\n{setting}\n"))
    with serve_gateway(tmp_path) as small:
        client = httpx.Client(base_url=small.url)
        page = client.get("/catalog").text
        form = {"team": "Latecomers", "contact": "late@example.org", "reason": "the train", "models": "echo"}
        if setting.startswith("key_requests"):
            assert "id='ask'" not in page
            refused = client.post("/catalog/request", data={**form, "csrf": _csrf(page)})
            assert refused.status_code == 404 and "takes no key requests" in refused.text
            return
        first = client.post("/catalog/request", data={**form, "csrf": _csrf(page)})
        assert first.status_code == 201 and "hk-" in first.text
        again = httpx.Client(base_url=small.url)
        refused = again.post(
            "/catalog/request", data={**form, "team": "Second", "csrf": _csrf(again.get("/catalog").text)}
        )
        assert refused.status_code == 429 and "Too many key requests are waiting" in refused.text
        assert (
            "value='Second'" in refused.text and ">the train</textarea>" in refused.text and "checked" in refused.text
        )
        unexplained = again.post("/catalog/request", data={**form, "reason": "", "csrf": _csrf(refused.text)})
        assert unexplained.status_code == 429 and "></textarea>" in unexplained.text  # an empty reason stays empty
        assert [k.team for k in small.store.pending_keys()] == ["Latecomers"]
        assert small.store.pending_keys()[0].models == ["echo"]
