"""``ChatHackkit``: a LangChain chat model whose every call goes through a hackkit ``Client``.

So a LangChain chain or a LangGraph agent gets what the client gives: any provider by model id or
alias, retries and fallbacks from ``[llm.router]``, the ledger, cost, and the offline fake provider
for its tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import Field, PrivateAttr, model_validator

from hackkit.errors import ConfigError, InvalidRequestError
from hackkit.integrations._lc_messages import ai_message, closing_chunk, message_chunk, to_openai_messages
from hackkit.integrations._lc_tools import ToolLike, openai_tool_choice, openai_tools, structured_runnable
from hackkit.llm.client import Client
from hackkit.llm.types import ChatResponse

KEY_HINT = (
    "hackkit reads provider keys from the environment or the project's .env (MISTRAL_API_KEY, "
    "OPENAI_API_KEY, ...): export the variable instead; `hackkit doctor` says which one a model needs"
)


class ChatHackkit(BaseChatModel):
    """A LangChain chat model over hackkit's client.

    ``model`` is a hackkit model id (``mistral/mistral-small-latest``, ``fake/echo``) or an alias
    from ``hackkit.toml``; None is the project's default model. ``client`` defaults to
    ``hackkit.llm.default_client()``, looked up at each call.
    """

    model: str | None = Field(default=None, description="a hackkit model id or alias; None: the default model")
    client: Client | None = Field(default=None, exclude=True, description="the hackkit Client that answers")
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    timeout: float | None = Field(default=None, description="seconds per attempt; default: [llm.router] timeout")
    max_retries: int | None = Field(default=None, ge=0, description="retries per model; default: [llm.router]")
    streaming: bool = Field(default=False, description="invoke() streams underneath (callbacks get tokens)")
    model_kwargs: dict[str, Any] = Field(default_factory=dict, description="more provider parameters: top_p, seed")

    _own_client: Client | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _known_parameters(cls, data: Any) -> Any:
        """Refuse what would otherwise be dropped without a word (pydantic ignores unknown names)."""
        if not isinstance(data, dict):
            return data
        known = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
        if "api_key" in data:
            raise ConfigError("ChatHackkit takes no api_key.", hint=KEY_HINT)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidRequestError(
                f"ChatHackkit has no parameter {', '.join(map(repr, unknown))}.",
                hint="pass provider parameters in model_kwargs={...}; the parameters are listed in docs/langchain.md",
            )
        if data.get("client") is not None and data.get("max_retries") is not None:
            raise InvalidRequestError(
                "ChatHackkit got both client= and max_retries=; the client's router already sets retries.",
                hint="build the client with Client(llm__router__max_retries=N), or pass max_retries alone",
            )
        return data

    # -- the client --------------------------------------------------------------------------

    def hackkit_client(self) -> Client:
        """``client``, else one built for ``max_retries``, else the project's default client."""
        if self.client is not None:
            return self.client
        if self.max_retries is None:
            from hackkit.llm import default_client

            return default_client()
        if self._own_client is None:
            self._own_client = Client(llm__router__max_retries=self.max_retries)
        return self._own_client

    def close(self) -> None:
        """Close the client this model built for ``max_retries`` (a given or default client stays open)."""
        if self._own_client is not None:
            self._own_client.close()
            self._own_client = None

    def model_id(self, override: str | None = None) -> str:
        """The hackkit model id a call asks for (before routing picks who answers)."""
        return override or self.model or self.hackkit_client().default_model()

    def _call(self, stop: list[str] | None, kwargs: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        """(model, keyword arguments for ``Client.chat``): fields, then per-call overrides."""
        options = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stop": stop or self.stop or None,
            "timeout": self.timeout,
            **self.model_kwargs,
            **kwargs,
        }
        model = options.pop("model", None) or self.model
        return model, {key: value for key, value in options.items() if value is not None}

    # -- LangChain's interface ---------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "hackkit"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(ls_provider="hackkit", ls_model_name=self.model_id(kwargs.get("model")))
        params["ls_model_type"] = "chat"
        if (temperature := kwargs.get("temperature", self.temperature)) is not None:
            params["ls_temperature"] = temperature
        if (max_tokens := kwargs.get("max_tokens", self.max_tokens)) is not None:
            params["ls_max_tokens"] = max_tokens
        if stop := stop or self.stop:
            params["ls_stop"] = stop
        return params

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        model, options = self._call(stop, kwargs)
        response = self.hackkit_client().chat(to_openai_messages(messages), model, **options)
        return _result(response)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        model, options = self._call(stop, kwargs)
        response = await self.hackkit_client().achat(to_openai_messages(messages), model, **options)
        return _result(response)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        model, options = self._call(stop, kwargs)
        stream = self.hackkit_client().chat(to_openai_messages(messages), model, stream=True, **options)
        for chunk in stream.chunks():
            if (piece := message_chunk(chunk)) is not None:
                generation = ChatGenerationChunk(message=piece)
                if run_manager is not None:
                    run_manager.on_llm_new_token(piece.text, chunk=generation)
                yield generation
        yield _closing(stream.response)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        model, options = self._call(stop, kwargs)
        stream = await self.hackkit_client().achat(to_openai_messages(messages), model, stream=True, **options)
        async for chunk in stream.chunks():
            if (piece := message_chunk(chunk)) is not None:
                generation = ChatGenerationChunk(message=piece)
                if run_manager is not None:
                    await run_manager.on_llm_new_token(piece.text, chunk=generation)
                yield generation
        assert stream.response is not None  # set once the chunks are read
        yield _closing(stream.response)

    # -- tools and structured output ---------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer ``tools`` to the model; ``tool_choice``: "auto", "any", "none" or a tool's name."""
        formatted = openai_tools(tools, strict)
        choice = openai_tool_choice(tool_choice, formatted)
        if choice is not None:
            kwargs["tool_choice"] = choice
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: Any = None,
        *,
        method: str = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Answers parsed into ``schema`` (a pydantic model, a TypedDict or a JSON schema)."""
        if kwargs:
            raise InvalidRequestError(
                f"with_structured_output got unknown arguments {sorted(kwargs)}.",
                hint="it takes schema, method, include_raw and strict",
            )
        return structured_runnable(self, schema, method=method, strict=strict, include_raw=include_raw)


def _result(response: ChatResponse) -> ChatResult:
    message = ai_message(response)
    info = {"finish_reason": response.finish_reason} if response.finish_reason else None
    return ChatResult(
        generations=[ChatGeneration(message=message, generation_info=info)],
        llm_output={"model_name": message.response_metadata["model_name"]},
    )


def _closing(response: ChatResponse) -> ChatGenerationChunk:
    message: AIMessageChunk = closing_chunk(response)
    info = {"finish_reason": response.finish_reason} if response.finish_reason else None
    return ChatGenerationChunk(message=message, generation_info=info)
