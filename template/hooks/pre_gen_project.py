"""Stop before writing anything when the project name cannot work. Standard library only, no network.

The same rule, in the same words, as hackkit.project.name_problem (a test checks that they agree):
`hackkit new` refuses a name before it renders, and plain cookiecutter refuses it here.
"""

import json
import keyword
import re
import sys

SLUG = json.loads(r'{{ cookiecutter.project_slug | tojson }}')  # any text, even with quotes or backslashes
MAX_NAME = 64
RESERVED = {"hackkit", "gradio", "streamlit", "app", "test", "tests", "data", "prompts"}
WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"{port}{n}" for port in ("com", "lpt") for n in range(10))}


def split_path(name):
    parent, separator, leaf = name.replace("\\", "/").rstrip("/").rpartition("/")
    return parent or ("/" if separator else "."), leaf


def name_problem(slug):
    module = slug.replace("-", "_")
    if "/" in slug or "\\" in slug:
        parent, leaf = split_path(slug)
        return (
            f"{slug!r} is a path; a project name is one folder name.",
            f"pass the name {leaf!r} alone, and the folder to create it in with -o (here: -o {parent})",
        )
    if not slug:
        return "The project name is empty.", "give a name such as study-buddy"
    if len(slug) > MAX_NAME:
        return (
            f"The project name is {len(slug)} characters long; the most is {MAX_NAME}.",
            "pick a shorter name (the title can stay long)",
        )
    if not slug.isascii():
        return (
            f"{slug!r} is not ASCII; a project name is made of a-z, 0-9 and hyphens.",
            "pick a name in those (for example: study-buddy); the title can be in any language",
        )
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", slug):
        return (
            f"{slug!r} is not a valid project name.",
            "use lowercase letters, digits and single hyphens, starting with a letter (for example: study-buddy)",
        )
    another = f"pick another name, e.g. {slug}-app"
    if slug in WINDOWS_DEVICES:
        return f"{slug!r} is a device name on Windows, so no folder there can have it.", another
    if keyword.iskeyword(module):
        return f"{slug!r} is a Python keyword, so it cannot name a module.", another
    if module in RESERVED:
        return f"{slug!r} would shadow the module {module!r} that the app imports.", another
    return None


problem = name_problem(SLUG)
if problem:
    message, fix = problem
    sys.exit(f"error: {message}\n  fix: {fix}")
