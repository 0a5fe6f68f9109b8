"""The manifest and the store agree after any sequence of adds, edits, copies, renames and deletions.

A property test: hypothesis draws sequences of file operations with ingests between them; after
every ingest the manifest lists exactly the readable files, each with as many chunks as the store
holds for it, and at the end the index equals a clean rebuild from the same files. Embeddings come
from the fake provider (``fake/hash``: deterministic vectors), so only ingest itself is exercised.
"""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hackkit.config import load_settings
from hackkit.llm import Client
from hackkit.rag import Index, ingest
from hackkit.rag.store import Store

NAMES = ["a.md", "b.md", "sub/c.md", "sub/deeper/d.txt"]
CONTENTS = [
    b"# Alpha\n\nAlpha bravo charlie.\n",
    b"# Delta\n\n" + b"Delta echo foxtrot golf hotel. " * 40,  # several chunks
    b"# Alpha\n\nAlpha bravo charlie, edited.\n",
    b"",  # empty: skipped
    "caf\xe9 au lait".encode("latin-1"),  # not UTF-8: skipped
]
READABLE = {0, 1, 2}
TOML = """schema_version = 1
[llm]
model = "fake/echo"
[llm.ledger]
enabled = false
[rag]
embedding_model = "fake/hash"
chunk_size = 30
chunk_overlap = 5
"""

name = st.sampled_from(NAMES)
operation = st.one_of(
    st.tuples(st.just("write"), name, st.integers(0, len(CONTENTS) - 1)),
    st.tuples(st.just("copy"), name, name),
    st.tuples(st.just("rename"), name, name),
    st.tuples(st.just("delete"), name),
    st.just(("ingest",)),
)
examples = itertools.count()


def apply(folder: Path, step: tuple) -> None:
    kind, *args = step
    if kind == "write":
        path = folder / args[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(CONTENTS[args[1]])
    elif kind in ("copy", "rename") and (folder / args[0]).is_file() and args[0] != args[1]:
        (folder / args[1]).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copyfile if kind == "copy" else shutil.move)(folder / args[0], folder / args[1])
    elif kind == "delete" and (folder / args[0]).is_file():
        (folder / args[0]).unlink()


def readable_files(project: Path, folder: Path) -> set[str]:
    return {
        path.relative_to(project).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and CONTENTS.index(path.read_bytes()) in READABLE
    }


def check_agreement(index: Index, project: Path, folder: Path) -> None:
    files = index.store.manifest.files()
    ids, _, metadatas = index.store.all_chunks()
    assert len(ids) == len(set(ids))
    assert set(files) == readable_files(project, folder)
    assert Counter(m["source"] for m in metadatas) == {key: record.chunks for key, record in files.items()}


def contents(index: Index) -> tuple[list[tuple[str, str]], dict[str, str]]:
    _, texts, metadatas = index.store.all_chunks()
    chunks = sorted((m["source"], text) for text, m in zip(texts, metadatas, strict=True))
    return chunks, {key: record.hash for key, record in index.store.manifest.files().items()}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(operation, min_size=1, max_size=12))
def test_manifest_and_store_agree_after_any_sequence_of_changes(isolated, steps):
    n = next(examples)
    project = isolated
    (project / "hackkit.toml").write_text(TOML)
    folder = project / f"data-{n}"
    folder.mkdir()
    client = Client(load_settings(project, rag__collection=f"example-{n}"))
    try:
        index = Index(client=client)
        for step in [*steps, ("ingest",)]:
            apply(folder, step)
            if step[0] == "ingest":
                report = ingest([folder], index)
                assert not {key for key, _ in report.skipped} & set(index.store.manifest.files())
                check_agreement(index, project, folder)
        clean = Index(client=client, store=Store(index.store.root, f"clean-{n}", index.store.embedding_model))
        ingest([folder], clean)
        assert contents(index) == contents(clean)
    finally:
        client.close()
