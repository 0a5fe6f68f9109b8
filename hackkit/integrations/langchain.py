"""hackkit for LangChain: a retriever over the project's index.

    from hackkit.integrations.langchain import HackkitRetriever
    docs = HackkitRetriever(k=4).invoke("What is our pricing?")

Importing this module imports langchain-core; ``hackkit.integrations`` alone does not.
"""

from __future__ import annotations

from hackkit.integrations._lc_retriever import HackkitRetriever

__all__ = ["HackkitRetriever"]
