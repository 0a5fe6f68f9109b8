"""HackkitRetriever over a real index: LangChain's standard retriever tests, then its own options.

One index for the module: six short documents in a real Chroma store in a temporary folder,
embedded by the offline MiniLM model, so a question finds the document that answers it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests

from hackkit.config import load_settings
from hackkit.errors import InvalidRequestError
from hackkit.integrations import HackkitRetriever
from hackkit.rag import Index, ingest

pytestmark = pytest.mark.anyio  # the standard async test carries no marker of its own

DOCUMENTS = {
    "demo.md": "# Demo day\n\nThe final demos take place in room B12 on Sunday at 14:00.",
    "prizes.md": "# Prizes\n\nThe winning team takes home a trophy and 3,000 euros.",
    "food.md": "# Food\n\nPizza is served at 19:00 on Saturday; vegan options are on the left table.",
    "wifi.md": "# Network\n\nThe wifi network is HackNet and its password is rubberduck42.",
    "judging.md": "# Judging\n\nJudges score impact, execution and the quality of the pitch.",
    "sleep.md": "# Sleeping\n\nQuiet rooms with mattresses are on the second floor, rooms 201 to 204.",
}


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    root = tmp_path_factory.mktemp("handbook")
    (root / "hackkit.toml").write_text("schema_version = 1\n")
    (root / "data").mkdir()
    for name, text in DOCUMENTS.items():
        (root / "data" / name).write_text(text)
    # Explicit settings, so a developer's HACKKIT_MODEL or HACKKIT_EMBEDDING_MODEL cannot change them.
    settings = load_settings(root, llm__model="fake/echo", rag__embedding_model="local/all-MiniLM-L6-v2")
    index = Index(settings)
    report = ingest([root / "data"], index)
    assert sorted(Path(p).name for p in report.added) == sorted(DOCUMENTS)
    yield index
    index.close()
    index.client.close()


class TestHackkitRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _handbook(self, handbook: Index) -> None:
        self.index = handbook

    @property
    def retriever_constructor(self) -> type[HackkitRetriever]:
        return HackkitRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"index": self.index}

    @property
    def retriever_query_example(self) -> str:
        return "Where do the demos take place?"


def sources(documents: list[Document]) -> list[str]:
    return [Path(d.metadata["source"]).name for d in documents]


def test_the_document_that_answers_comes_first_with_its_scores(handbook):
    documents = HackkitRetriever(index=handbook, k=2).invoke("What is the wifi password?")
    assert sources(documents)[0] == "wifi.md" and "rubberduck42" in documents[0].page_content
    assert documents[0].id and 0 < documents[0].metadata["similarity"] <= 1


def test_k_mode_and_where_given_at_invoke_override_the_constructor(handbook):
    retriever = HackkitRetriever(index=handbook, k=5, mode="bm25")
    assert len(retriever.invoke("pizza")) == 1  # BM25 finds only the chunk with the word
    dense = retriever.invoke("pizza", k=2, mode="dense")
    assert len(dense) == 2 and sources(dense)[0] == "food.md"
    only_prizes = retriever.invoke("Where is the demo?", mode="dense", where={"source": {"$eq": "data/prizes.md"}})
    assert sources(only_prizes) == ["prizes.md"]


async def test_ainvoke_honours_k_and_where(handbook):
    retriever = HackkitRetriever(index=handbook)
    assert len(await retriever.ainvoke("rooms", k=2)) == 2
    filtered = await retriever.ainvoke("rooms", where={"source": "data/sleep.md"})
    assert sources(filtered) == ["sleep.md"]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda index: HackkitRetriever(index=index, k=0), "k must be a whole number of at least 1"),
        (lambda index: HackkitRetriever(index=index, mode="semantic"), "mode 'semantic' is not a retrieval mode"),
        (lambda index: HackkitRetriever(index=index).invoke("x", k=-1), "k must be a whole number of at least 1"),
        (lambda index: HackkitRetriever(index=index).invoke("x", top_k=3), "unknown options ['top_k']"),
    ],
)
def test_bad_options_get_an_error_that_says_what_to_pass(handbook, build, message):
    with pytest.raises(InvalidRequestError) as raised:
        build(handbook)
    assert message in raised.value.message and raised.value.hint
