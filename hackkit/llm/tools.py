"""Function calling and structured output.

``function_schema(fn)`` turns a typed Python function into an OpenAI-format tool;
``structured_format(Model)`` turns a pydantic model into a JSON-schema ``response_format``;
the client's ``run_tools`` uses both to run the call loop to a final answer.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from typing import Any

from hackkit.errors import InvalidRequestError


def function_schema(fn: Callable[..., Any]) -> dict[str, Any]:
    """An OpenAI-format tool for ``fn``: its name, docstring and typed parameters."""
    from pydantic import create_model

    fields: dict[str, Any] = {}
    for name, param in inspect.signature(fn).parameters.items():
        annotation = param.annotation if param.annotation is not inspect.Parameter.empty else str
        default = param.default if param.default is not inspect.Parameter.empty else ...
        fields[name] = (annotation, default)
    schema = create_model(f"{fn.__name__}_args", **fields).model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    doc = inspect.getdoc(fn) or ""
    return {
        "type": "function",
        "function": {"name": fn.__name__, "description": doc.split("\n\n")[0], "parameters": schema},
    }


def call_function(fn: Callable[..., Any], arguments: str) -> str:
    """Run ``fn`` with the model's JSON arguments; its result, or the error, as text for the model."""
    from pydantic import validate_call

    try:
        args = json.loads(arguments or "{}")
        result = validate_call(fn)(**args)
    except Exception as exc:  # the model sees the error and can correct itself
        return f"error: {type(exc).__name__}: {exc}"
    return result if isinstance(result, str) else json.dumps(result, default=str)


def structured_format(model: type[Any]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "schema": model.model_json_schema(), "strict": False},
    }


def parse_structured(model: type[Any], text: str) -> Any:
    """The pydantic object in ``text``; tolerates code fences and prose around the JSON."""
    from pydantic import ValidationError

    candidate = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", candidate, re.S)
    if fenced:
        candidate = fenced.group(1)
    start = min((i for i in (candidate.find("{"), candidate.find("[")) if i >= 0), default=-1)
    if start > 0:
        candidate = candidate[start:]
    try:
        return model.model_validate_json(candidate)
    except ValidationError as exc:
        raise InvalidRequestError(
            f"The model's answer does not match {model.__name__}: {exc.errors()[0]['msg']} "
            f"(answer began {text[:80]!r}).",
            hint="use a larger model, or lower the temperature; small local models often miss schemas",
        ) from None


def schema_instruction(response_format: dict[str, Any]) -> str:
    """A system instruction for models that cannot be given a schema natively."""
    schema = response_format.get("json_schema", {}).get("schema", {})
    return "Answer with only a JSON object, no prose, that matches this JSON schema:\n" + json.dumps(schema)
