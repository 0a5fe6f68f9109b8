"""What ingest keeps true: the index holds what the files say now, whatever happened to them since."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from hackkit.config import load_settings
from hackkit.rag import Index, ask, find_sources, ingest
from hackkit.rag.loaders import LOADERS

WOMBAT = "The wombat lives in the red tent."
OTHERS = {
    "lunch.md": "# Lunch\n\nLunch is served at noon in the cafeteria, with vegan options.\n",
    "rules.md": "# Rules\n\nTeams have at most four members and must push their code to a public repository.\n",
}


@pytest.fixture
def project(isolated):
    (isolated / "hackkit.toml").write_text('schema_version = 1\n[llm]\nmodel = "fake/echo"\n')
    (isolated / "data").mkdir()
    for name, text in OTHERS.items():
        (isolated / "data" / name).write_text(text)
    (isolated / "data" / "wombat.md").write_text(f"# Animals\n\n{WOMBAT}\n")
    return isolated


def settings_file(project, toml: str) -> None:
    """A new hackkit.toml, and the default client rebuilt from it."""
    import hackkit.llm

    (project / "hackkit.toml").write_text(toml)
    hackkit.llm.configure()


def sources_of(question: str) -> list[str]:
    return [s.source for s in find_sources(Index(), question)]


def chunks_by_source(index: Index) -> dict[str, list[str]]:
    _, texts, metadatas = index.store.all_chunks()
    found: dict[str, list[str]] = {}
    for text, meta in zip(texts, metadatas, strict=True):
        found.setdefault(meta["source"], []).append(text)
    return found


@pytest.mark.parametrize(
    "change,reason",
    [
        (lambda path: path.write_bytes(b""), "empty file"),
        (lambda path: path.write_bytes(WOMBAT.encode() + b"\x00" * 64), "binary content"),
        (lambda path: path.write_bytes("Le wombat vit sous la tente rouge, caf\xe9.".encode("latin-1")), "UTF-8"),
        (lambda path: path.write_text(WOMBAT * 400), "over the"),  # about 13 kB, over the 10 kB limit below
    ],
    ids=["emptied", "binary", "latin-1", "too-big"],
)
def test_a_file_that_is_now_skipped_loses_its_chunks_and_the_report_says_so(project, change, reason):
    settings_file(project, '[llm]\nmodel = "fake/echo"\n[rag]\nmax_file_mb = 0.01\n')
    ingest(["data"], Index())
    assert "data/wombat.md" in sources_of("Where does the wombat live?")
    change(project / "data" / "wombat.md")
    report = ingest(["data"], Index())
    skipped = dict(report.skipped)
    assert (
        reason in skipped["data/wombat.md"]
        and "its chunks from an earlier ingest were removed" in skipped["data/wombat.md"]
    )
    assert report.removed == ["data/wombat.md"] and report.ok
    assert "data/wombat.md" not in sources_of("Where does the wombat live?")
    answer = ask("Where does the wombat live?")
    assert WOMBAT not in answer.text and all(WOMBAT not in s.text for s in answer.sources)
    index = Index()
    assert "data/wombat.md" not in index.store.manifest.files() and "data/wombat.md" not in chunks_by_source(index)
    again = ingest(["data"], index)  # still skipped, nothing left to remove
    assert again.removed == [] and "earlier ingest" not in dict(again.skipped)["data/wombat.md"]


def test_a_file_name_that_is_not_utf8_is_indexed_beside_the_others(project):
    bad = os.fsdecode(b"caf\xe9-menu.md")  # how Python names a Latin-1 file name from a zip archive
    (project / "data" / bad).write_text("# Menu\n\nThe cafe serves hot chocolate all night.\n")
    report = ingest(["data"], Index())
    assert sorted(report.added) == ["data/caf\\xe9-menu.md", "data/lunch.md", "data/rules.md", "data/wombat.md"]
    assert report.skipped == []
    assert sources_of("What does the cafe serve at night?")[0] == "data/caf\\xe9-menu.md"
    assert ingest(["data"], Index()).unchanged == report.unchanged + sorted(report.added)  # found again, same key
    (project / "data" / bad).unlink()
    assert ingest(["data"], Index()).removed == ["data/caf\\xe9-menu.md"]


def test_a_loader_that_fails_unexpectedly_stops_only_its_own_file(project, monkeypatch):
    def explode(path, data):
        raise RuntimeError("the parser lost its mind")

    monkeypatch.setitem(LOADERS, ".boom", explode)
    (project / "data" / "strange.boom").write_text("anything")
    report = ingest(["data"], Index())
    assert sorted(report.added) == ["data/lunch.md", "data/rules.md", "data/wombat.md"]
    assert dict(report.skipped)["data/strange.boom"] == "could not be read (RuntimeError: the parser lost its mind)"


def test_changing_how_chunks_are_made_chunks_every_file_again(project):
    (project / "data" / "long.md").write_text(
        "# Long\n\n" + " ".join(f"Sentence number {n} is here." for n in range(80))
    )
    first = ingest(["data"], Index())
    before = chunks_by_source(Index())
    settings_file(project, '[llm]\nmodel = "fake/echo"\n[rag]\nchunk_size = 40\nchunk_overlap = 5\n')
    second = ingest(["data"], Index())
    assert second.unchanged == [] and sorted(second.rechunked) == sorted(first.added)
    assert "re-chunked" in second.summary()
    after = chunks_by_source(Index())
    assert len(after["data/long.md"]) > len(before["data/long.md"])
    assert Index().store.manifest.files()["data/long.md"].chunks == len(after["data/long.md"])
    third = ingest(["data"], Index())
    assert sorted(third.unchanged) == sorted(first.added) and third.chunks == 0


def test_an_index_from_before_chunking_was_recorded_is_chunked_again_once(project):
    ingest(["data"], Index())
    manifest = project / ".hackkit" / "rag" / "hackkit.manifest.sqlite"
    with sqlite3.connect(manifest) as db:  # the manifest as hackkit wrote it before
        db.execute("ALTER TABLE files DROP COLUMN chunking")
    report = ingest(["data"], Index())
    assert len(report.rechunked) == 3 and report.chunks == 3
    assert len(ingest(["data"], Index()).unchanged) == 3


def test_two_files_with_the_same_content(project):
    (project / "data" / "copy-of-wombat.md").write_bytes((project / "data" / "wombat.md").read_bytes())
    report = ingest(["data"], Index())  # both in one batch: the same chunk ids once
    assert sorted(report.added) == ["data/copy-of-wombat.md", "data/lunch.md", "data/rules.md", "data/wombat.md"]
    assert ingest(["data"], Index()).chunks == 0
    assert {"data/wombat.md", "data/copy-of-wombat.md"} <= set(chunks_by_source(Index()))
    (project / "data" / "copy-of-wombat.md").unlink()
    assert ingest(["data"], Index()).removed == ["data/copy-of-wombat.md"]
    assert [WOMBAT in text for text in chunks_by_source(Index())["data/wombat.md"]] == [True]


def test_a_copy_ingested_later_and_deleted_leaves_the_original_whole(project):
    ingest(["data"], Index())
    (project / "data" / "copy-of-wombat.md").write_bytes((project / "data" / "wombat.md").read_bytes())
    ingest(["data"], Index())
    (project / "data" / "copy-of-wombat.md").unlink()
    ingest(["data"], Index())
    index = Index()
    assert index.store.manifest.files()["data/wombat.md"].chunks == 1
    assert [WOMBAT in text for text in chunks_by_source(index)["data/wombat.md"]] == [True]
    assert "data/wombat.md" in sources_of("Where does the wombat live?")


def test_progress_counts_chunks_embedded_not_files_read(project, monkeypatch):
    import hackkit.rag.indexing

    monkeypatch.setattr(hackkit.rag.indexing, "EMBED_STEP", 2, raising=False)
    (project / "data" / "long.md").write_text(
        "# Long\n\n" + " ".join(f"Sentence number {n} is here." for n in range(80))
    )
    settings_file(project, '[llm]\nmodel = "fake/echo"\n[rag]\nchunk_size = 40\nchunk_overlap = 5\n')
    index = Index()
    events: list[tuple] = []
    embed = index.embedder.embed

    def embed_and_note(texts):
        vectors = embed(texts)
        events.append(("embedded", len(texts)))
        return vectors

    monkeypatch.setattr(index.embedder, "embed", embed_and_note)
    report = ingest(["data"], index, progress=lambda done, total, stage: events.append((stage, done, total)))
    embedding = [e for e in events if e[0] == "embedding"]
    assert embedding, events
    assert {total for _, _, total in embedding} == {report.chunks} and report.chunks > 6
    assert [done for _, done, _ in embedding] == sorted({done for _, done, _ in embedding})  # it moves forward
    assert len(embedding) >= report.chunks // 2  # a step per call to the model, not one jump at the end
    assert events.index(("embedding", report.chunks, report.chunks)) == len(events) - 1  # 100% only at the end
    done_after_each_call = 0
    for event in events:  # each step reports only what the model has already embedded
        if event[0] == "embedded":
            done_after_each_call += event[1]
        elif event[0] == "embedding":
            assert event[1] <= done_after_each_call
    reading = [e for e in events if e[0] == "reading"]
    assert reading[-1] == ("reading", 4, 4) and events.index(reading[-1]) < events.index(embedding[0])


def test_the_cli_bar_shows_chunks_embedded(project):
    """In a terminal, ``hackkit ingest`` draws a bar of files read, then one of chunks embedded."""
    import pty

    controller, terminal = pty.openpty()
    result = subprocess.run(
        [sys.executable, "-m", "hackkit", "ingest"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "120"},
    )
    os.close(terminal)
    drawn = b""
    while True:
        try:
            piece = os.read(controller, 65536)
        except OSError:
            break
        if not piece:
            break
        drawn += piece
    os.close(controller)
    assert result.returncode == 0 and "3 added" in result.stdout
    assert "reading files" in drawn.decode() and "embedding chunks" in drawn.decode()
    assert "3/3" in drawn.decode().split("embedding chunks")[-1]


@pytest.mark.parametrize(
    "include,exclude,expected",
    [
        (["docs/*.md"], [], ["data/docs/a.md"]),  # `*` does not cross `/`
        (["docs/**/*.md"], [], ["data/docs/a.md", "data/docs/deep/b.md"]),
        (["*.md"], [], ["data/docs/a.md", "data/docs/deep/b.md", "data/top.md"]),  # no slash: at any depth
        (["**/*"], ["deep/"], ["data/docs/a.md", "data/notes.txt", "data/top.md"]),  # a folder and all in it
        (["**/*"], ["*.md", "!top.md"], ["data/notes.txt", "data/top.md"]),  # taken back with `!`
        (["**/*"], ["/top.md"], ["data/docs/a.md", "data/docs/deep/b.md", "data/notes.txt"]),  # anchored
    ],
)
def test_include_and_exclude_follow_gitignore_rules(isolated, include, exclude, expected):
    for name in ("docs/a.md", "docs/deep/b.md", "top.md", "notes.txt"):
        (isolated / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        (isolated / "data" / name).write_text(f"Some text in {name}.")
    report = ingest(["data"], Index(), include=include, exclude=exclude)
    assert sorted(report.added) == expected


def test_the_default_patterns_leave_out_hidden_files_and_node_modules(isolated):
    for name in ("a.md", ".env", "x/.git/config.txt", ".hidden/b.md", "web/node_modules/pkg/readme.md", "web/c.md"):
        (isolated / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        (isolated / "data" / name).write_text(f"Some text in {name}.")
    settings = load_settings(isolated)
    report = ingest(["data"], Index(settings))
    assert sorted(report.added) == ["data/a.md", "data/web/c.md"]
