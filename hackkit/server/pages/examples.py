"""Copy-paste examples for the catalog, filled in with this gateway's URL and each model's name.

Each reads the team's key from ``HACKKIT_GATEWAY_KEY`` (the handout's ``.env`` has it), so nothing
secret is printed on a page. The tests run every one of them against a real gateway.
"""

from __future__ import annotations

import json

from hackkit.server.catalog import Exposed

KEY = "HACKKIT_GATEWAY_KEY"


def is_embedding(model: Exposed) -> bool:
    """An embedding model, by the name of what it reaches (as the catalog picks its default)."""
    target = model.target.lower()
    return "embed" in target or "minilm" in target


def model_examples(model: Exposed, v1: str) -> list[tuple[str, str]]:
    """(label, code) pairs: the openai SDK, curl, hackkit.llm and LangChain."""
    if is_embedding(model):
        return _embedding_examples(model.name, v1)
    return _chat_examples(model.name, v1)


def _chat_examples(name: str, v1: str) -> list[tuple[str, str]]:
    body = json.dumps({"model": name, "messages": [{"role": "user", "content": "Hello!"}]})
    return [
        (
            "openai SDK",
            "import os\n\nfrom openai import OpenAI\n\n"
            f'client = OpenAI(base_url="{v1}", api_key=os.environ["{KEY}"])\n'
            "reply = client.chat.completions.create(\n"
            f'    model="{name}", messages=[{{"role": "user", "content": "Hello!"}}]\n'
            ")\n"
            "print(reply.choices[0].message.content)\n",
        ),
        (
            "curl",
            f"curl -s {v1}/chat/completions \\\n"
            f'  -H "Authorization: Bearer ${KEY}" -H "Content-Type: application/json" \\\n'
            f"  -d '{body}'\n",
        ),
        (
            "hackkit.llm",
            f"# .env: HACKKIT_GATEWAY_URL={v1} and {KEY}=hk-...\n"
            "from hackkit.llm import chat\n\n"
            f'print(chat("Hello!", model="gateway/{name}"))\n',
        ),
        (
            "LangChain",
            "import os\n\nfrom langchain_openai import ChatOpenAI\n\n"
            f'llm = ChatOpenAI(base_url="{v1}", api_key=os.environ["{KEY}"], model="{name}")\n'
            'print(llm.invoke("Hello!").content)\n',
        ),
    ]


def _embedding_examples(name: str, v1: str) -> list[tuple[str, str]]:
    body = json.dumps({"model": name, "input": ["a sentence to embed"]})
    return [
        (
            "openai SDK",
            "import os\n\nfrom openai import OpenAI\n\n"
            f'client = OpenAI(base_url="{v1}", api_key=os.environ["{KEY}"])\n'
            f'result = client.embeddings.create(model="{name}", input=["a sentence to embed"])\n'
            "print(len(result.data[0].embedding))\n",
        ),
        (
            "curl",
            f"curl -s {v1}/embeddings \\\n"
            f'  -H "Authorization: Bearer ${KEY}" -H "Content-Type: application/json" \\\n'
            f"  -d '{body}'\n",
        ),
        (
            "hackkit.llm",
            f"# .env: HACKKIT_GATEWAY_URL={v1} and {KEY}=hk-...\n"
            "from hackkit.llm import embed\n\n"
            f'print(len(embed(["a sentence to embed"], model="gateway/{name}").vectors[0]))\n',
        ),
        (
            "LangChain",
            "import os\n\nfrom langchain_openai import OpenAIEmbeddings\n\n"
            f'embeddings = OpenAIEmbeddings(base_url="{v1}", api_key=os.environ["{KEY}"], model="{name}",\n'
            "                              check_embedding_ctx_length=False)  # no tokenizer download\n"
            'print(len(embeddings.embed_query("a sentence to embed")))\n',
        ),
    ]


def prompt_examples(name: str, variables: list[str], v1: str) -> list[tuple[str, str]]:
    """(label, code) pairs for ``POST /v1/prompts/NAME``: curl, the openai SDK, httpx and LangChain."""
    filled = {variable: f"your {variable}" for variable in variables}
    body = json.dumps({"variables": filled})
    python_vars = json.dumps(filled)
    return [
        (
            "curl",
            f"curl -s {v1}/prompts/{name} \\\n"
            f'  -H "Authorization: Bearer ${KEY}" -H "Content-Type: application/json" \\\n'
            f"  -d '{body}'\n",
        ),
        (
            "openai SDK",
            "import os\n\nfrom openai import OpenAI\n\n"
            f'client = OpenAI(base_url="{v1}", api_key=os.environ["{KEY}"])\n'
            f'answer = client.post("/prompts/{name}", body={{"variables": {python_vars}}}, cast_to=object)\n'
            'print(answer["output"])\n',
        ),
        (
            "httpx (what hackkit.llm is built on)",
            "import os\n\nimport httpx\n\n"
            f'answer = httpx.post("{v1}/prompts/{name}", json={{"variables": {python_vars}}},\n'
            f'                    headers={{"Authorization": "Bearer " + os.environ["{KEY}"]}}, timeout=60).json()\n'
            'print(answer["output"])\n',
        ),
        (
            "LangChain",
            "import os\n\nimport httpx\nfrom langchain_core.runnables import RunnableLambda\n\n"
            f'headers = {{"Authorization": "Bearer " + os.environ["{KEY}"]}}\n'
            f"{_identifier(name)} = RunnableLambda(\n"
            f'    lambda variables: httpx.post("{v1}/prompts/{name}", json={{"variables": variables}},\n'
            '                                 headers=headers, timeout=60).json()["output"]\n'
            ")\n"
            f"print({_identifier(name)}.invoke({python_vars}))\n",
        ),
    ]


def _identifier(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in name).strip("_") or "prompt"
    return cleaned if not cleaned[0].isdigit() else f"prompt_{cleaned}"
