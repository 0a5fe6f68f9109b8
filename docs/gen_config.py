"""Print docs/config-reference.md from the settings schema (hackkit/config.py), so it cannot drift.

python docs/gen_config.py > docs/config-reference.md

Each table of ``hackkit.toml`` becomes a section; each key a row with its type, default, valid range,
the environment variable that sets it, and what it does: the comment beside it in the schema's
source, else the comment beside it in the commented ``hackkit.toml`` of docs/configuration.md or gateway.md.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from hackkit.config import ENV_SETTINGS, Settings, describe_range

HEADER = """# Configuration reference

Generated from the settings schema (`hackkit/config.py`) by `docs/gen_config.py` (`make docs-ref`);
a test fails when it is stale. [Configuration](configuration.md) explains where settings come from
and shows a commented `hackkit.toml`. Every key is optional: a missing key takes its default. An
unknown key or a value out of range is an error that names the key and what it accepts.
"""


GUIDES = [Path(__file__).resolve().parent / name for name in ("configuration.md", "gateway.md")]


def render() -> str:
    lines = [HEADER]
    explained = guide_comments("\n".join(guide.read_text() for guide in GUIDES))
    for table, model in sections(Settings, ""):
        lines += section(table, model, explained)
    return "\n".join(lines)


def sections(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, type[BaseModel]]]:
    """(table name, model) for ``model`` and every table below it, depth first."""
    yield prefix, model
    for name, field in visible_fields(model):
        if (nested := _model_in(field.annotation)) is not None:
            yield from sections(nested, dotted(prefix, name))
        elif (entry := _entry_model(field.annotation)) is not None:
            yield from sections(entry, f"{dotted(prefix, name)}.NAME")


def dotted(table: str, name: str) -> str:
    return f"{table}.{name}" if table else name


def _entry_model(annotation: Any) -> type[BaseModel] | None:
    """The model of each entry of a ``dict[str, Model]`` table, else None."""
    return _model_in(get_args(annotation)[1]) if get_origin(annotation) is dict else None


def section(table: str, model: type[BaseModel], explained: dict[str, str]) -> list[str]:
    comments = source_comments(model)
    rows = [
        row(table, name, field, comments.get(name) or explained.get(dotted(table, name), ""))
        for name, field in visible_fields(model)
    ]
    rows = [r for r in rows if r]
    if not rows:
        return []
    title = f"`[{table}]`" if table else "The top level"
    intro = inspect.cleandoc(model.__doc__ or "").replace("``", "`") if model is not Settings else ""
    head = ["| key | type | default | accepts | set by | what it does |", "|---|---|---|---|---|---|"]
    return [f"## {title}", "", *([intro, ""] if intro else []), *head, *rows, ""]


def row(table: str, name: str, field: FieldInfo, comment: str) -> str:
    if _model_in(field.annotation) is not None:
        return ""  # a table of its own, listed as a section
    env = [f"`{variable}`" for variable, path in ENV_SETTINGS.items() if path == dotted(table, name)]
    kind = (
        f"tables, see `[{dotted(table, name)}.NAME]`" if _entry_model(field.annotation) else type_name(field.annotation)
    )
    cells = [f"`{name}`", kind, default(field), accepts(field), ", ".join(env), comment]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def visible_fields(model: type[BaseModel]) -> list[tuple[str, FieldInfo]]:
    return [(name, field) for name, field in model.model_fields.items() if not field.exclude]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The settings model an annotation is, or holds in a union (``str | GatewayModel``)."""
    unions = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else ()
    for candidate in (annotation, *unions):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f'`"{value}"`' for value in get_args(annotation))
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(arg) for arg in get_args(annotation))
    if origin is list:
        return f"list of {type_name(get_args(annotation)[0])}"
    if origin is dict:
        return f"table of {type_name(get_args(annotation)[1])}"
    if annotation is type(None):
        return "unset"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return names.get(annotation, "any")


def default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    return toml_value(field.get_default(call_default_factory=True))


def toml_value(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, list):
        return "`[" + ", ".join(f'"{item}"' for item in value) + "]`"
    if isinstance(value, dict):
        return "`{}`" if not value else f"`{value}`"
    return f"`{value:g}`" if isinstance(value, float) else f"`{value}`"


def accepts(field: FieldInfo) -> str:
    return (
        describe_range(field)
        if any(hasattr(item, a) for item in field.metadata for a in ("gt", "ge", "lt", "le"))
        else ""
    )


FIELD_LINE = re.compile(r"^\s+(\w+):[^#]*?(?:#\s*(.*))?$")
COMMENT_LINE = re.compile(r"^\s+#\s*(.*)$")


def source_comments(model: type[BaseModel]) -> dict[str, str]:
    """The comment beside each field in the model's source, with the comment lines just above it."""
    found: dict[str, str] = {}
    above: list[str] = []
    for line in inspect.getsource(model).splitlines()[1:]:
        if comment := COMMENT_LINE.match(line):
            above.append(comment.group(1))
        elif field := FIELD_LINE.match(line):
            text = " ".join([*above, field.group(2) or ""]).strip()
            if field.group(1) in model.model_fields and text:
                found[field.group(1)] = text
            above = []
        else:
            above = []
    return found


TABLE_LINE = re.compile(r"^\[([\w.]+)\]")
KEY_LINE = re.compile(r"^(\w+)\s*=.*?#\s*(.*)$")


def guide_comments(markdown: str) -> dict[str, str]:
    """``{"rag.top_k": "at least 1", ...}`` from the comments in a page's ```toml examples."""
    found: dict[str, str] = {}
    for block in re.findall(r"```toml\n(.*?)```", markdown, re.S):
        table = ""
        for line in block.splitlines():
            if header := TABLE_LINE.match(line):
                table = header.group(1)
            elif key := KEY_LINE.match(line):
                found.setdefault(dotted(table, key.group(1)), key.group(2).strip())
    return found


if __name__ == "__main__":
    print(render(), end="")
