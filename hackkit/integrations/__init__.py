"""Adapters to other frameworks (LangChain), each importing its framework only when used."""
