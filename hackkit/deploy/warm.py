"""``python -m hackkit.deploy.warm``: load the project's offline models once, at image build time.

The Dockerfile runs it with ``--bake``, so SmolLM2 is de-quantised into the image's cache (about
half a minute) and the embedding model is read once, instead of on the first visitor's question.
"""

from __future__ import annotations

from hackkit.config import ProviderConfig, load_settings
from hackkit.llm.registry import split_model_id


def main() -> None:
    settings = load_settings()
    llm = settings.llm
    models = [llm.model or "", *(m for chain in llm.router.fallbacks.values() for m in chain)]
    from hackkit.llm.providers.local import LocalProvider

    provider = LocalProvider("local", settings, settings.llm.providers.get("local") or ProviderConfig())
    for model in dict.fromkeys(m for m in models if m.startswith("local/")):
        provider.model(split_model_id(model)[1])
        print(f"loaded {model}")
    if settings.rag.embedding_model.startswith("local/"):
        provider.embed(["warm up"], split_model_id(settings.rag.embedding_model)[1])
        print(f"loaded {settings.rag.embedding_model}")


if __name__ == "__main__":
    main()
