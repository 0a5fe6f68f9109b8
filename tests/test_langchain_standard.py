"""ChatHackkit against LangChain's own standard tests (the langchain-tests package).

The unit tests run as LangChain documents them. The integration tests run twice: over the fake
provider (in process) and over a WireServer speaking OpenAI's wire format on loopback (real HTTP,
tool-call arguments split across stream events). The echo answers most of them; the few that need
the model to call a tool or to write JSON are answered from ``SCRIPTS``, the turns a real model
would take, and after each of those tests ``offered`` checks that every scripted turn answered a
request that did offer that tool or ask for those fields, so a script cannot stand in for a
request ChatHackkit failed to make.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from hackkit.integrations import ChatHackkit
from hackkit.llm.types import ChatRequest, text_of
from hackkit.testing import enqueue, requests, tool_call
from hackkit.testing.wire import Reply

pytestmark = pytest.mark.anyio  # the standard async tests carry no marker of their own


@dataclass(frozen=True)
class Turn:
    """One scripted model turn: a call of ``tool`` with ``data`` as arguments, or ``data`` as JSON text."""

    data: dict[str, Any]
    tool: str | None = None

    def offered_by(self, request: dict[str, Any]) -> bool:
        """Whether a request (OpenAI-format body) offered this tool, or named every field of this JSON."""
        if self.tool is not None:
            return self.tool in [t["function"]["name"] for t in request.get("tools") or []]
        asked = " ".join(text_of(m) for m in request.get("messages") or []) + json.dumps(request.get("response_format"))
        return all(f'"{key}"' in asked or f"'{key}'" in asked for key in self.data)


MAGIC = Turn({"input": 3}, tool="magic_function")
JOKE = Turn({"setup": "Why do cats sit on keyboards?", "punchline": "To keep an eye on the mouse."})
SCRIPTS: dict[str, list[Turn]] = {
    "test_tool_calling": [MAGIC, MAGIC],  # invoke, then stream
    "test_tool_calling_async": [MAGIC, MAGIC],
    "test_tool_calling_with_no_arguments": [Turn({}, tool="magic_function_no_args")] * 2,
    "test_tool_choice": [MAGIC, MAGIC],  # tool_choice "any", then "magic_function"
    "test_bind_runnables_as_tools": [Turn({"answer_style": "pirate"}, tool="greeting_generator")],
    "test_agent_loop": [Turn({"location": "San Francisco, CA"}, tool="get_weather")],  # then the echo
    "test_unicode_tool_call_integration": [
        Turn({"customer_name": "你好啊集团", "description": "a Chinese technology company"}, tool="unicode_customer"),
        Turn({"customer_name": "こんにちは株式会社", "description": "a Japanese company"}, tool="unicode_customer"),
    ],
    "test_structured_output": [JOKE, JOKE],
    "test_structured_output_async": [JOKE, JOKE],
    "test_structured_output_pydantic_2_v1": [JOKE] * 4,
    "test_structured_output_optional_param": [Turn({"setup": "Why do cats sit on keyboards?"}), JOKE, JOKE, JOKE],
    "test_json_mode": [JOKE] * 4,
}


class ChatHackkitFeatures:
    """What ChatHackkit does, for LangChain's feature flags; the defaults are left where they hold."""

    @property
    def chat_model_class(self) -> type[ChatHackkit]:
        return ChatHackkit

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True  # tool_use blocks become tool calls; thinking blocks are not sent back

    # Images, PDFs and audio stay off (the defaults): those standard tests download their files
    # from the internet, and neither the echo nor the wire server looks at them.


class TestChatHackkitUnit(ChatHackkitFeatures, ChatModelUnitTests):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "fake/echo"}

    @property
    def standard_chat_model_params(self) -> dict[str, Any]:
        # Without api_key: hackkit reads keys from the environment or .env only, and ChatHackkit
        # refuses api_key= with that hint (tests/test_langchain_chat.py) rather than drop it.
        return {k: v for k, v in super().standard_chat_model_params.items() if k != "api_key"}

    # test_init_from_env skips itself: ChatHackkit reads no variable; its client does, when built.
    # test_serdes skips itself: a ChatHackkit holds a live Client, so it is not LangChain-serialisable.


class ScriptedIntegration(ChatHackkitFeatures, ChatModelIntegrationTests):
    """The integration tests, with the scripted turns of ``SCRIPTS`` queued before each test."""

    @pytest.fixture
    def backend(self) -> None:
        """Whatever answers, started before the script is queued."""

    @pytest.fixture(autouse=True)
    def offered(self, request: pytest.FixtureRequest, backend: None) -> Any:
        script = SCRIPTS.get(request.node.originalname, [])
        self.queue(script)
        yield
        seen = self.requests_seen()
        assert len(seen) >= len(script), f"{len(script)} turns were scripted, {len(seen)} requests made"
        for turn, body in zip(script, seen, strict=False):
            assert turn.offered_by(body), f"the scripted {turn} answered a request that did not ask for it: {body}"

    def queue(self, turns: list[Turn]) -> None:
        raise NotImplementedError

    def requests_seen(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    @property
    def supports_model_override(self) -> bool:
        return True


class TestChatHackkitOverFakeProvider(ScriptedIntegration):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "fake/echo"}

    @property
    def model_override_value(self) -> str:
        return "fake/second"

    def queue(self, turns: list[Turn]) -> None:
        enqueue(*[tool_call(t.tool, json.dumps(t.data)) if t.tool else json.dumps(t.data) for t in turns])

    def requests_seen(self) -> list[dict[str, Any]]:
        return [_body(r) for r in requests]


class TestChatHackkitOverOpenAIWire(ScriptedIntegration):
    @pytest.fixture
    def backend(self, wire: Any, make_client: Any) -> None:
        self.wire_server = wire("openai")
        self.wire_client = make_client(self.wire_server)

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "openai/gpt-4o-mini", "client": self.wire_client}

    @property
    def model_override_value(self) -> str:
        return "openai/gpt-4o"

    def queue(self, turns: list[Turn]) -> None:
        self.wire_server.enqueue(
            *[Reply.tools((t.tool, t.data)) if t.tool else Reply.ok(json.dumps(t.data)) for t in turns]
        )

    def requests_seen(self) -> list[dict[str, Any]]:
        return [r.body for r in self.wire_server.requests]


def _body(request: ChatRequest) -> dict[str, Any]:
    return {"messages": request.messages, "tools": request.tools, "response_format": request.response_format}
