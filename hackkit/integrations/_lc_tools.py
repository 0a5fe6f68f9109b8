"""Tools and structured output for ``ChatHackkit``, in the OpenAI format hackkit's client takes.

LangChain's ``tool_choice`` values become OpenAI's: ``"any"`` or ``True`` is ``"required"``, a tool's
name is ``{"type": "function", "function": {"name": ...}}``. Structured output has three methods:
``json_schema`` (the client's ``response_format``, which hackkit turns into an instruction for the
providers that take no schema), ``function_calling`` (one forced tool) and ``json_mode``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from hackkit.errors import InvalidRequestError

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool
METHODS = ("json_schema", "function_calling", "json_mode")
OPENAI_CHOICES = ("auto", "none", "required")


def openai_tools(tools: Sequence[ToolLike], strict: bool | None = None) -> list[dict[str, Any]]:
    """LangChain tools, pydantic models, functions or schemas as OpenAI-format tools."""
    return [convert_to_openai_tool(tool, strict=strict) for tool in tools]


def openai_tool_choice(choice: str | dict[str, Any] | bool | None, tools: list[dict[str, Any]]) -> Any:
    """LangChain's ``tool_choice`` as OpenAI's; None leaves the choice to the model."""
    if choice is None or choice is False:
        return None
    if choice is True or choice == "any":
        return "required"
    if isinstance(choice, dict) or choice in OPENAI_CHOICES:
        return choice
    names = [tool["function"]["name"] for tool in tools]
    if isinstance(choice, str) and choice in names:
        return {"type": "function", "function": {"name": choice}}
    raise InvalidRequestError(
        f"tool_choice={choice!r} names no bound tool (the tools are {', '.join(names) or 'none'}).",
        hint='pass one of the tools\' names, "any" to make the model call one, or "auto"',
    )


def json_schema_format(schema: Any, strict: bool | None) -> dict[str, Any]:
    """``schema`` (pydantic model, TypedDict or JSON schema) as an OpenAI ``response_format``."""
    function = convert_to_openai_tool(schema, strict=strict)["function"]
    json_schema: dict[str, Any] = {"name": function["name"], "schema": function["parameters"], "strict": bool(strict)}
    if function.get("description"):
        json_schema["description"] = function["description"]
    return {"type": "json_schema", "json_schema": json_schema}


def structured_runnable(
    model: Any, schema: Any, *, method: str, strict: bool | None, include_raw: bool
) -> Runnable[LanguageModelInput, Any]:
    """``model`` bound to answer in ``schema``, piped into the parser that reads the answer."""
    if method not in METHODS:
        raise InvalidRequestError(
            f"with_structured_output has no method {method!r}.", hint=f"use one of {', '.join(METHODS)}"
        )
    if schema is None and method != "json_mode":
        raise InvalidRequestError(
            f"method={method!r} needs a schema.",
            hint='pass a pydantic model, a TypedDict or a JSON schema, or use method="json_mode"',
        )
    tracing = {"ls_structured_output_format": {"kwargs": {"method": method, "strict": strict}, "schema": schema}}
    pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    if method == "function_calling":
        name = convert_to_openai_tool(schema)["function"]["name"]
        llm = model.bind_tools([schema], tool_choice=name, strict=strict, **tracing)
        parser: Runnable[Any, Any] = (
            PydanticToolsParser(tools=[schema], first_tool_only=True)
            if pydantic
            else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
        )
    else:
        response_format = json_schema_format(schema, strict) if method == "json_schema" else {"type": "json_object"}
        llm = model.bind(response_format=response_format, **(tracing if schema is not None else {}))
        parser = PydanticOutputParser(pydantic_object=schema) if pydantic else JsonOutputParser()
    return _with_raw(llm, parser) if include_raw else llm | parser


def _with_raw(llm: Runnable[Any, Any], parser: Runnable[Any, Any]) -> Runnable[Any, Any]:
    """``{"raw": AIMessage, "parsed": ..., "parsing_error": ...}``, as LangChain's own models return."""
    parsed = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=lambda _: None)
    unparsed = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parsed.with_fallbacks([unparsed], exception_key="parsing_error")
