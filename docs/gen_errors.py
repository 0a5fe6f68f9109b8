"""Print docs/troubleshooting.md from the errors hackkit raises, so a search for an error's text finds its fix.

python docs/gen_errors.py > docs/troubleshooting.md

It reads hackkit's source (nothing is imported, so no optional library is needed): every class that
descends from ``HackkitError``, and every place one is built with a message written in the code,
with its ``hint``. A placeholder such as ``{path}`` stands for what the message names at run time.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hackkit"
ROOT_ERROR = "HackkitError"

HEADER = """# Troubleshooting: every error and its fix

Generated from hackkit's source by `docs/gen_errors.py` (`make docs-ref`); a test fails when it is
stale. The `hackkit` command prints an error as `error: MESSAGE` and `  fix: HINT`, without a
traceback, and exits with the code its class carries (2 for configuration and usage errors, 1 for
the rest); in Python the same text is `str(exc)`, with `exc.message` and `exc.hint` apart. Search
this page for a few words of the message you saw: a placeholder such as `{path}` stands for what
the message names at run time, and `…` for a part chosen at run time.

When a provider fails, the router retries and falls back before you see anything: see
[Routing](routing.md). `hackkit doctor` checks keys, packages and the local model in one go.
"""


@dataclass
class ErrorClass:
    name: str
    base: str
    module: str
    doc: str
    exit_code: int | None
    sites: list[Site] = field(default_factory=list)


@dataclass(frozen=True)
class Site:
    message: str
    hint: str | None
    where: str


def render() -> str:
    classes = error_classes(parsed_modules())
    lines = [HEADER, "## The errors", "", "```text", *tree(classes, ROOT_ERROR, ""), "```", ""]
    for error in walk(classes, ROOT_ERROR):
        lines += section(error, classes)
    return "\n".join(lines)


def parsed_modules() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(ROOT)): ast.parse(path.read_text(), str(path)) for path in sorted(PACKAGE.rglob("*.py"))
    }


def error_classes(modules: dict[str, ast.Module]) -> dict[str, ErrorClass]:
    """Every HackkitError descendant by name, with the messages each is raised with."""
    found: dict[str, ErrorClass] = {}
    candidates = [(module, node) for module, tree in modules.items() for node in ast.walk(tree)]
    grew = True
    while grew:  # a subclass may be defined before its base is known
        grew = False
        for module, node in candidates:
            if isinstance(node, ast.ClassDef) and node.name not in found and _base(node, found) is not None:
                found[node.name] = _error_class(node, module, found)
                grew = True
    for module, tree in modules.items():
        for site_class, site in sites(tree, module, found):
            if site not in found[site_class].sites:
                found[site_class].sites.append(site)
    return found


def _base(node: ast.ClassDef, known: dict[str, ErrorClass]) -> str | None:
    for base in node.bases:
        name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
        if name in known or (name == "Exception" and node.name == ROOT_ERROR):
            return name
    return None


def _error_class(node: ast.ClassDef, module: str, known: dict[str, ErrorClass]) -> ErrorClass:
    base = _base(node, known) or ""
    exit_code = _exit_code(node)
    if exit_code is None and base in known:
        exit_code = known[base].exit_code
    return ErrorClass(node.name, base, module, ast.get_docstring(node) or TREE_NOTES.get(node.name, ""), exit_code)


def _tree_notes() -> dict[str, str]:
    """What each class is for, from the tree drawn in hackkit/errors.py's docstring."""
    doc = ast.get_docstring(ast.parse((PACKAGE / "errors.py").read_text())) or ""
    notes = (re.search(r"(\w+)\s{2,}(.+)$", line) for line in doc.splitlines())
    return {note.group(1): note.group(2)[0].upper() + note.group(2)[1:] + "." for note in notes if note}


TREE_NOTES = _tree_notes()


def sites(tree: ast.Module, module: str, classes: dict[str, ErrorClass]) -> list[tuple[str, Site]]:
    """(class name, site) for each call that builds a known error with a message written in the code."""
    found = []
    for owner, function, call in _calls(tree):
        name = _called_class(call, owner, classes)
        message = next((text for arg in call.args if (text := text_of(arg))), None)
        if name is None or message is None:
            continue
        hint = next((text_of(k.value) for k in call.keywords if k.arg == "hint"), None)
        where = f"`{module}`" + (f", in `{function}()`" if function else "")
        found.append((name, Site(message, hint, where)))
    return found


def _calls(tree: ast.Module) -> list[tuple[str | None, str | None, ast.Call]]:
    """Every call with the class and function it is written in."""
    found: list[tuple[str | None, str | None, ast.Call]] = []

    def visit(node: ast.AST, owner: str | None, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, child.name, function)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, owner, child.name)
            else:
                if isinstance(child, ast.Call):
                    found.append((owner, function, child))
                visit(child, owner, function)

    visit(tree, None, None)
    return found


def _called_class(call: ast.Call, owner: str | None, classes: dict[str, ErrorClass]) -> str | None:
    func = call.func
    if isinstance(func, ast.Name) and func.id in classes:
        return func.id
    if isinstance(func, ast.Attribute) and func.attr in classes:
        return func.attr
    is_super_init = (
        isinstance(func, ast.Attribute)
        and func.attr == "__init__"
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Name)
        and func.value.func.id == "super"
    )
    return owner if is_super_init and owner in classes else None


def _exit_code(node: ast.ClassDef) -> int | None:
    """The ``exit_code = N`` a class body sets, or None."""
    for statement in node.body:
        if (
            isinstance(statement, ast.Assign)
            and any(isinstance(target, ast.Name) and target.id == "exit_code" for target in statement.targets)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, int)
        ):
            return statement.value.value
    return None


def _piece(part: ast.expr) -> str:
    """One part of an f-string: its text, or ``{expression}``."""
    if isinstance(part, ast.Constant):
        return str(part.value)
    return "{" + ast.unparse(part.value) + "}" if isinstance(part, ast.FormattedValue) else "…"


def text_of(node: ast.expr) -> str | None:
    """The text a string expression spells, ``{name}`` for each value put in, or None if it is not one."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        return "".join(_piece(part) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = text_of(node.left), text_of(node.right)
        return None if left is None and right is None else (left or "…") + (right or "…")
    return None


def tree(classes: dict[str, ErrorClass], name: str, indent: str) -> list[str]:
    lines = [f"{indent}{name}"]
    for child in children(classes, name):
        lines += tree(classes, child.name, indent + "    ")
    return lines


def children(classes: dict[str, ErrorClass], name: str) -> list[ErrorClass]:
    return [error for error in classes.values() if error.base == name]


def walk(classes: dict[str, ErrorClass], name: str) -> list[ErrorClass]:
    return [classes[name], *(e for child in children(classes, name) for e in walk(classes, child.name))]


def section(error: ErrorClass, classes: dict[str, ErrorClass]) -> list[str]:
    origin = f"`{error.module}`" + (f", a kind of {error.base}" if error.base in classes else "")
    exit_code = f"; the command exits with {error.exit_code}" if error.exit_code is not None else ""
    lines = [f"## {error.name}", "", f"Defined in {origin}{exit_code}.", ""]
    if error.doc:
        lines += [error.doc.replace("``", "`"), ""]
    for site in error.sites:
        shown = [f"error: {site.message}", *([f"  fix: {site.hint}"] if site.hint else [])]
        lines += ["```text", *shown, "```", "", f"From {site.where}.", ""]
    if not error.sites:
        lines += ["Its message is built at run time from what went wrong; the hint beside it says what to do.", ""]
    return lines


if __name__ == "__main__":
    print(render(), end="")
