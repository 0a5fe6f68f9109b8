"""Uploads through the view-model, into a real Chroma index (fake embeddings, so no model loads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hackkit.config import load_settings
from hackkit.ui.viewmodel import DemoApp

TOML = '[llm]\nmodel = "fake/echo"\n[rag]\nembedding_model = "fake/hash"\nmin_score = -1\n'
TOML += "[ui]\n"


def demo(project: Path, toml: str = "") -> DemoApp:
    (project / "hackkit.toml").write_text(TOML + toml)
    return DemoApp(load_settings(project))


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def indexed(app: DemoApp) -> list[str]:
    return sorted(Path(key).name for key in app.index().store.manifest.files())


@pytest.mark.parametrize("name", ["..", "/", "", "   ", "a/..", "bad\x00name.md"])
def test_a_name_that_is_no_file_name_is_refused_clearly(isolated, name):
    app = demo(isolated)
    session = app.session()
    report = session.upload([(name, b"# Notes\n\nSome text.\n")])
    assert "is not a usable file name" in report and "Ingested 0 file(s)" in report
    assert files_in(app.private_uploads) == []


def test_refused_files_are_not_left_on_disk(isolated):
    app = demo(isolated, "max_upload_mb = 1\n")
    session = app.session()
    report = session.upload(
        [
            ("payload.exe", b"MZ\x90\x00 not a document"),
            ("big.md", b"a" * 1_500_000),
            (".hidden.md", b"# Hidden\n\nPlanted text.\n"),
            ("empty.md", b""),
            ("good.md", b"# Good\n\nDucks like bread.\n"),
        ]
    )
    assert "Ingested 1 file(s)" in report
    assert "payload.exe: unsupported type .exe" in report
    assert "big.md: larger than the 1 MB limit per file" in report
    assert ".hidden.md: left out by the project's [rag] include and exclude rules" in report
    assert "empty.md: empty file" in report
    assert files_in(app.private_uploads) == ["good.md"]
    assert indexed(app) == ["good.md"]


def test_the_total_upload_space_is_capped(isolated):
    app = demo(isolated, "uploads_total_mb = 1\n")
    first, second = app.session(), app.session()
    assert "Ingested 1 file(s)" in first.upload([("a.md", b"# A\n\n" + b"a " * 300_000)])
    report = second.upload([("b.md", b"# B\n\n" + b"b " * 300_000)])  # the cap counts every visitor's files
    assert "b.md: the demo's 1 MB of upload space is full" in report
    assert files_in(app.private_uploads) == ["a.md"]


def test_a_same_name_upload_never_replaces_another_file(isolated):
    app = demo(isolated, 'uploads = "shared"\n')
    session = app.session()
    session.upload([("notes.md", b"# Notes\n\nThe first notes.\n")])
    report = session.upload([("notes.md", b"# Notes\n\nDifferent notes.\n")])
    assert "notes.md was saved as notes-2.md" in report
    folder = isolated / "data" / "uploads"
    assert (folder / "notes.md").read_text() == "# Notes\n\nThe first notes.\n"
    assert (folder / "notes-2.md").read_text() == "# Notes\n\nDifferent notes.\n"
    again = session.upload([("notes.md", b"# Notes\n\nThe first notes.\n")])  # the same bytes: the same file
    assert "Ingested 1 file(s)" in again and "saved as" not in again
    assert files_in(folder) == ["notes-2.md", "notes.md"] and indexed(app) == ["notes-2.md", "notes.md"]


def answer(session, question: str) -> str:
    return list(session.send(question))[-1].text


def test_by_default_a_visitors_uploads_reach_only_their_own_answers(isolated):
    from hackkit.rag import ingest

    app = demo(isolated)
    (isolated / "data").mkdir()
    (isolated / "data" / "handbook.md").write_text("# Demo\n\nThe demo starts at 17:00.\n")
    ingest([isolated / "data"], app.index())
    planter, judge = app.session(), app.session()
    planter.upload([("vault.md", b"# Vault\n\nThe vault code is 4471.\n")])
    assert "4471" in answer(planter, "What is the vault code?")
    judged = answer(judge, "What is the vault code?")
    assert "17:00" in judged and "4471" not in judged  # the project's documents, not the planted one
    assert not (isolated / "data" / "uploads").exists()  # nor can `hackkit ingest data` pick them up


def test_shared_uploads_reach_every_visitor(isolated):
    app = demo(isolated, 'uploads = "shared"\n')
    app.session().upload([("vault.md", b"# Vault\n\nThe vault code is 4471.\n")])
    assert "4471" in answer(app.session(), "What is the vault code?")
    assert (isolated / "data" / "uploads" / "vault.md").is_file()


def test_the_apps_own_upload_is_shared_and_spends_no_visitor_budget(isolated):
    app = demo(isolated, "rate_limit_per_minute = 1\n")
    for name in ("a.md", "b.md"):
        assert "Ingested 1 file(s)" in app.upload([(name, b"# Notes\n\nThe vault code is 4471.\n" + name.encode())])
    assert files_in(isolated / "data" / "uploads") == ["a.md", "b.md"]
    assert "4471" in answer(app.session(), "What is the vault code?")


def test_private_uploads_stay_private_when_the_demo_switches_to_shared(isolated):
    planter = demo(isolated).session()
    planter.upload([("vault.md", b"# Vault\n\nThe vault code is 4471.\n")])
    shared = demo(isolated, 'uploads = "shared"\n')  # the next deploy changes [ui] uploads
    assert "4471" not in answer(shared.session(), "What is the vault code?")
