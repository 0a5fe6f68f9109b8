"""Built-in providers. Each module is one wire format; see ``hackkit.llm.registry.BUILTIN``."""
