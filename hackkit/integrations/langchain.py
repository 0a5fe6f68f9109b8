"""hackkit for LangChain and LangGraph: a chat model over the client, a retriever over the index.

    from hackkit.integrations.langchain import ChatHackkit, HackkitRetriever
    model = ChatHackkit(model="mistral/mistral-small-latest")   # routing, fallbacks, the ledger
    docs = HackkitRetriever(k=4).invoke("What is our pricing?")

Importing this module imports langchain-core; ``hackkit.integrations`` alone does not.
"""

from __future__ import annotations

from hackkit.integrations._lc_chat import ChatHackkit
from hackkit.integrations._lc_retriever import HackkitRetriever

__all__ = ["ChatHackkit", "HackkitRetriever"]
